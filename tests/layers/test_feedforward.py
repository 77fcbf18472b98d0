import numpy as np
import pytest
from references import reference_feedforward

from helpers import assert_round_trip, count_params, randomize_weights, to_numpy
from zoo.layers import FeedForward


@pytest.mark.parametrize("activation", ["relu", "gelu", "swiglu"])
def test_matches_numpy_reference_and_counts_weights(activation):
    ffn = FeedForward(intermediate_dim=12, activation=activation)
    x = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    ffn(x)  # build
    randomize_weights(ffn, seed=1)  # non-zero biases: a dropped one fails
    np.testing.assert_allclose(to_numpy(ffn(x)), reference_feedforward(ffn, x), atol=1e-5)
    matrices = 3 if activation == "swiglu" else 2
    expected = (matrices - 1) * (5 * 12 + 12) + (12 * 5 + 5)
    assert count_params(ffn) == expected


def test_output_dim_and_round_trip(tmp_path):
    ffn = FeedForward(intermediate_dim=8, activation="swiglu", output_dim=3, dropout=0.1)
    x = np.random.default_rng(0).normal(size=(2, 4, 6)).astype("float32")
    assert ffn(x).shape == (2, 4, 3)
    assert_round_trip(ffn, {"inputs": x}, tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        FeedForward(8, activation="tanh")
    with pytest.raises(ValueError, match="intermediate_dim must be a positive integer"):
        FeedForward(0)


def product_kernel(dense):
    return to_numpy(dense.u_kernel) @ to_numpy(dense.v_kernel)


def test_low_rank_feedforward_matches_numpy_with_product_kernels(tmp_path):
    from scipy.special import expit

    ffn = FeedForward(intermediate_dim=12, activation="swiglu", ffn_rank={"intermediate": 2, "gate": 3})
    x = np.random.default_rng(1).normal(size=(2, 3, 5)).astype("float32")
    ffn(x)  # build
    randomize_weights(ffn, seed=2)
    out = to_numpy(ffn(x))
    hidden = x @ product_kernel(ffn.intermediate_dense) + to_numpy(ffn.intermediate_dense.bias)
    gate = x @ product_kernel(ffn.gate_dense) + to_numpy(ffn.gate_dense.bias)
    expected = (gate * expit(gate) * hidden) @ to_numpy(ffn.output_dense.kernel) + to_numpy(ffn.output_dense.bias)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # intermediate: rank 2, gate: rank 3 (5 -> 12 each), output dense 12 -> 5.
    assert count_params(ffn) == 2 * (5 + 12) + 12 + 3 * (5 + 12) + 12 + 12 * 5 + 5
    assert [w.path.split("/", 1)[1] for w in ffn.weights][:3] == [
        "intermediate/u_kernel",
        "intermediate/v_kernel",
        "intermediate/bias",
    ]
    assert_round_trip(ffn, {"inputs": x}, tmp_path)


def test_bad_ffn_rank():
    with pytest.raises(ValueError, match="ffn_rank must be None, a positive integer"):
        FeedForward(8, ffn_rank=0)
    with pytest.raises(ValueError, match="unknown ffn_rank keys \\['hidden'\\]"):
        FeedForward(8, ffn_rank={"hidden": 2})
    with pytest.raises(ValueError, match="only swiglu has a gate"):
        FeedForward(8, activation="relu", ffn_rank={"gate": 2})
