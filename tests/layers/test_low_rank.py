import numpy as np
import pytest

from helpers import assert_round_trip, count_params, to_numpy
from zoo.layers import LowRankDense


def test_equals_product_of_factors(tmp_path):
    layer = LowRankDense(units=6, rank=2)
    x = np.random.default_rng(0).normal(size=(3, 4, 10)).astype("float32")
    out = to_numpy(layer(x))
    u, v, b = (to_numpy(w) for w in (layer.u_kernel, layer.v_kernel, layer.bias))
    np.testing.assert_allclose(out, x @ (u @ v) + b, atol=1e-5)
    assert count_params(layer) == 10 * 2 + 2 * 6 + 6
    assert np.linalg.matrix_rank(u @ v) == 2
    assert_round_trip(layer, {"inputs": x}, tmp_path)


def test_truncated_svd_factors_reproduce_a_low_rank_kernel():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(8, 3)) @ rng.normal(size=(3, 5))  # rank 3
    u, s, vt = np.linalg.svd(kernel, full_matrices=False)
    layer = LowRankDense(units=5, rank=3, use_bias=False)
    layer.build((None, 8))
    layer.set_weights([u[:, :3] * s[:3], vt[:3]])
    x = rng.normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(to_numpy(layer(x)), x @ kernel, atol=1e-4)


def test_activation_and_bad_arguments():
    layer = LowRankDense(units=3, rank=1, activation="relu")
    assert (to_numpy(layer(np.random.default_rng(0).normal(size=(5, 4)).astype("float32"))) >= 0).all()
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        LowRankDense(units=3, rank=0)


def test_multi_head_output_shape_matches_einsum_of_the_product_kernel(tmp_path):
    # Stands in for EinsumDense("btd,dnh->btnh"): output split into (heads, head_dim), bias per head.
    rng = np.random.default_rng(2)
    layer = LowRankDense(None, rank=3, output_shape=(2, 4), bias_initializer="random_normal")
    x = rng.normal(size=(2, 5, 6)).astype("float32")
    out = to_numpy(layer(x))
    u, v, b = (to_numpy(w) for w in (layer.u_kernel, layer.v_kernel, layer.bias))
    assert u.shape == (6, 3) and v.shape == (3, 8) and b.shape == (2, 4)
    expected = np.einsum("btd,dnh->btnh", x, (u @ v).reshape(6, 2, 4)) + b
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert layer.units == 8 and count_params(layer) == 3 * (6 + 8) + 8
    assert_round_trip(layer, {"inputs": x}, tmp_path)


def test_flattened_input_axes_match_the_attention_output_einsum(tmp_path):
    # Stands in for EinsumDense("btnh,nhd->btd"): the trailing (heads, head_dim) axes are contracted.
    rng = np.random.default_rng(3)
    layer = LowRankDense(units=6, rank=2, input_axes=2, bias_initializer="random_normal")
    x = rng.normal(size=(2, 5, 2, 4)).astype("float32")
    out = to_numpy(layer(x))
    u, v, b = (to_numpy(w) for w in (layer.u_kernel, layer.v_kernel, layer.bias))
    assert u.shape == (8, 2) and v.shape == (2, 6) and b.shape == (6,)
    np.testing.assert_allclose(out, np.einsum("btnh,nhd->btd", x, (u @ v).reshape(2, 4, 6)) + b, atol=1e-5)
    assert layer.compute_output_shape((None, 5, 2, 4)) == (None, 5, 6)
    assert_round_trip(layer, {"inputs": x}, tmp_path)


def test_config_without_the_new_arguments_still_loads():
    # A config saved before output_shape / input_axes existed.
    config = {"name": "old", "units": 5, "rank": 2, "activation": "linear", "use_bias": True}
    layer = LowRankDense.from_config(config)
    assert layer.output_shape is None and layer.input_axes == 1
    assert to_numpy(layer(np.ones((3, 4), "float32"))).shape == (3, 5)
    assert [w.path for w in layer.weights] == ["old/u_kernel", "old/v_kernel", "old/bias"]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(units=3, rank=1.5), "rank must be a positive integer"),
        (dict(units=0, rank=1), "units must be a positive integer"),
        (dict(units=None, rank=1), "units must be a positive integer"),
        (dict(units=5, rank=1, output_shape=(2, 2)), "output_shape must multiply to units"),
        (dict(units=None, rank=1, output_shape=(2, 0)), "output_shape must be a tuple of positive integers"),
        (dict(units=4, rank=1, input_axes=0), "input_axes must be a positive integer"),
    ],
)
def test_bad_shape_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LowRankDense(**kwargs)


def test_too_few_input_axes_is_a_clear_error():
    with pytest.raises(ValueError, match="needs inputs with more than 2 axes"):
        LowRankDense(units=3, rank=1, input_axes=2)(np.ones((4, 5), "float32"))
