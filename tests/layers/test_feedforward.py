import numpy as np
import pytest
from helpers import assert_round_trip, count_params, to_numpy
from references import reference_feedforward
from zoo.layers import FeedForward


@pytest.mark.parametrize("activation", ["relu", "gelu", "swiglu"])
def test_matches_numpy_reference_and_counts_weights(activation):
    ffn = FeedForward(intermediate_dim=12, activation=activation)
    x = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
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
