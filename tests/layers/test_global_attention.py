"""GlobalAttention: both scores against NumPy, padding, precomputed keys, round trip."""

import numpy as np
import pytest

from helpers import assert_round_trip, count_params, softmax, to_numpy
from zoo.layers import GlobalAttention

RNG = np.random.default_rng(0)


def random(*shape):
    return RNG.normal(size=shape).astype("float32")


def reference(layer, query, values, padding_mask):
    """Luong et al. (2015) eqs. 5-8 written out in NumPy from the layer's weights."""
    key_kernel = to_numpy(layer.key_dense.kernel)
    if layer.score == "general":
        scores = np.einsum("btd,bsd->bts", query, values @ key_kernel)  # h_t^T W_a a_s
    else:
        hidden = np.tanh((query @ to_numpy(layer.query_dense.kernel))[:, :, None] + (values @ key_kernel)[:, None])
        scores = hidden @ to_numpy(layer.score_vector)  # v^T tanh(W_q h_t + W_k a_s)
    scores = np.where(padding_mask[:, None, :], scores, -np.inf)
    weights = softmax(scores)
    context = weights @ values
    output = np.tanh(np.concatenate([context, query], -1) @ to_numpy(layer.output_dense.kernel))
    return output, weights


@pytest.mark.parametrize("score", ["general", "additive"])
def test_matches_numpy_reference_with_padding(score):
    layer = GlobalAttention(6, score=score)
    query, values = random(2, 3, 4), random(2, 5, 7)
    padding = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
    output, weights = layer(query, values, padding_mask=padding, return_attention_weights=True)
    expected, expected_weights = reference(layer, query, values, padding)
    np.testing.assert_allclose(to_numpy(output), expected, atol=1e-5)
    np.testing.assert_allclose(to_numpy(weights), expected_weights, atol=1e-6)
    assert output.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    np.testing.assert_allclose(to_numpy(weights).sum(-1), 1.0, atol=1e-6)
    assert (to_numpy(weights)[1, :, 2:] == 0).all()  # exactly zero on padding


@pytest.mark.parametrize("score,expected", [("general", 4 * 7 + 11 * 6), ("additive", 7 * 6 + 4 * 6 + 6 + 11 * 6)])
def test_weight_count(score, expected):
    layer = GlobalAttention(6, score=score)
    layer(random(1, 2, 4), random(1, 3, 7))
    assert count_params(layer) == expected


@pytest.mark.parametrize("score", ["general", "additive"])
def test_padded_values_change_nothing_and_precomputed_keys_agree(score):
    layer = GlobalAttention(8, score=score)
    query, values = random(2, 4, 8), random(2, 6, 8)
    padding = np.array([[1] * 6, [1] * 3 + [0] * 3], bool)
    output = to_numpy(layer(query, values, padding_mask=padding))
    changed = values.copy()
    changed[1, 3:] = random(3, 8)
    np.testing.assert_array_equal(to_numpy(layer(query, changed, padding_mask=padding))[1], output[1])
    keys = layer.project_keys(values)
    np.testing.assert_allclose(to_numpy(layer(query, values, padding_mask=padding, keys=keys)), output, atol=1e-6)
    # Each query is independent: one position alone gives the same output (step decoding).
    np.testing.assert_allclose(to_numpy(layer(query[:, 2:3], values, padding_mask=padding)), output[:, 2:3], atol=1e-6)


@pytest.mark.parametrize("score", ["general", "additive"])
def test_round_trip(score, tmp_path):
    layer = GlobalAttention(8, score=score)
    tensors = {
        "query": random(2, 3, 8),
        "values": random(2, 5, 8),
        "padding_mask": np.array([[1] * 5, [1, 1, 0, 0, 0]], "int32"),
    }
    assert_round_trip(layer, tensors, tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="score must be one of"):
        GlobalAttention(8, score="dot")
    with pytest.raises(ValueError, match="units must be a positive integer. Received: units=0"):
        GlobalAttention(0)
