"""Property tests: every classifier entry point returns a result or a clear ValueError on messy input.

Hypothesis draws the inputs (any Unicode text incl. mixed scripts and
control characters, whitespace-only and empty strings, invalid UTF-8 bytes,
long texts; images of any shape, dtype and value incl. NaN/inf; empty
batches). Each entry point has two properties, so that every example
reaches the branch it is about: valid inputs always give the Keras model's
own probabilities; invalid ones (at least one defect each) always give a
clear ValueError. A crash from deep inside TensorFlow, or a result that is
not the model's distribution, fails the test.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.models import CNNClassifier, CNNImageClassifier, ImageClassifier, LSTMClassifier, TextClassifier
from zoo.tokenizers import TextPreprocessor

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "good", "bad", "film", "##s", "the", ".", ","]


@pytest.fixture(scope="module", params=["transformer", "lstm", "cnn"])
def text_model(request):
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=16)
    build = {"transformer": TextClassifier, "lstm": LSTMClassifier, "cnn": CNNClassifier}[request.param]
    return build.from_preset("tiny", preprocessor=preprocessor, sequence_length=16, num_classes=3)


def _check_distribution(result, count, num_classes):
    probabilities = np.asarray(result["probabilities"])
    assert probabilities.shape == (count, num_classes)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert len(result["labels"]) == count


def _has_words(text):
    return bool(text.strip())


blank_texts = st.one_of(
    st.text(alphabet=st.sampled_from(" \t\n\r\u00a0\u3000"), max_size=20),  # whitespace only, or ""
    st.binary(max_size=0) | st.just(b" \t\n"),  # blank bytes
)
nonblank_texts = st.one_of(
    st.text(min_size=1, max_size=200).filter(_has_words),  # any Unicode, mixed scripts, controls
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50)
    .filter(_has_words)
    .map(
        lambda t: t * 50  # long
    ),
    st.binary(min_size=1, max_size=40).filter(_has_words),  # bytes, often invalid UTF-8
)


def _keras_probabilities(model, inputs):
    return tf.nn.softmax(model(inputs, training=False)).numpy()


@FUZZ
@given(batch=st.lists(nonblank_texts, min_size=1, max_size=6))
def test_text_classifiers_answer_valid_batches_with_the_models_probabilities(text_model, batch):
    result = text_model.classify(batch)
    _check_distribution(result, len(batch), 3)
    inputs = {name: np.asarray(value) for name, value in text_model.preprocess(batch).items()}
    expected = _keras_probabilities(text_model, inputs)
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    assert list(result["class_ids"]) == list(expected.argmax(-1))


@FUZZ
@given(
    batch=st.one_of(
        st.just([]),  # an empty batch
        st.tuples(st.lists(nonblank_texts, max_size=4), st.lists(blank_texts, min_size=1, max_size=3))
        .map(lambda parts: parts[0] + parts[1])
        .flatmap(st.permutations),  # at least one blank text, anywhere in the batch
    )
)
def test_text_classifiers_refuse_empty_batches_and_blank_texts_clearly(text_model, batch):
    with pytest.raises(ValueError, match="empty|at least one"):
        text_model.classify(batch)


def test_a_non_string_in_a_text_batch_is_named():
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, num_classes=2)
    with pytest.raises(ValueError, match="text 1 is a int"):
        model.classify(["a good film", 7])


@pytest.fixture(scope="module", params=["vit", "cnn"])
def image_model(request):
    if request.param == "vit":
        return ImageClassifier.from_preset("tiny")  # 8x8x1
    return CNNImageClassifier.from_preset("tiny")


PIXEL_DTYPES = ["uint8", "int32", "float32", "float64", "float16"]
FLOAT_DTYPES = ["float32", "float64", "float16"]
# What can be wrong with a batch of images; each invalid example has at least one.
DEFECTS = ("empty_batch", "height", "width", "channels", "rank", "dtype", "non_finite")


@FUZZ
@given(batch_size=st.integers(1, 3), dtype=st.sampled_from(PIXEL_DTYPES), seed=st.integers(0, 2**16))
def test_image_classifiers_answer_valid_batches_with_the_models_probabilities(image_model, batch_size, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (batch_size, *image_model.image_size, image_model.num_channels)
    images = (rng.random(shape) * 255).astype(dtype)
    result = image_model.classify(images)
    _check_distribution(result, batch_size, image_model.num_classes)
    expected = _keras_probabilities(image_model, np.asarray(images, "float32"))
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-5)
    assert list(result["class_ids"]) == list(expected.argmax(-1))


@FUZZ
@given(
    defects=st.sets(st.sampled_from(DEFECTS), min_size=1),
    batch_size=st.integers(1, 3),
    dtype=st.sampled_from(FLOAT_DTYPES),
    wrong_dtype=st.sampled_from(["bool", "complex64"]),
    special=st.sampled_from([np.nan, np.inf, -np.inf]),
    seed=st.integers(0, 2**16),
)
def test_image_classifiers_refuse_invalid_batches_clearly(
    image_model, defects, batch_size, dtype, wrong_dtype, special, seed
):
    rng = np.random.default_rng(seed)
    height, width = image_model.image_size
    shape = [
        0 if "empty_batch" in defects else batch_size,
        height + (1 if "height" in defects else 0),
        width * (2 if "width" in defects else 1),
        image_model.num_channels + (2 if "channels" in defects else 0),
    ]
    if "rank" in defects:
        shape = shape[1:]  # one image without its batch axis
    images = (rng.random(shape) * 255).astype(wrong_dtype if "dtype" in defects else dtype)
    if "non_finite" in defects and images.dtype.kind == "f" and images.size:
        images.flat[rng.integers(images.size)] = special  # alone, it is the one defect
    with pytest.raises(ValueError, match="expected"):
        image_model.classify(images)


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused_by_name(image_model, special):
    images = np.full((2, *image_model.image_size, image_model.num_channels), 100.0, "float32")
    images[1, 0, 0, 0] = special
    with pytest.raises(ValueError, match="expected finite pixel values; image 1"):
        image_model.classify(images)


def test_an_empty_image_batch_is_refused(image_model):
    with pytest.raises(ValueError, match="expected at least one image"):
        image_model.classify(np.zeros((0, *image_model.image_size, image_model.num_channels), "uint8"))
