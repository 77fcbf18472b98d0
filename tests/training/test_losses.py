import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.training import SparseCategoricalCrossentropyWithSmoothing

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(3, 5, 11)).astype("float32") * 3
LABELS = RNG.integers(0, 11, size=(3, 5))
WEIGHTS = (RNG.random((3, 5)) > 0.3).astype("float32")


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_matches_keras_categorical_crossentropy_on_one_hot_labels(smoothing):
    ours = SparseCategoricalCrossentropyWithSmoothing(smoothing)
    reference = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    one_hot = np.eye(11, dtype="float32")[LABELS]
    for weights in (None, WEIGHTS):
        np.testing.assert_allclose(
            to_numpy(ours(LABELS, LOGITS, sample_weight=weights)),
            to_numpy(reference(one_hot, LOGITS, sample_weight=weights)),
            rtol=1e-5,
        )


def test_probabilities_input_and_no_smoothing_equal_sparse_crossentropy():
    probabilities = to_numpy(keras.ops.softmax(LOGITS))
    ours = SparseCategoricalCrossentropyWithSmoothing(0.0, from_logits=False)
    reference = keras.losses.SparseCategoricalCrossentropy()
    np.testing.assert_allclose(
        to_numpy(ours(LABELS, probabilities)), to_numpy(reference(LABELS, probabilities)), rtol=1e-5
    )


def test_round_trip_and_bad_argument():
    loss = SparseCategoricalCrossentropyWithSmoothing(0.2)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, SparseCategoricalCrossentropyWithSmoothing) and clone.label_smoothing == 0.2
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        SparseCategoricalCrossentropyWithSmoothing(1.0)
