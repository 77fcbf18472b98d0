import keras
import numpy as np
import pytest

from helpers import assert_round_trip, count_params, to_numpy
from references import reference_rotary, reference_sinusoidal
from zoo.layers import PositionEmbedding, RotaryEmbedding, SinusoidalPositionEncoding


def test_sinusoidal_matches_paper_formula():
    x = np.zeros((2, 9, 6), "float32")
    encoding = to_numpy(SinusoidalPositionEncoding()(x))
    assert encoding.shape == (2, 9, 6)
    np.testing.assert_allclose(encoding[1], reference_sinusoidal(9, 6), atol=1e-5)


def test_sinusoidal_start_index_continues_the_table():
    x = np.zeros((1, 3, 8), "float32")
    encoding = to_numpy(SinusoidalPositionEncoding()(x, start_index=5))
    np.testing.assert_allclose(encoding[0], reference_sinusoidal(3, 8, start=5), atol=1e-5)


def test_learned_position_embedding_slices_its_table(tmp_path):
    layer = PositionEmbedding(sequence_length=12)
    x = np.zeros((2, 5, 4), "float32")
    full = to_numpy(layer(np.zeros((2, 12, 4), "float32")))
    np.testing.assert_allclose(to_numpy(layer(x, start_index=3)), full[:, 3:8])
    assert count_params(layer) == 12 * 4
    assert_round_trip(layer, {"inputs": x}, tmp_path)


def test_learned_position_embedding_rejects_long_sequences():
    layer = PositionEmbedding(sequence_length=4)
    with pytest.raises(ValueError, match="longer than sequence_length=4"):
        layer(np.zeros((1, 5, 2), "float32"))
    with pytest.raises(ValueError, match="sequence_length must be a positive integer"):
        PositionEmbedding(sequence_length=0)


def test_rotary_matches_complex_reference():
    x = np.random.default_rng(0).normal(size=(2, 7, 3, 8)).astype("float32")
    np.testing.assert_allclose(to_numpy(RotaryEmbedding()(x)), reference_rotary(x), atol=1e-5)
    np.testing.assert_allclose(
        to_numpy(RotaryEmbedding()(x, start_index=4)), reference_rotary(x, start=4), atol=1e-4
    )


def test_rotary_dot_products_depend_only_on_relative_position():
    rng = np.random.default_rng(1)
    q = np.broadcast_to(rng.normal(size=(1, 1, 1, 16)), (1, 20, 1, 16)).astype("float32")
    k = np.broadcast_to(rng.normal(size=(1, 1, 1, 16)), (1, 20, 1, 16)).astype("float32")
    rope = RotaryEmbedding()
    rq, rk = to_numpy(rope(q))[0, :, 0], to_numpy(rope(k))[0, :, 0]
    # Same offset m - n = 3 at different absolute positions gives the same score.
    scores = [rq[m] @ rk[m - 3] for m in range(3, 20)]
    np.testing.assert_allclose(scores, scores[0], rtol=1e-4)
    # Rotation preserves norms.
    np.testing.assert_allclose(np.linalg.norm(rq, axis=-1), np.linalg.norm(q[0, :, 0], axis=-1), rtol=1e-5)


def test_rotary_rejects_odd_features_and_bad_arguments():
    with pytest.raises(ValueError, match="even feature size"):
        RotaryEmbedding()(np.zeros((1, 2, 1, 5), "float32"))
    with pytest.raises(ValueError, match="scaling_factor"):
        RotaryEmbedding(scaling_factor=0.5)


def test_weightless_encodings_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 4, 1, 6)).astype("float32")
    assert_round_trip(RotaryEmbedding(max_wavelength=500.0, scaling_factor=2.0), {"inputs": x}, tmp_path)
    assert_round_trip(SinusoidalPositionEncoding(max_wavelength=100.0), {"inputs": x[:, :, 0]}, tmp_path)
    assert keras.layers.Layer.count_params(RotaryEmbedding()) == 0
