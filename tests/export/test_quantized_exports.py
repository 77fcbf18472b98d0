"""Exports of Keras-quantized models (`model.quantize("int8"|"int4")`): SavedModel and TFLite match the quantized model.

Each test compares an export with the quantized Keras model it came from,
and checks that it is that model and not the float one (the quantized
outputs differ from the float outputs by far more than the export's error),
and that the TFLite file keeps the integer weights (it is smaller).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import to_numpy
from zoo.export import export_run, export_saved_model, export_tflite, run_tflite
from zoo.export.causal_lm import tflite_generate
from zoo.export.quantized import tflite_compatible
from zoo.models import CausalLM, ImageClassifier, Seq2SeqLM, TextClassifier
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

WORDS = "a the film is witty gorgeous dull plot mess , ! . to be or not that question".split()
VOCABULARY = list(SPECIAL_TOKENS) + WORDS
TEXTS = ["a gorgeous , witty film", "", "the plot is a dull mess !", "to be or not"]
RNG = np.random.default_rng(0)


def copy_of(model):
    """A float copy of `model` with the same weights (to quantize while keeping the original)."""
    return model.__class__.from_config(model.get_config())


def quantized_copy(model, inputs, mode):
    clone = copy_of(model)
    clone(inputs)
    clone.set_weights(model.get_weights())
    clone.quantize(mode)
    return clone


def test_tflite_compatible_computes_keras_integer_matmuls_exactly_and_restores_the_backend():
    from zoo._keras_compat import tensorflow_backend_numpy

    backend_numpy = tensorflow_backend_numpy()

    model = TextClassifier.from_preset("tiny", vocabulary_size=30, num_classes=2)
    x = RNG.integers(-127, 128, (3, 5, 48)).astype("int8")
    kernel = RNG.integers(-127, 128, (48, 7)).astype("int8")
    expected = x.astype("int64") @ kernel.astype("int64")  # NumPy reference, exact integers
    originals = (backend_numpy.matmul, backend_numpy.einsum, backend_numpy.squeeze)
    with tflite_compatible(model):  # a float model: nothing is swapped
        assert (backend_numpy.matmul, backend_numpy.einsum, backend_numpy.squeeze) == originals
    model.quantize("int8")
    with tflite_compatible(model):
        got = keras.ops.matmul(x, kernel)
        assert got.dtype == tf.int32
        np.testing.assert_array_equal(to_numpy(got), expected)
        np.testing.assert_array_equal(to_numpy(keras.ops.einsum("btd,dk->btk", x, kernel)), expected)
        squeezed = keras.ops.squeeze(np.zeros((2, 3, 1, 1), "float32"), axis=3)
        assert tuple(squeezed.shape) == (2, 3, 1)
        with pytest.raises(ValueError, match="Cannot squeeze axis=1"):
            keras.ops.squeeze(np.zeros((2, 3, 1)), axis=1)
    assert (backend_numpy.matmul, backend_numpy.einsum, backend_numpy.squeeze) == originals


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, class_names=["negative", "positive"])
    model.classify(TEXTS[:1])
    return model


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_text_classifier_exports_match_the_quantized_model(classifier, tmp_path, mode):
    ids = {k: v.numpy() for k, v in classifier.preprocessor(TEXTS).items()}
    model = quantized_copy(classifier, ids, mode)
    expected = to_numpy(keras.ops.softmax(model(ids)))
    float_probabilities = to_numpy(keras.ops.softmax(classifier(ids)))
    quantization_effect = np.abs(expected - float_probabilities).max()

    summary = export_run(
        model, tmp_path, sample_inputs={"text": np.array(TEXTS, dtype=object), **ids}, quantizations=(None,)
    )
    loaded = tf.saved_model.load(summary["saved_model"]["path"])
    served = loaded.signatures["serving_default"](text=tf.constant(TEXTS))["probabilities"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-6)
    for variant, inputs in (("text", {"text": TEXTS}), ("token_ids", ids)):
        content = open(summary["tflite"][f"{variant}/float32"]["path"], "rb").read()
        got = run_tflite(content, inputs)["probabilities"]
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert np.abs(got - expected).max() * 10 < quantization_effect  # the quantized model, not the float one


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_causal_lm_cached_generation_exports_match_the_quantized_model(tmp_path, mode):
    keras.utils.set_random_seed(3)
    model = CausalLM.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, sequence_length=10))
    model.quantize(mode)
    prompts = np.array([[2, 5, 9], [2, 7, 7]], "int32")
    expected = to_numpy(model.generate({"token_ids": prompts, "padding_mask": np.ones_like(prompts)}, max_length=10))
    uncached = model.generate_ids(prompts, np.ones_like(prompts), max_length=10, use_cache=False)
    np.testing.assert_array_equal(to_numpy(uncached), expected)  # the cache under quantized weights

    path, report = export_tflite(model, tmp_path / "lm.tflite")  # prefill + decode; float file: token for token
    assert report.extra["greedy_sequences_equal"] == 1.0
    assert report.extra["path_logits_max_abs_error"] < 1e-4
    got = tflite_generate(
        path, prompts, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id, max_length=10
    )
    np.testing.assert_array_equal(got, expected)

    saved, _ = export_saved_model(model, tmp_path / "saved")
    served = tf.saved_model.load(str(saved)).signatures["serving_default"](prompt=tf.constant(TEXTS))
    assert [text.decode() for text in served["generated_text"].numpy()] == model.generate(TEXTS)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_seq2seq_exports_match_the_quantized_model(tmp_path, mode):
    keras.utils.set_random_seed(5)
    model = Seq2SeqLM.from_preset(
        "tiny",
        source_preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8),
        target_preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8),
    )
    model.quantize(mode)
    expected = model.generate(TEXTS)
    saved, _ = export_saved_model(model, tmp_path / "saved")
    served = tf.saved_model.load(str(saved)).signatures["serving_default"](text=tf.constant(TEXTS))
    assert [text.decode() for text in served["generated_text"].numpy()] == expected
    # The single-call file (the greedy loop inside) and the encoder + cached decode steps, both checked
    # token for token against the quantized model's greedy generation by the export itself.
    path, _ = export_tflite(model, tmp_path / "model.tflite", variant="generate")
    token_ids = run_tflite(path.read_bytes(), {"text": np.array(TEXTS, dtype=object)})["token_ids"]
    assert model.detokenize(token_ids) == expected
    path, report = export_tflite(model, tmp_path / "ids.tflite", variant="encode_decode_ids")
    assert report.extra["greedy_sequences_equal"] == 1.0


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_image_classifier_exports_match_the_quantized_model(tmp_path, mode):
    keras.utils.set_random_seed(7)
    float_model = ImageClassifier.from_preset("tiny", num_classes=3)
    images = RNG.integers(0, 256, (6, 8, 8, 1)).astype("uint8")
    float_probabilities = to_numpy(keras.ops.softmax(float_model(images.astype("float32"))))
    model = quantized_copy(float_model, images.astype("float32"), mode)
    expected = to_numpy(keras.ops.softmax(model(images.astype("float32"))))
    summary = export_run(
        model,
        tmp_path,
        sample_inputs={"images": images},
        representative_data={"images": images},
        quantizations=(None, "dynamic"),
    )
    served = tf.saved_model.load(summary["saved_model"]["path"]).signatures["serving_default"]
    np.testing.assert_allclose(served(images=tf.constant(images))["probabilities"].numpy(), expected, atol=1e-6)
    content = open(summary["tflite"]["images/float32"]["path"], "rb").read()
    got = run_tflite(content, {"images": images})["probabilities"]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - expected).max() * 10 < np.abs(expected - float_probabilities).max()
    # TFLite's dynamic range has nothing left to quantize: the weights are integers already.
    assert summary["tflite"]["images/dynamic"]["max_abs_diff"]["probabilities"] < 1e-5


def test_the_tflite_file_keeps_the_integer_weights(tmp_path):
    keras.utils.set_random_seed(9)
    model = TextClassifier.from_preset("tiny", vocabulary_size=4000, num_classes=2)  # mostly its token table
    ids = RNG.integers(5, 4000, (4, 32)).astype("int32")
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    sizes = {"float32": export_tflite(model, tmp_path / "float.tflite", sample_inputs=inputs)[0].stat().st_size}
    for mode in ("int8", "int4"):
        path, _ = export_tflite(quantized_copy(model, inputs, mode), tmp_path / f"{mode}.tflite", sample_inputs=inputs)
        sizes[mode] = path.stat().st_size
    weights_bytes = 4 * model.count_params()
    assert sizes["float32"] > weights_bytes  # the float weights, 4 bytes each
    # One byte per weight plus scales and the per-token input quantization ops (int4: unpacked to int8 bytes).
    assert sizes["int8"] < 0.5 * sizes["float32"], sizes
    assert sizes["int4"] < 0.5 * sizes["float32"], sizes
