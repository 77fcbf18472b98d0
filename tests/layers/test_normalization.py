import keras
import numpy as np
import pytest

from helpers import assert_round_trip, count_params, randomize_weights, to_numpy
from zoo.layers import RMSNorm
from zoo.layers.normalization import normalization_layer


def reference_rms_norm(x, scale, epsilon):
    """Zhang & Sennrich (2019), eq. 4: `x / RMS(x) * g`, `RMS(x) = sqrt(mean(x^2) + eps)`."""
    x = x.astype("float64")
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + epsilon) * scale


@pytest.mark.parametrize("epsilon", [1e-6, 0.5])
def test_matches_numpy_reference_with_a_random_scale(epsilon):
    norm = RMSNorm(epsilon=epsilon, name="norm")
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype("float32") * 3.0
    norm(x)
    randomize_weights(norm, seed=1, scale=0.5)
    scale = to_numpy(norm.scale)
    assert not np.allclose(scale, 1.0)
    np.testing.assert_allclose(to_numpy(norm(x)), reference_rms_norm(x, scale, epsilon), atol=1e-5)
    assert count_params(norm) == 8 and [w.path for w in norm.weights] == ["norm/scale"]


def test_does_not_subtract_the_mean():
    x = np.full((1, 1, 4), 3.0, "float32")
    np.testing.assert_allclose(to_numpy(RMSNorm(epsilon=1e-12)(x)), np.ones((1, 1, 4)), atol=1e-5)


def test_bfloat16_compute_keeps_float32_statistics():
    x = np.random.default_rng(2).normal(size=(2, 5, 16)).astype("float32") * 50.0
    norm = RMSNorm(dtype="mixed_bfloat16")
    out = norm(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    expected = reference_rms_norm(x, np.ones(16), 1e-6)
    np.testing.assert_allclose(to_numpy(keras.ops.cast(out, "float32")), expected, atol=2e-2)


def test_round_trip_and_errors(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    norm = RMSNorm(epsilon=1e-5)
    norm(x)
    randomize_weights(norm, seed=3)
    assert_round_trip(norm, {"inputs": x}, tmp_path)
    with pytest.raises(ValueError, match="Received: epsilon=0"):
        RMSNorm(epsilon=0)


def test_factory_builds_either_norm_and_names_a_bad_type():
    assert isinstance(normalization_layer("layer_norm", 1e-5, "n"), keras.layers.LayerNormalization)
    rms = normalization_layer("rms_norm", 1e-6, "n")
    assert isinstance(rms, RMSNorm) and rms.epsilon == 1e-6 and rms.name == "n"
    with pytest.raises(ValueError, match="Received: norm_type='group_norm'"):
        normalization_layer("group_norm", 1e-5, "n")
