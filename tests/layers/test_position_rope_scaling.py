"""RotaryEmbedding's rope_scaling (linear, llama3) against a NumPy reference written from the formulas."""

import math

import numpy as np
import pytest

from helpers import assert_round_trip, to_numpy
from zoo.layers import RotaryEmbedding

LLAMA3 = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 256,
}


def reference_frequency(j, feature_size, base, scaling):
    """Pair j's inverse frequency, one scalar at a time, following Llama 3.1's published rule."""
    frequency = base ** (-2.0 * j / feature_size)
    if scaling is None:
        return frequency
    if scaling["rope_type"] == "linear":
        return frequency / scaling["factor"]
    wavelength = 2 * math.pi / frequency
    original = scaling["original_max_position_embeddings"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    if wavelength < original / high:  # high frequency: unchanged
        return frequency
    if wavelength > original / low:  # low frequency: divided by factor
        return frequency / scaling["factor"]
    smooth = (original / wavelength - low) / (high - low)
    return (1 - smooth) * frequency / scaling["factor"] + smooth * frequency


def reference_rope(x, start, base, scaling):
    out = np.array(x, "float64")
    half = x.shape[-1] // 2
    for position in range(x.shape[1]):
        for j in range(half):
            angle = (start + position) * reference_frequency(j, x.shape[-1], base, scaling)
            first, second = x[:, position, ..., j], x[:, position, ..., j + half]
            out[:, position, ..., j] = first * math.cos(angle) - second * math.sin(angle)
            out[:, position, ..., j + half] = first * math.sin(angle) + second * math.cos(angle)
    return out


def test_llama3_reference_covers_all_three_regimes():
    wavelengths = [2 * math.pi / 10000.0 ** (-2.0 * j / 16) for j in range(8)]
    assert min(wavelengths) < 256 / 4 and max(wavelengths) > 256 and any(64 < w < 256 for w in wavelengths)


@pytest.mark.parametrize(
    "scaling", [LLAMA3, {"rope_type": "linear", "factor": 4.0}, {"type": "linear", "factor": 2.0}, None]
)
@pytest.mark.parametrize("start_index", [0, 300])
def test_scaled_rope_matches_the_reference(scaling, start_index):
    x = np.random.default_rng(3).normal(size=(2, 5, 3, 16)).astype("float32")
    rope = RotaryEmbedding(max_wavelength=10000.0, rope_scaling=scaling)
    expected = reference_rope(x, start_index, 10000.0, None if scaling is None else {"rope_type": "linear", **scaling})
    np.testing.assert_allclose(to_numpy(rope(x, start_index=start_index)), expected, atol=2e-4)


def test_llama3_differs_from_unscaled_and_round_trips(tmp_path):
    x = np.random.default_rng(4).normal(size=(1, 4, 2, 16)).astype("float32")
    scaled = RotaryEmbedding(max_wavelength=500000.0, rope_scaling=LLAMA3)
    assert (
        np.abs(to_numpy(scaled(x, start_index=50)) - to_numpy(RotaryEmbedding(500000.0)(x, start_index=50))).max() > 0.1
    )
    assert scaled.get_config()["rope_scaling"] == LLAMA3
    assert_round_trip(scaled, {"inputs": x}, tmp_path)


@pytest.mark.parametrize(
    "scaling,match",
    [
        ({"rope_type": "yarn", "factor": 4.0}, r"one of \['linear', 'llama3'\]. Received: rope_type='yarn'"),
        ({"rope_type": "llama3", "factor": 8.0}, r"needs numbers \['low_freq_factor'"),
        ({"rope_type": "linear", "factor": 0.5}, "factor must be >= 1"),
        ("linear", "must be None or a dict"),
    ],
)
def test_bad_rope_scaling_is_a_clear_error(scaling, match):
    with pytest.raises(ValueError, match=match):
        RotaryEmbedding(rope_scaling=scaling)
