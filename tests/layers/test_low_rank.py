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
