import keras
import numpy as np
import pytest
from references import reference_rotary, reference_sinusoidal

from helpers import assert_round_trip, count_params, to_numpy
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
    np.testing.assert_allclose(to_numpy(RotaryEmbedding()(x, start_index=4)), reference_rotary(x, start=4), atol=1e-4)


def reference_scaled_rotary(x, start, max_wavelength, scaling_factor):
    """RoPE written as 2x2 rotations of the feature pairs (j, j + D/2), with loops.

    Pair j at position p turns by `(start + p) / scaling_factor * max_wavelength**(-2j / D)`.
    """
    out = np.array(x, "float64")
    half = x.shape[-1] // 2
    for position in range(x.shape[1]):
        for j in range(half):
            angle = (start + position) / scaling_factor * max_wavelength ** (-2.0 * j / x.shape[-1])
            first, second = x[:, position, ..., j], x[:, position, ..., j + half]
            out[:, position, ..., j] = first * np.cos(angle) - second * np.sin(angle)
            out[:, position, ..., j + half] = first * np.sin(angle) + second * np.cos(angle)
    return out


@pytest.mark.parametrize("max_wavelength,scaling_factor", [(500.0, 1.0), (10000.0, 4.0), (50.0, 2.5)])
@pytest.mark.parametrize("start_index", [0, 6])
def test_rotary_max_wavelength_and_scaling_factor_match_a_reference(max_wavelength, scaling_factor, start_index):
    x = np.random.default_rng(2).normal(size=(2, 7, 3, 8)).astype("float32")
    rope = RotaryEmbedding(max_wavelength=max_wavelength, scaling_factor=scaling_factor)
    expected = reference_scaled_rotary(x, start_index, max_wavelength, scaling_factor)
    np.testing.assert_allclose(to_numpy(rope(x, start_index=start_index)), expected, atol=1e-5)
    # Linear scaling: position p with factor s turns as position p / s does without it.
    if scaling_factor == 4.0:
        plain = RotaryEmbedding(max_wavelength=max_wavelength)
        scaled = to_numpy(rope(x[:, :1], start_index=4 * (start_index + 1)))
        np.testing.assert_allclose(scaled, to_numpy(plain(x[:, :1], start_index=start_index + 1)), atol=1e-5)


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


def test_learned_position_offset_skips_the_first_rows(tmp_path):
    layer = PositionEmbedding(sequence_length=6, offset=2)
    x = np.zeros((1, 4, 3), "float32")
    out = to_numpy(layer(x, start_index=1))
    table = to_numpy(layer.position_embeddings)
    assert table.shape == (8, 3) and count_params(layer) == 24
    np.testing.assert_allclose(out[0], table[3:7])  # positions 1..4 read rows 3..6
    assert_round_trip(layer, {"inputs": x}, tmp_path)
    with pytest.raises(ValueError, match="Received: offset=-1"):
        PositionEmbedding(sequence_length=6, offset=-1)


def test_old_position_configs_without_an_offset_load():
    config = PositionEmbedding(sequence_length=5).get_config()
    config.pop("offset")
    assert PositionEmbedding.from_config(config).offset == 0
    config = SinusoidalPositionEncoding().get_config()
    config.pop("layout")
    assert SinusoidalPositionEncoding.from_config(config).layout == "interleaved"


def reference_concatenated_sinusoids(length, dim, start=0, max_wavelength=10000.0):
    """Marian's table: column i < D/2 is sin(pos / w^(2i/D)), column D/2 + i the cosine."""
    table = np.zeros((length, dim))
    for row in range(length):
        for i in range(dim // 2):
            angle = (start + row) / max_wavelength ** (2 * i / dim)
            table[row, i] = np.sin(angle)
            table[row, dim // 2 + i] = np.cos(angle)
    return table


def test_concatenated_sinusoids_match_marians_layout(tmp_path):
    x = np.zeros((2, 7, 8), "float32")
    layer = SinusoidalPositionEncoding(layout="concatenated")
    expected = reference_concatenated_sinusoids(7, 8)
    np.testing.assert_allclose(to_numpy(layer(x))[1], expected, atol=1e-5)
    shifted = to_numpy(layer(x[:, :2], start_index=5))[0]
    np.testing.assert_allclose(shifted, reference_concatenated_sinusoids(2, 8, start=5), atol=1e-5)
    # Same values as the interleaved table, columns reordered.
    interleaved = reference_sinusoidal(7, 8)
    reordered = np.concatenate([interleaved[:, 0::2], interleaved[:, 1::2]], axis=1)
    np.testing.assert_allclose(to_numpy(layer(x))[0], reordered, atol=1e-5)
    assert_round_trip(layer, {"inputs": x}, tmp_path)


def test_sinusoid_layout_errors():
    with pytest.raises(ValueError, match="Received: layout='split'"):
        SinusoidalPositionEncoding(layout="split")
    with pytest.raises(ValueError, match="even feature size"):
        SinusoidalPositionEncoding(layout="concatenated")(np.zeros((1, 2, 5), "float32"))
