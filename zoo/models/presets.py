"""Named configurations for every task-model family.

Each family maps preset names to the keyword arguments of its builder. Every
family has a `"tiny"` preset used by the tests; `tests/models/test_presets.py`
pins the parameter count of every preset and fails when one is untested.

    from zoo.models import ImageClassifier
    model = ImageClassifier.from_preset("digits", num_classes=10)
"""

import copy

PRESETS = {
    "image_classifier": {
        # For tests: 8x8 grayscale, one small block.
        "tiny": dict(
            image_size=8,
            patch_size=4,
            num_channels=1,
            num_classes=10,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
        ),
        # scikit-learn digits (8x8 grayscale): 2x2 patches -> 16 tokens + [CLS].
        "digits": dict(
            image_size=8,
            patch_size=2,
            num_channels=1,
            num_classes=10,
            hidden_dim=64,
            num_layers=4,
            num_heads=4,
            intermediate_dim=128,
            dropout=0.0,
        ),
        # MNIST / Fashion-MNIST (28x28 grayscale): 4x4 patches -> 49 tokens + [CLS].
        "mnist": dict(
            image_size=28,
            patch_size=4,
            num_channels=1,
            num_classes=10,
            hidden_dim=128,
            num_layers=6,
            num_heads=4,
            intermediate_dim=256,
            dropout=0.1,
        ),
        # CIFAR-10 (32x32 RGB): 4x4 patches -> 64 tokens + [CLS].
        "cifar": dict(
            image_size=32,
            patch_size=4,
            num_channels=3,
            num_classes=10,
            hidden_dim=192,
            num_layers=6,
            num_heads=3,
            intermediate_dim=384,
            dropout=0.1,
        ),
    },
    "text_classifier": {
        # For tests: one narrow block.
        "tiny": dict(
            sequence_length=32,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
        ),
        # Sentence-level classification with ~10k training sentences (rt-polarity,
        # SST): one block of width 64. Deeper or wider models trained from
        # scratch overfit there (measured: 2x128 75.0%, 1x64 76.5% on rt-polarity).
        "small": dict(
            sequence_length=64,
            hidden_dim=64,
            num_layers=1,
            num_heads=4,
            intermediate_dim=128,
            dropout=0.3,
        ),
        # Longer documents (IMDb): 4 blocks of width 256.
        "base": dict(
            sequence_length=256,
            hidden_dim=256,
            num_layers=4,
            num_heads=4,
            intermediate_dim=1024,
            dropout=0.1,
        ),
    },
    # Baselines for comparisons (zoo.models.baselines); "small" presets match
    # text_classifier "small" (64 tokens, 64-wide embedding, ~550k parameters
    # with an 8,000-token vocabulary, mostly the embedding table).
    "lstm_classifier": {
        # For tests: one narrow LSTM.
        "tiny": dict(sequence_length=32, hidden_dim=16, lstm_units=16, num_layers=1),
        # Sentence classification: one LSTM of 64 units (bidirectional=True doubles it).
        "small": dict(sequence_length=64, hidden_dim=64, lstm_units=64, num_layers=1, dropout=0.3),
    },
    "cnn_classifier": {
        # For tests: 8 filters per kernel size.
        "tiny": dict(sequence_length=32, hidden_dim=16, filters=8, kernel_sizes=(3, 4, 5)),
        # Kim (2014): 100 filters of widths 3, 4, 5, dropout 0.5.
        "small": dict(sequence_length=64, hidden_dim=64, filters=100, kernel_sizes=(3, 4, 5), dropout=0.5),
    },
    "cnn_image_classifier": {
        # For tests: 8x8 grayscale, two narrow stages.
        "tiny": dict(image_size=8, num_channels=1, num_classes=10, filters=(4, 8)),
        # scikit-learn digits (8x8 grayscale): 8 -> 4 -> 2 pixels.
        "digits": dict(image_size=8, num_channels=1, num_classes=10, filters=(32, 64)),
        # MNIST / Fashion-MNIST (28x28 grayscale): 28 -> 14 -> 7 -> 3 pixels.
        "mnist": dict(image_size=28, num_channels=1, num_classes=10, filters=(32, 64, 128), dropout=0.3),
        # CIFAR-10 (32x32 RGB): 32 -> 16 -> 8 -> 4 pixels.
        "cifar": dict(image_size=32, num_channels=3, num_classes=10, filters=(64, 128, 256), dropout=0.3),
    },
    "text_embedder": {
        # For tests: one narrow block.
        "tiny": dict(sequence_length=32, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32),
        # The architecture of all-MiniLM-L6-v2 (random weights; its trained
        # weights: TextEmbedder.from_checkpoint("minilm")).
        "minilm_l6": dict(
            sequence_length=256,
            hidden_dim=384,
            num_layers=6,
            num_heads=12,
            intermediate_dim=1536,
            layer_norm_epsilon=1e-12,
        ),
    },
    "question_answerer": {
        # For tests: one narrow block, windows of 16 context tokens.
        "tiny": dict(
            sequence_length=32,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            max_question_length=8,
            stride=8,
        ),
        # From scratch on a CPU: 4 blocks of width 256 (pretrained: from_checkpoint("minilm")).
        "small": dict(
            sequence_length=256,
            hidden_dim=256,
            num_layers=4,
            num_heads=4,
            intermediate_dim=1024,
            dropout=0.1,
        ),
    },
    "seq2seq": {
        # For tests: one narrow block on each side.
        "tiny": dict(
            source_length=16,
            target_length=16,
            hidden_dim=16,
            num_encoder_layers=1,
            num_decoder_layers=1,
            num_heads=2,
            intermediate_dim=32,
            dropout=0.0,
        ),
        # CPU-sized translator (the 3-layer, 256-wide Transformer of public Multi30k baselines).
        "small": dict(
            source_length=64,
            target_length=64,
            hidden_dim=256,
            num_encoder_layers=3,
            num_decoder_layers=3,
            num_heads=8,
            intermediate_dim=512,
            dropout=0.1,
        ),
        # Transformer-base (Vaswani et al. 2017) sizes.
        "base": dict(
            source_length=128,
            target_length=128,
            hidden_dim=512,
            num_encoder_layers=6,
            num_decoder_layers=6,
            num_heads=8,
            intermediate_dim=2048,
            dropout=0.1,
        ),
    },
    # The recurrent counterpart of "seq2seq" (zoo.models.LSTMSeq2Seq): same inputs, lengths and data.
    "lstm_seq2seq": {
        # For tests: one narrow LSTM on each side.
        "tiny": dict(
            source_length=16,
            target_length=16,
            hidden_dim=16,
            lstm_units=16,
            num_encoder_layers=1,
            num_decoder_layers=1,
            dropout=0.0,
        ),
        # seq2seq "small"'s size (~10.7M vs 10.1M parameters with 8,000-token vocabularies):
        # a 2-layer bidirectional encoder and a 2-layer decoder of 256 units, Luong attention.
        "small": dict(
            source_length=64,
            target_length=64,
            hidden_dim=256,
            lstm_units=256,
            num_encoder_layers=2,
            num_decoder_layers=2,
            bidirectional_encoder=True,
            attention="luong",
            dropout=0.2,
        ),
    },
    # The recurrent counterpart of "causal_lm" (zoo.models.LSTMLanguageModel), for scaling comparisons.
    "lstm_language_model": {
        # For tests: one narrow LSTM.
        "tiny": dict(sequence_length=32, hidden_dim=16, lstm_units=16, num_layers=1),
        # Character-level text (causal_lm "small"'s 256 positions): two LSTMs of 512 units.
        "small": dict(sequence_length=256, hidden_dim=128, lstm_units=512, num_layers=2, dropout=0.1),
    },
    "causal_lm": {
        # For tests: one narrow block.
        "tiny": dict(sequence_length=32, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32, dropout=0.0),
        # The same with rotary positions (no position table).
        "tiny_rotary": dict(
            sequence_length=32,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            dropout=0.0,
            position="rotary",
        ),
        # CPU-sized character-level model (nanoGPT's Shakespeare setting, narrower).
        "small": dict(
            sequence_length=256,
            hidden_dim=256,
            num_layers=4,
            num_heads=4,
            intermediate_dim=1024,
            dropout=0.1,
        ),
        "small_rotary": dict(
            sequence_length=256,
            hidden_dim=256,
            num_layers=4,
            num_heads=4,
            intermediate_dim=1024,
            dropout=0.1,
            position="rotary",
        ),
        # GPT-2 small sizes.
        "base": dict(
            sequence_length=1024,
            hidden_dim=768,
            num_layers=12,
            num_heads=12,
            intermediate_dim=3072,
            dropout=0.1,
        ),
    },
    # Backbones (zoo.models.backbones): complete configurations, vocabulary included.
    # The "tiny" entries are for tests; the others are published architectures (random
    # weights), whose parameter counts tests/models/test_presets.py checks.
    "encoder_backbone": {
        # BERT-like: post-LN, learned positions, embedding norm, two segments.
        "tiny": dict(
            vocabulary_size=1000,
            sequence_length=32,
            hidden_dim=16,
            num_layers=2,
            num_heads=2,
            intermediate_dim=32,
            num_segments=2,
            layer_norm_epsilon=1e-12,
        ),
        # BERT-base (uncased): 108,891,648 parameters without the pooler.
        "bert_base": dict(
            vocabulary_size=30522,
            sequence_length=512,
            hidden_dim=768,
            num_layers=12,
            num_heads=12,
            intermediate_dim=3072,
            num_segments=2,
            layer_norm_epsilon=1e-12,
        ),
    },
    "decoder_backbone": {
        # GPT-2-like: pre-LN, learned positions, tanh gelu, all biases, tied embeddings.
        "tiny": dict(
            vocabulary_size=1000,
            sequence_length=32,
            hidden_dim=16,
            num_layers=2,
            num_heads=2,
            intermediate_dim=32,
            activation="gelu_approximate",
            tie_word_embeddings=True,
        ),
        # LLaMA-like: RMSNorm, rotary, SwiGLU, grouped-query heads, no biases, untied.
        "tiny_llama": dict(
            vocabulary_size=1000,
            sequence_length=32,
            hidden_dim=16,
            num_layers=2,
            num_heads=4,
            num_key_value_heads=2,
            intermediate_dim=32,
            activation="swiglu",
            norm_type="rms_norm",
            layer_norm_epsilon=1e-6,
            position_encoding="rotary",
            use_attention_bias=False,
            use_mlp_bias=False,
        ),
        # Qwen2-like: LLaMA's structure with biases on q/k/v only, rope_theta 1e6, tied.
        "tiny_qwen2": dict(
            vocabulary_size=1000,
            sequence_length=32,
            hidden_dim=16,
            num_layers=2,
            num_heads=4,
            num_key_value_heads=2,
            intermediate_dim=32,
            activation="swiglu",
            norm_type="rms_norm",
            layer_norm_epsilon=1e-6,
            position_encoding="rotary",
            rope_theta=1000000.0,
            use_attention_bias=True,
            use_attention_output_bias=False,
            use_mlp_bias=False,
            tie_word_embeddings=True,
        ),
        # GPT-2 small: 124,439,808 parameters.
        "gpt2": dict(
            vocabulary_size=50257,
            sequence_length=1024,
            hidden_dim=768,
            num_layers=12,
            num_heads=12,
            intermediate_dim=3072,
            activation="gelu_approximate",
            tie_word_embeddings=True,
        ),
    },
    "encoder_decoder_backbone": {
        # Seq2SeqLM's stack: pre-LN, learned positions, relu, sqrt(D)-scaled embeddings.
        "tiny": dict(
            vocabulary_size=1000,
            sequence_length=16,
            hidden_dim=16,
            num_encoder_layers=1,
            num_decoder_layers=1,
            num_heads=2,
            intermediate_dim=32,
            embedding_scale=4.0,
        ),
        # BART-like: post-LN, embedding norms, learned positions from row 2, gelu, one shared
        # and tied token table.
        "tiny_bart": dict(
            vocabulary_size=1000,
            sequence_length=16,
            hidden_dim=16,
            num_encoder_layers=2,
            num_decoder_layers=2,
            num_heads=2,
            intermediate_dim=32,
            activation="gelu",
            normalize_first=False,
            use_final_norm=False,
            use_embedding_norm=True,
            position_offset=2,
            tie_word_embeddings=True,
            share_token_embeddings=True,
        ),
        # Marian-like: post-LN, concatenated sinusoids, sqrt(D)-scaled embeddings, silu, one
        # shared and tied token table.
        "tiny_marian": dict(
            vocabulary_size=1000,
            sequence_length=16,
            hidden_dim=16,
            num_encoder_layers=2,
            num_decoder_layers=2,
            num_heads=2,
            intermediate_dim=32,
            activation="silu",
            normalize_first=False,
            use_final_norm=False,
            position_encoding="sinusoidal",
            sinusoidal_layout="concatenated",
            embedding_scale=4.0,
            tie_word_embeddings=True,
            share_token_embeddings=True,
        ),
    },
    "vit_backbone": {
        # 8x8 grayscale, 4x4 patches: 4 patches + the class token.
        "tiny": dict(
            image_size=8,
            patch_size=4,
            num_channels=1,
            hidden_dim=16,
            num_layers=2,
            num_heads=2,
            intermediate_dim=32,
        ),
        # ViT-B/16 at 224x224: 85,798,656 parameters without a head.
        "vit_base_16": dict(
            image_size=224,
            patch_size=16,
            num_channels=3,
            hidden_dim=768,
            num_layers=12,
            num_heads=12,
            intermediate_dim=3072,
        ),
    },
}


def preset_names(family):
    """Names of the presets of `family`, e.g. `preset_names("image_classifier")`."""
    if family not in PRESETS:
        raise ValueError(f"unknown model family {family!r}; expected one of {sorted(PRESETS)}")
    return list(PRESETS[family])


def get_preset(family, name):
    """A copy of the keyword arguments of preset `name` in `family`."""
    names = preset_names(family)
    if name not in PRESETS[family]:
        raise ValueError(f"unknown preset {name!r} for {family}; expected one of {names}")
    return copy.deepcopy(PRESETS[family][name])
