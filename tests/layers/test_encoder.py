import numpy as np
import pytest
from references import reference_encoder

from helpers import assert_round_trip, count_params, randomize_weights, to_numpy
from zoo.layers import TransformerEncoder

RNG = np.random.default_rng(0)
PADDING = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)


def random(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_matches_numpy_reference(normalize_first, activation):
    encoder = TransformerEncoder(
        num_heads=2, intermediate_dim=12, activation=activation, normalize_first=normalize_first
    )
    x = random(2, 5, 8)
    encoder(x)  # build
    randomize_weights(encoder, seed=1)  # biases, LayerNorm gamma and beta away from 0 / 1
    out = to_numpy(encoder(x, padding_mask=PADDING))
    expected = reference_encoder(encoder, x, np.broadcast_to(PADDING[:, None, :], (2, 5, 5)))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_padding_invariance():
    encoder = TransformerEncoder(num_heads=2, intermediate_dim=16)
    x = random(2, 5, 8)
    changed = x.copy()
    changed[1, 3:] = random(2, 8) * 10
    a = to_numpy(encoder(x, padding_mask=PADDING))
    b = to_numpy(encoder(changed, padding_mask=PADDING))
    np.testing.assert_allclose(a[1, :3], b[1, :3], atol=1e-5)
    np.testing.assert_allclose(a[0], b[0], atol=1e-6)


def test_attention_mask_can_make_it_causal():
    encoder = TransformerEncoder(num_heads=2, intermediate_dim=16)
    x = random(1, 5, 8)
    causal = np.tril(np.ones((1, 5, 5), bool))
    changed = x.copy()
    changed[:, 4] += 3.0
    a = to_numpy(encoder(x, attention_mask=causal))
    b = to_numpy(encoder(changed, attention_mask=causal))
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-5)


def test_shapes_weight_count_and_scores():
    encoder = TransformerEncoder(num_heads=4, intermediate_dim=64)
    out, scores = encoder(random(3, 7, 32), return_attention_scores=True)
    assert out.shape == (3, 7, 32)
    assert scores.shape == (3, 4, 7, 7)
    np.testing.assert_allclose(to_numpy(scores).sum(-1), 1.0, atol=1e-5)
    attention = 4 * (32 * 32 + 32)
    feedforward = 32 * 64 + 64 + 64 * 32 + 32
    norms = 2 * 2 * 32
    assert count_params(encoder) == attention + feedforward + norms


def test_grouped_query_and_rotary_variant_counts():
    encoder = TransformerEncoder(num_heads=4, intermediate_dim=8, num_key_value_heads=2, use_rotary=True)
    encoder(random(1, 3, 16))
    attention = 2 * (16 * 16 + 16) + 2 * (16 * 8 + 8)
    assert count_params(encoder) == attention + (16 * 8 + 8 + 8 * 16 + 16) + 4 * 16


def test_dropout_is_inactive_at_inference():
    encoder = TransformerEncoder(num_heads=2, intermediate_dim=16, dropout=0.3)
    x = random(2, 5, 8)
    np.testing.assert_allclose(to_numpy(encoder(x)), to_numpy(encoder(x, training=False)))
    assert not np.allclose(to_numpy(encoder(x, training=True)), to_numpy(encoder(x)))


def test_round_trip(tmp_path):
    encoder = TransformerEncoder(num_heads=2, intermediate_dim=16, normalize_first=True, activation="swiglu")
    tensors = {"inputs": random(2, 5, 8), "padding_mask": PADDING.astype("int32")}
    assert_round_trip(encoder, tensors, tmp_path)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="num_heads must divide hidden_dim; received hidden_dim=10, num_heads=4"):
        TransformerEncoder(num_heads=4, intermediate_dim=8)(random(1, 2, 10))
    with pytest.raises(ValueError, match="activation must be one of"):
        TransformerEncoder(num_heads=2, intermediate_dim=8, activation="elu")
    with pytest.raises(ValueError, match="dropout must be in"):
        TransformerEncoder(num_heads=2, intermediate_dim=8, dropout=-0.1)


def test_projection_and_ffn_ranks_with_layer_ranks(tmp_path):
    encoder = TransformerEncoder(
        num_heads=2,
        intermediate_dim=16,
        activation="swiglu",
        projection_rank={"query": 2, "key": 2},
        ffn_rank=3,
        layer_ranks={"self_attention/key": None, "feedforward/gate": 1},
    )
    x = np.random.default_rng(5).normal(size=(2, 4, 8)).astype("float32")
    encoder(x)
    shapes = {w.path.split("/", 1)[1]: tuple(w.shape) for w in encoder.weights}
    assert shapes["self_attention/query/u_kernel"] == (8, 2)
    assert shapes["self_attention/key/kernel"] == (8, 2, 4)
    assert shapes["self_attention/value/kernel"] == (8, 2, 4)
    assert shapes["feedforward/intermediate/u_kernel"] == (8, 3)
    assert shapes["feedforward/gate/u_kernel"] == (8, 1)
    assert shapes["feedforward/output/u_kernel"] == (16, 3)
    assert_round_trip(encoder, {"inputs": x, "padding_mask": np.ones((2, 4), "int32")}, tmp_path)
    with pytest.raises(ValueError, match="unknown layer_ranks keys \\['cross_attention/query'\\]"):
        TransformerEncoder(num_heads=2, intermediate_dim=8, layer_ranks={"cross_attention/query": 2})
