"""Property tests: every classifier entry point returns a result or a clear ValueError on messy input.

Hypothesis draws the inputs (any Unicode text incl. mixed scripts and
control characters, whitespace-only and empty strings, invalid UTF-8 bytes,
long texts; images of any shape, dtype and value incl. NaN/inf; empty
batches). A crash from deep inside TensorFlow, or a result that is not a
probability distribution, fails the test.
"""

import numpy as np
import pytest
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


texts = st.one_of(
    st.text(min_size=0, max_size=200),
    st.text(alphabet=st.sampled_from(" \t\n\r\u00a0\u3000"), max_size=20),  # whitespace only
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50).map(lambda t: t * 50),  # long
    st.binary(min_size=1, max_size=40),  # bytes, often invalid UTF-8
)


@FUZZ
@given(batch=st.lists(texts, min_size=0, max_size=6))
def test_text_classifiers_answer_or_refuse_clearly(text_model, batch):
    blank = [i for i, text in enumerate(batch) if not text.strip()]
    if not batch or blank:
        with pytest.raises(ValueError, match="empty|at least one"):
            text_model.classify(batch)
        return
    _check_distribution(text_model.classify(batch), len(batch), 3)


def test_a_non_string_in_a_text_batch_is_named():
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, num_classes=2)
    with pytest.raises(ValueError, match="text 1 is a int"):
        model.classify(["a good film", 7])


@pytest.fixture(scope="module", params=["vit", "cnn"])
def image_model(request):
    if request.param == "vit":
        return ImageClassifier.from_preset("tiny")  # 8x8x1
    return CNNImageClassifier.from_preset("tiny")


shapes = st.tuples(st.integers(0, 3), st.sampled_from([7, 8, 9]), st.sampled_from([8, 16]), st.integers(1, 3))
dtypes = st.sampled_from(["uint8", "int32", "float32", "float64", "float16", "bool", "complex64"])


@FUZZ
@given(shape=shapes, dtype=dtypes, special=st.sampled_from([None, np.nan, np.inf, -np.inf]), data=st.data())
def test_image_classifiers_answer_or_refuse_clearly(image_model, shape, dtype, special, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    images = (rng.random(shape) * 255).astype(dtype)
    if special is not None and np.issubdtype(images.dtype, np.floating) and images.size:
        images.flat[rng.integers(images.size)] = special
    expected_shape = (*image_model.image_size, image_model.num_channels)
    valid = (
        shape[0] > 0 and shape[1:] == expected_shape
        and (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating))
        and np.isfinite(images).all()
    )
    if not valid:
        with pytest.raises(ValueError, match="expected"):
            image_model.classify(images)
        return
    _check_distribution(image_model.classify(images), shape[0], image_model.num_classes)


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused_by_name(image_model, special):
    images = np.full((2, *image_model.image_size, image_model.num_channels), 100.0, "float32")
    images[1, 0, 0, 0] = special
    with pytest.raises(ValueError, match="expected finite pixel values; image 1"):
        image_model.classify(images)


def test_an_empty_image_batch_is_refused(image_model):
    with pytest.raises(ValueError, match="expected at least one image"):
        image_model.classify(np.zeros((0, *image_model.image_size, image_model.num_channels), "uint8"))
