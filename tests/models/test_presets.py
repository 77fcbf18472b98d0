"""Every preset is built and its parameter count pinned; an untested preset fails."""

import pytest

from zoo.models import (
    PRESETS,
    CausalLM,
    CNNClassifier,
    CNNImageClassifier,
    EncoderDecoderBackbone,
    ImageClassifier,
    LSTMClassifier,
    LSTMLanguageModel,
    LSTMSeq2Seq,
    QuestionAnswerer,
    Seq2SeqLM,
    TextClassifier,
    TextEmbedder,
    TransformerDecoderBackbone,
    TransformerEncoderBackbone,
    ViTBackbone,
    get_preset,
    preset_names,
)


def vit_parameters(image_size, patch_size, num_channels, num_classes, hidden_dim, num_layers, intermediate_dim, **_):
    """ViT parameter count written out from the architecture (not from zoo)."""
    tokens = (image_size // patch_size) ** 2 + 1
    embedding = patch_size * patch_size * num_channels * hidden_dim + hidden_dim  # patch projection
    embedding += hidden_dim + tokens * hidden_dim  # [CLS] token + positions
    attention = 4 * (hidden_dim * hidden_dim + hidden_dim)
    feedforward = 2 * hidden_dim * intermediate_dim + intermediate_dim + hidden_dim
    block = attention + feedforward + 2 * 2 * hidden_dim  # two layer norms
    head = 2 * hidden_dim + hidden_dim * num_classes + num_classes  # final norm + dense
    return embedding + num_layers * block + head


def text_classifier_parameters(
    sequence_length, hidden_dim, num_layers, intermediate_dim, vocabulary_size=8000, num_classes=2, **_
):
    """Post-LN text classifier: token + position tables, embedding norm, blocks, dense head."""
    embedding = (vocabulary_size + sequence_length) * hidden_dim + 2 * hidden_dim
    attention = 4 * (hidden_dim * hidden_dim + hidden_dim)
    feedforward = 2 * hidden_dim * intermediate_dim + intermediate_dim + hidden_dim
    block = attention + feedforward + 2 * 2 * hidden_dim
    return embedding + num_layers * block + hidden_dim * num_classes + num_classes


def text_embedder_parameters(sequence_length, hidden_dim, num_layers, intermediate_dim, vocabulary_size=8000, **_):
    """The classifier's encoder without a head (mean pooling and normalization have no weights)."""
    head = hidden_dim * 2 + 2
    return text_classifier_parameters(sequence_length, hidden_dim, num_layers, intermediate_dim, vocabulary_size) - head


def question_answerer_parameters(sequence_length, hidden_dim, num_layers, intermediate_dim, **_):
    """The embedder's encoder plus a 2-row segment table and a start/end dense head."""
    encoder = text_embedder_parameters(sequence_length, hidden_dim, num_layers, intermediate_dim)
    return encoder + 2 * hidden_dim + hidden_dim * 2 + 2


def seq2seq_parameters(
    source_length,
    target_length,
    hidden_dim,
    num_encoder_layers,
    num_decoder_layers,
    intermediate_dim,
    vocabulary_size=8000,
    **_,
):
    """Pre-LN encoder-decoder: two token+position tables, blocks, final norms, LM head."""
    embedding = (vocabulary_size + source_length) * hidden_dim + (vocabulary_size + target_length) * hidden_dim
    attention = 4 * (hidden_dim * hidden_dim + hidden_dim)
    feedforward = 2 * hidden_dim * intermediate_dim + intermediate_dim + hidden_dim
    encoder_block = attention + feedforward + 2 * 2 * hidden_dim
    decoder_block = 2 * attention + feedforward + 3 * 2 * hidden_dim  # self- and cross-attention
    final_norms = 2 * 2 * hidden_dim
    head = hidden_dim * vocabulary_size + vocabulary_size
    return embedding + num_encoder_layers * encoder_block + num_decoder_layers * decoder_block + final_norms + head


def causal_lm_parameters(sequence_length, hidden_dim, num_layers, intermediate_dim, position="learned", **_):
    """Pre-LN decoder-only LM: token (+ position) table, blocks, final norm, LM head."""
    vocabulary_size = 8000
    embedding = vocabulary_size * hidden_dim + (sequence_length * hidden_dim if position == "learned" else 0)
    attention = 4 * (hidden_dim * hidden_dim + hidden_dim)
    feedforward = 2 * hidden_dim * intermediate_dim + intermediate_dim + hidden_dim
    block = attention + feedforward + 2 * 2 * hidden_dim
    return embedding + num_layers * block + 2 * hidden_dim + hidden_dim * vocabulary_size + vocabulary_size


def lstm_classifier_parameters(
    hidden_dim, lstm_units, num_layers, bidirectional=False, vocabulary_size=8000, num_classes=2, **_
):
    """Token table, LSTMs (4 gates: input kernel, recurrent kernel, bias; per direction), dense head."""
    directions = 2 if bidirectional else 1
    total, width = vocabulary_size * hidden_dim, hidden_dim
    for _ in range(num_layers):
        total += directions * 4 * (width * lstm_units + lstm_units * lstm_units + lstm_units)
        width = directions * lstm_units
    return total + width * num_classes + num_classes


def lstm_language_model_parameters(hidden_dim, lstm_units, num_layers, vocabulary_size=8000, **_):
    """Token table, LSTMs (4 gates: input kernel, recurrent kernel, bias), next-token head."""
    total, width = vocabulary_size * hidden_dim, hidden_dim
    for _ in range(num_layers):
        total += 4 * (width * lstm_units + lstm_units * lstm_units + lstm_units)
        width = lstm_units
    return total + width * vocabulary_size + vocabulary_size


def cnn_classifier_parameters(hidden_dim, filters, kernel_sizes, vocabulary_size=8000, num_classes=2, **_):
    """Token table, one `(k, hidden_dim, filters)` convolution + bias per kernel size, dense head."""
    convolutions = sum(size * hidden_dim * filters + filters for size in kernel_sizes)
    features = len(kernel_sizes) * filters
    return vocabulary_size * hidden_dim + convolutions + features * num_classes + num_classes


def cnn_image_classifier_parameters(num_channels, num_classes, filters, **_):
    """Per stage two bias-free 3x3 convolutions and two batch norms (gamma, beta, moving mean, variance); head."""
    total, channels = 0, num_channels
    for width in filters:
        total += 9 * channels * width + 9 * width * width + 2 * 4 * width
        channels = width
    return total + channels * num_classes + num_classes


def lstm_seq2seq_parameters(
    hidden_dim,
    lstm_units,
    num_encoder_layers,
    num_decoder_layers,
    bidirectional_encoder=True,
    attention="luong",
    vocabulary_size=8000,
    **_,
):
    """Two token tables, LSTMs (4 gates: input kernel, recurrent kernel, bias; per direction), the
    bidirectional outputs' projection, the bridge to every decoder layer's h and c, attention, LM head."""
    units, directions = lstm_units, 2 if bidirectional_encoder else 1

    def lstm(width):
        return 4 * (width * units + units * units + units)

    total, width = 2 * vocabulary_size * hidden_dim, hidden_dim
    for _ in range(num_encoder_layers):
        total += directions * lstm(width)
        width = directions * units
    if bidirectional_encoder:
        total += 2 * units * units + units  # projection to lstm_units
    total += directions * units * num_decoder_layers * 2 * units + num_decoder_layers * 2 * units  # bridge
    width = hidden_dim
    for _ in range(num_decoder_layers):
        total += lstm(width)
        width = units
    attention_weights = units * units + 2 * units * units  # W_a (no bias), W_c [context; h] (no bias)
    if attention == "bahdanau":
        attention_weights += units * units + units  # W_q and v
    return total + attention_weights + units * vocabulary_size + vocabulary_size


def block_parameters(
    hidden_dim,
    intermediate_dim,
    num_heads,
    num_key_value_heads=None,
    activation="gelu",
    norm_type="layer_norm",
    use_attention_bias=True,
    use_attention_output_bias=None,
    use_mlp_bias=True,
    cross_attention=False,
    **_,
):
    """One Transformer block: q/k/v/o projections (k and v over the key/value heads), FFN, norms."""
    key_value_dim = hidden_dim // num_heads * (num_key_value_heads or num_heads)
    output_bias = use_attention_bias if use_attention_output_bias is None else use_attention_output_bias
    attention = 2 * hidden_dim * hidden_dim + 2 * hidden_dim * key_value_dim  # q, o, k, v kernels
    attention += use_attention_bias * (hidden_dim + 2 * key_value_dim) + output_bias * hidden_dim
    matrices = 3 if activation == "swiglu" else 2  # swiglu adds the gate
    feedforward = matrices * hidden_dim * intermediate_dim
    feedforward += use_mlp_bias * ((matrices - 1) * intermediate_dim + hidden_dim)
    norm = 2 * hidden_dim if norm_type == "layer_norm" else hidden_dim  # gamma + beta, or a scale
    attentions = 2 if cross_attention else 1
    return attentions * (attention + norm) + feedforward + norm


def text_embedding_parameters(
    vocabulary_size, sequence_length, hidden_dim, position_encoding="learned", position_offset=0, **_
):
    """Token table plus a learned position table (with its offset rows); sinusoids and RoPE have none."""
    positions = (position_offset + sequence_length) * hidden_dim if position_encoding == "learned" else 0
    return vocabulary_size * hidden_dim + positions


def norm_parameters(hidden_dim, norm_type="layer_norm", **_):
    return 2 * hidden_dim if norm_type == "layer_norm" else hidden_dim


def encoder_backbone_parameters(num_layers, num_segments=0, use_embedding_norm=True, use_final_norm=False, **config):
    """Embeddings (+ segment table, + embedding norm), blocks, optional final norm; no pooler."""
    total = text_embedding_parameters(**config) + num_segments * config["hidden_dim"]
    total += (use_embedding_norm + use_final_norm) * norm_parameters(**config)
    return total + num_layers * block_parameters(**config)


def decoder_backbone_parameters(num_layers, use_embedding_norm=False, use_final_norm=True, **config):
    """Embeddings, blocks, final norm; a tied head adds nothing (and a backbone has no head)."""
    total = text_embedding_parameters(**config)
    total += (use_embedding_norm + use_final_norm) * norm_parameters(**config)
    return total + num_layers * block_parameters(**config)


def encoder_decoder_backbone_parameters(
    num_encoder_layers,
    num_decoder_layers,
    use_embedding_norm=False,
    use_final_norm=True,
    share_token_embeddings=False,
    **config,
):
    """Two embeddings (same sizes here; one token table if shared), blocks with cross-attention
    on the decoder side, norms."""
    total = 2 * text_embedding_parameters(**config)
    total -= share_token_embeddings * config["vocabulary_size"] * config["hidden_dim"]
    total += 2 * (use_embedding_norm + use_final_norm) * norm_parameters(**config)
    total += num_encoder_layers * block_parameters(**config)
    return total + num_decoder_layers * block_parameters(**config, cross_attention=True)


def vit_backbone_parameters(
    image_size, patch_size, num_channels, hidden_dim, num_layers, use_final_norm=True, **config
):
    """Patch projection + bias, class token, positions, blocks, final norm; no head."""
    tokens = (image_size // patch_size) ** 2 + 1
    embedding = patch_size * patch_size * num_channels * hidden_dim + hidden_dim + hidden_dim
    embedding += tokens * hidden_dim
    blocks = num_layers * block_parameters(hidden_dim=hidden_dim, **config)
    return embedding + blocks + use_final_norm * norm_parameters(hidden_dim, **config)


# Pinned counts (checked by hand against vit_parameters' arithmetic).
EXPECTED = {
    ("image_classifier", "tiny"): 2_794,
    ("image_classifier", "digits"): 136_138,
    ("image_classifier", "mnist"): 805_130,
    ("image_classifier", "cifar"): 1_806_538,
    # With an 8,000-token vocabulary and 2 classes.
    ("text_classifier", "tiny"): 130_802,
    ("text_classifier", "small"): 549_826,
    ("text_classifier", "base"): 5_273_602,
    # tiny with an 8,000-token vocabulary; minilm_l6 with BERT's 30,522 (all-MiniLM-L6-v2
    # has 22,713,216: 256 more positions, token types and the unused pooler).
    ("text_embedder", "tiny"): 130_768,
    ("text_embedder", "minilm_l6"): 22_466_304,
    # With an 8,000-token vocabulary (from MiniLM: 22,467,842 = the embedder's + 1,538).
    ("question_answerer", "tiny"): 130_834,
    ("question_answerer", "small"): 5_274_114,
    # With 8,000-token source and target vocabularies.
    ("seq2seq", "tiny"): 398_144,
    ("seq2seq", "small"): 10_139_456,
    ("seq2seq", "base"): 56_567_616,
    # With an 8,000-token vocabulary; rotary presets have no position table.
    ("causal_lm", "tiny"): 266_768,
    ("causal_lm", "tiny_rotary"): 266_256,
    ("causal_lm", "small"): 7_329_088,
    ("causal_lm", "small_rotary"): 7_263_552,
    ("causal_lm", "base"): 98_138_432,
    # With 8,000-token source and target vocabularies; U = lstm_units, E = hidden_dim, LSTM(w) = 4(wU + UU + U).
    # tiny (E = U = 16, 1 + 1 layers): tables 2*8000*16 = 256,000; encoder 2*LSTM(16) = 4,224;
    # projection 32*16 + 16 = 528; bridge 32*32 + 32 = 1,056; decoder LSTM(16) = 2,112;
    # attention 16*16 + 32*16 = 768; head 16*8000 + 8000 = 136,000.
    ("lstm_seq2seq", "tiny"): 400_688,
    # small (E = U = 256, 2 + 2 layers): tables 4,096,000; encoder 2*LSTM(256) + 2*LSTM(512) = 2,625,536;
    # projection 131,328; bridge 512*1024 + 1024 = 525,312; decoder LSTM(256) * 2 = 1,050,624;
    # attention 196,608; head 2,056,000.
    ("lstm_seq2seq", "small"): 10_681_408,
    # LSTM language models, 8,000-token vocabulary: tiny 8000*16 + 4*(16*16 + 16*16 + 16) + 16*8000 + 8000
    ("lstm_language_model", "tiny"): 266_112,
    # small: 8000*128 = 1,024,000; 4*(128*512 + 512*512 + 512) = 1,312,768; 4*(512*512*2 + 512) = 2,099,200;
    # head 512*8000 + 8000 = 4,104,000.
    ("lstm_language_model", "small"): 8_539_968,
    # Baselines, with an 8,000-token vocabulary and 2 classes (images: 10 classes).
    # lstm tiny: 8000*16 + 4*(16*16 + 16*16 + 16) + 16*2 + 2 = 128,000 + 2,112 + 34
    ("lstm_classifier", "tiny"): 130_146,
    # lstm small: 8000*64 + 4*(64*64 + 64*64 + 64) + 64*2 + 2 = 512,000 + 33,024 + 130
    ("lstm_classifier", "small"): 545_154,
    # cnn tiny: 8000*16 + (3 + 4 + 5)*16*8 + 3*8 + 24*2 + 2 = 128,000 + 1,560 + 50
    ("cnn_classifier", "tiny"): 129_610,
    # cnn small: 8000*64 + (3 + 4 + 5)*64*100 + 3*100 + 300*2 + 2 = 512,000 + 77,100 + 602
    ("cnn_classifier", "small"): 589_702,
    # Per stage 9*c_in*c + 9*c*c + 8*c: 4 -> 212, 8 -> 928; head 8*10 + 10 = 90.
    ("cnn_image_classifier", "tiny"): 1_230,
    # 32 -> 9,760, 64 -> 55,808; head 650.
    ("cnn_image_classifier", "digits"): 66_218,
    # 32 -> 9,760, 64 -> 55,808, 128 -> 222,208; head 1,290.
    ("cnn_image_classifier", "mnist"): 289_066,
    # RGB: 64 -> 39,104, 128 -> 222,208, 256 -> 886,784; head 2,570.
    ("cnn_image_classifier", "cifar"): 1_150_666,
    # Backbones (no heads). tiny encoder: tables (1000 + 32 + 2) * 16 = 16,544; embedding norm 32;
    # 2 blocks of 4 * 272 + (16*32 + 32 + 32*16 + 16) + 2 * 32 = 2,224.
    ("encoder_backbone", "tiny"): 21_024,
    # BERT-base: Hugging Face's BertModel has 109,482,240 with the 590,592-weight pooler.
    ("encoder_backbone", "bert_base"): 108_891_648,
    # tiny (GPT-2-like): tables (1000 + 32) * 16 = 16,512; 2 blocks of 2,224; final norm 32.
    ("decoder_backbone", "tiny"): 20_992,
    # tiny_llama: table 16,000; per block q, o 256 each, k, v 16*8 = 128 each, 3 * 512 swiglu,
    # two 16-wide RMS scales = 2,336; final scale 16.
    ("decoder_backbone", "tiny_llama"): 20_688,
    # tiny_qwen2: tiny_llama + 2 * (16 + 8 + 8) q/k/v biases.
    ("decoder_backbone", "tiny_qwen2"): 20_752,
    # GPT-2 small, as published (the tied head adds nothing).
    ("decoder_backbone", "gpt2"): 124_439_808,
    # tiny: two tables (1000 + 16) * 16; encoder block 2,224; decoder block 2,224 + 1,088 + 32; 4 norms.
    ("encoder_decoder_backbone", "tiny"): 38_144,
    # tiny_bart: one shared 16,000 token table, (2 + 16) * 16 positions per side; 2 + 2 blocks;
    # two embedding norms, no final norms.
    ("encoder_decoder_backbone", "tiny_bart"): 27_776,
    # tiny_marian: one shared 16,000 token table (sinusoids have no weights); 2 + 2 blocks.
    ("encoder_decoder_backbone", "tiny_marian"): 27_136,
    # tiny: patches 16*16 + 16, class token 16, 5 positions * 16; 2 blocks of 2,224; final norm 32.
    ("vit_backbone", "tiny"): 4_848,
    # ViT-B/16 (224x224) without a head: timm's vit_base_patch16_224 has 86,567,656 with its
    # 769,000-weight 1000-class head.
    ("vit_backbone", "vit_base_16"): 85_798_656,
}
EMBEDDER_VOCABULARY = {"tiny": 8000, "minilm_l6": 30522}
BUILDERS = {
    "image_classifier": ImageClassifier.from_preset,
    "text_classifier": lambda name: TextClassifier.from_preset(name, vocabulary_size=8000),
    "text_embedder": lambda name: TextEmbedder.from_preset(name, vocabulary_size=EMBEDDER_VOCABULARY[name]),
    "question_answerer": lambda name: QuestionAnswerer.from_preset(name, vocabulary_size=8000),
    "seq2seq": lambda name: Seq2SeqLM.from_preset(name, source_vocabulary_size=8000, target_vocabulary_size=8000),
    "causal_lm": lambda name: CausalLM.from_preset(name, vocabulary_size=8000),
    "lstm_seq2seq": lambda name: LSTMSeq2Seq.from_preset(
        name, source_vocabulary_size=8000, target_vocabulary_size=8000
    ),
    "lstm_classifier": lambda name: LSTMClassifier.from_preset(name, vocabulary_size=8000),
    "lstm_language_model": lambda name: LSTMLanguageModel.from_preset(name, vocabulary_size=8000),
    "cnn_classifier": lambda name: CNNClassifier.from_preset(name, vocabulary_size=8000),
    "cnn_image_classifier": CNNImageClassifier.from_preset,
    "encoder_backbone": TransformerEncoderBackbone.from_preset,
    "decoder_backbone": TransformerDecoderBackbone.from_preset,
    "encoder_decoder_backbone": EncoderDecoderBackbone.from_preset,
    "vit_backbone": ViTBackbone.from_preset,
}
FORMULAS = {
    "image_classifier": vit_parameters,
    "text_classifier": text_classifier_parameters,
    "text_embedder": lambda **config: text_embedder_parameters(
        **config, vocabulary_size=EMBEDDER_VOCABULARY[config["name"]]
    ),
    "question_answerer": question_answerer_parameters,
    "seq2seq": seq2seq_parameters,
    "causal_lm": causal_lm_parameters,
    "lstm_seq2seq": lstm_seq2seq_parameters,
    "lstm_classifier": lstm_classifier_parameters,
    "lstm_language_model": lstm_language_model_parameters,
    "cnn_classifier": cnn_classifier_parameters,
    "cnn_image_classifier": cnn_image_classifier_parameters,
    "encoder_backbone": encoder_backbone_parameters,
    "decoder_backbone": decoder_backbone_parameters,
    "encoder_decoder_backbone": encoder_decoder_backbone_parameters,
    "vit_backbone": vit_backbone_parameters,
}


def test_every_preset_is_pinned():
    all_presets = {(family, name) for family, presets in PRESETS.items() for name in presets}
    assert all_presets == set(EXPECTED), "add the new preset's parameter count to EXPECTED"
    for family in PRESETS:
        assert "tiny" in PRESETS[family], f"family {family} needs a 'tiny' preset for tests"


@pytest.mark.parametrize("family,name", sorted(EXPECTED))
def test_parameter_count(family, name):
    config = get_preset(family, name)
    assert FORMULAS[family](**config, name=name) == EXPECTED[(family, name)]
    model = BUILDERS[family](name)
    assert model.count_params() == EXPECTED[(family, name)]


def test_unknown_preset_and_family_errors():
    with pytest.raises(ValueError, match=r"unknown preset 'huge' for image_classifier; expected one of \['tiny'"):
        ImageClassifier.from_preset("huge")
    with pytest.raises(ValueError, match="unknown model family"):
        preset_names("speech")


def test_get_preset_returns_a_copy():
    get_preset("image_classifier", "tiny")["hidden_dim"] = 999
    assert get_preset("image_classifier", "tiny")["hidden_dim"] == 16
