import keras
import numpy as np
import pytest
from references import reference_attention

from helpers import assert_round_trip, count_params, randomize_weights, to_numpy
from zoo.layers import MultiHeadAttention

RNG = np.random.default_rng(0)


def random(*shape):
    return RNG.normal(size=shape).astype("float32")


def built(layer, *inputs):
    """`layer`, built by one call on `inputs`."""
    layer(*inputs)
    return layer


@pytest.mark.parametrize("num_key_value_heads", [None, 2, 1])
def test_matches_numpy_reference_with_padding_and_causal_masks(num_key_value_heads):
    layer = MultiHeadAttention(num_heads=4, key_dim=8, num_key_value_heads=num_key_value_heads)
    x = random(2, 6, 16)
    padding = np.array([[1] * 6, [1] * 4 + [0] * 2], bool)
    randomize_weights(built(layer, x), seed=1)  # non-zero biases: a dropped one fails
    out = to_numpy(layer(x, padding_mask=padding, use_causal_mask=True))
    mask = padding[:, None, :] & np.tril(np.ones((6, 6), bool))[None]
    expected, _ = reference_attention(layer, x, x, mask)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_cross_attention_matches_reference_and_attention_mask():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, value_dim=4)
    query, memory = random(2, 3, 8), random(2, 5, 8)
    randomize_weights(built(layer, query, memory), seed=2)
    attention_mask = RNG.random((2, 3, 5)) > 0.3
    attention_mask[..., 0] = True  # every query sees at least one key
    out, scores = layer(query, memory, attention_mask=attention_mask, return_attention_scores=True)
    expected, probs = reference_attention(layer, query, memory, attention_mask)
    np.testing.assert_allclose(to_numpy(out), expected, atol=1e-5)
    np.testing.assert_allclose(to_numpy(scores), probs, atol=1e-6)
    assert scores.shape == (2, 2, 3, 5)


def test_rotary_attention_matches_reference():
    layer = MultiHeadAttention(num_heads=2, key_dim=8, use_rotary=True)
    x = random(1, 5, 16)
    randomize_weights(built(layer, x), seed=3)
    out = to_numpy(layer(x, use_causal_mask=True))
    expected, _ = reference_attention(layer, x, x, np.tril(np.ones((1, 5, 5), bool)), rotary_start=0)
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("num_key_value_heads", [4, 2, 1])
def test_fused_and_explicit_implementations_agree(num_key_value_heads):
    layers = {
        name: MultiHeadAttention(
            num_heads=4, key_dim=4, num_key_value_heads=num_key_value_heads, attention_implementation=name
        )
        for name in ("fused", "explicit", "auto")
    }
    x = random(2, 5, 16)
    padding = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    randomize_weights(built(layers["fused"], x), seed=4)
    for layer in layers.values():
        layer(x)
        layer.set_weights(layers["fused"].get_weights())
    outputs = {name: to_numpy(layer(x, padding_mask=padding, use_causal_mask=True)) for name, layer in layers.items()}
    mask = padding[:, None, :] & np.tril(np.ones((5, 5), bool))[None]
    expected, _ = reference_attention(layers["fused"], x, x, mask)
    for name, output in outputs.items():
        np.testing.assert_allclose(output, expected, atol=1e-5, err_msg=name)


def test_padding_invariance():
    layer = MultiHeadAttention(num_heads=2, key_dim=8)
    x = random(1, 6, 16)
    padding = np.array([[1, 1, 1, 1, 0, 0]], bool)
    changed = x.copy()
    changed[:, 4:] = random(1, 2, 16) * 10
    a = to_numpy(layer(x, padding_mask=padding))
    b = to_numpy(layer(changed, padding_mask=padding))
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-5)


def test_causality():
    layer = MultiHeadAttention(num_heads=2, key_dim=8, use_rotary=True)
    x = random(1, 6, 16)
    changed = x.copy()
    changed[:, 3] += 5.0
    a = to_numpy(layer(x, use_causal_mask=True))
    b = to_numpy(layer(changed, use_causal_mask=True))
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not np.allclose(a[:, 3:], b[:, 3:])


@pytest.mark.parametrize("use_rotary,num_key_value_heads", [(False, None), (True, 2)])
def test_cached_decoding_equals_full_forward(use_rotary, num_key_value_heads):
    layer = MultiHeadAttention(num_heads=4, key_dim=4, num_key_value_heads=num_key_value_heads, use_rotary=use_rotary)
    x = random(2, 7, 16)
    full = to_numpy(layer(x, use_causal_mask=True))
    kv_heads = num_key_value_heads or 4
    cache = keras.ops.zeros((2, 2, 7, kv_heads, 4))
    # Prefill three tokens at once, then one token per step.
    out, cache = layer(x[:, :3], cache=cache, cache_index=0, use_causal_mask=True)
    steps = [to_numpy(out)]
    for t in range(3, 7):
        out, cache = layer(x[:, t : t + 1], cache=cache, cache_index=t, use_causal_mask=True)
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    assert cache.shape == (2, 2, 7, kv_heads, 4)


def test_precomputed_cross_attention_cache_equals_direct():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    query, memory = random(2, 3, 8), random(2, 5, 8)
    padding = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
    direct = to_numpy(layer(query, memory, padding_mask=padding))
    cache = layer.compute_key_value(memory)
    assert cache.shape == (2, 2, 5, 2, 4)
    cached, same_cache = layer(query, cache=cache, padding_mask=padding)
    np.testing.assert_allclose(to_numpy(cached), direct, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(same_cache), to_numpy(cache))


def test_fully_masked_rows_stay_finite():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    out = layer(random(1, 3, 8), padding_mask=np.zeros((1, 3), bool))
    assert np.isfinite(to_numpy(out)).all()


def test_weight_counts():
    x = random(1, 2, 32)
    standard = MultiHeadAttention(num_heads=4, key_dim=8)
    standard(x)
    assert count_params(standard) == 4 * (32 * 32 + 32)
    grouped = MultiHeadAttention(num_heads=4, key_dim=8, num_key_value_heads=1)
    grouped(x)
    # Query and output: 32x32 + 32 each; key and value: 32x8 + 8 each.
    assert count_params(grouped) == 2 * (32 * 32 + 32) + 2 * (32 * 8 + 8)
    no_bias = MultiHeadAttention(num_heads=4, key_dim=8, use_bias=False, output_dim=16)
    no_bias(x)
    assert count_params(no_bias) == 3 * 32 * 32 + 32 * 16


def test_dropout_only_in_training():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    x = random(1, 4, 8)
    np.testing.assert_allclose(to_numpy(layer(x)), to_numpy(layer(x, training=False)))
    assert not np.allclose(to_numpy(layer(x, training=True)), to_numpy(layer(x)))


def test_round_trip(tmp_path):
    layer = MultiHeadAttention(num_heads=4, key_dim=4, num_key_value_heads=2, use_rotary=True, dropout=0.1)
    tensors = {"query": random(2, 5, 16), "padding_mask": np.array([[1] * 5, [1, 1, 1, 0, 0]], "int32")}
    assert_round_trip(layer, tensors, tmp_path, static={"use_causal_mask": True})


def test_cross_attention_round_trip(tmp_path):
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    assert_round_trip(layer, {"query": random(2, 3, 8), "value": random(2, 6, 12)}, tmp_path)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"num_heads": 0, "key_dim": 4}, "num_heads must be a positive integer"),
        ({"num_heads": 4, "key_dim": 4, "num_key_value_heads": 3}, "num_key_value_heads must divide"),
        ({"num_heads": 4, "key_dim": 4, "dropout": 1.0}, "dropout must be in"),
        ({"num_heads": 4, "key_dim": 5, "use_rotary": True}, "even key_dim"),
        (
            {"num_heads": 4, "key_dim": 4, "attention_implementation": "flash"},
            "attention_implementation must be one of",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(**kwargs)


def dense_equivalent(layer):
    """The layer's projections as plain `(kernel, bias)` holders with EinsumDense-shaped kernels."""
    from types import SimpleNamespace

    def as_dense(dense, kernel_shape):
        if not hasattr(dense, "u_kernel"):
            return dense
        kernel = (to_numpy(dense.u_kernel) @ to_numpy(dense.v_kernel)).reshape(kernel_shape)
        return SimpleNamespace(kernel=kernel, bias=to_numpy(dense.bias))

    d, n, kv, h = layer.query_dense.u_kernel.shape[0], layer.num_heads, layer.num_key_value_heads, layer.key_dim
    return SimpleNamespace(
        num_heads=n,
        num_key_value_heads=kv,
        query_dense=as_dense(layer.query_dense, (d, n, h)),
        key_dense=as_dense(layer.key_dense, (d, kv, h)),
        value_dense=as_dense(layer.value_dense, (d, kv, h)),
        output_dense=as_dense(layer.output_dense, (n, h, -1)),
    )


@pytest.mark.parametrize("num_key_value_heads", [None, 2])
def test_low_rank_projections_match_the_reference_of_their_product_kernels(num_key_value_heads):
    layer = MultiHeadAttention(
        num_heads=4,
        key_dim=4,
        num_key_value_heads=num_key_value_heads,
        projection_rank=3,
        bias_initializer="random_normal",
    )
    x = random(2, 6, 16)
    padding = np.array([[1] * 6, [1] * 4 + [0] * 2], bool)
    randomize_weights(built(layer, x), seed=5)
    out = to_numpy(layer(x, padding_mask=padding, use_causal_mask=True))
    mask = padding[:, None, :] & np.tril(np.ones((6, 6), bool))[None]
    expected, _ = reference_attention(dense_equivalent(layer), x, x, mask)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    kv = (num_key_value_heads or 4) * 4
    # query and output 16x16, key and value 16 x kv, each as rank 3 factors, biases as before.
    assert count_params(layer) == 2 * 3 * (16 + 16) + 2 * 3 * (16 + kv) + 16 + 2 * kv + 16
    paths = {w.path.split("/", 1)[1] for w in layer.weights}
    assert {"query/u_kernel", "query/v_kernel", "query/bias", "attention_output/u_kernel"} <= paths


def test_projection_rank_dict_keeps_the_others_dense_with_their_names():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, projection_rank={"value": 2, "attention_output": 1, "key": None})
    layer(random(1, 3, 8))
    kinds = {w.path.split("/", 1)[1]: tuple(w.shape) for w in layer.weights}
    assert kinds["query/kernel"] == (8, 2, 4) and kinds["key/kernel"] == (8, 2, 4)
    assert kinds["value/u_kernel"] == (8, 2) and kinds["value/v_kernel"] == (2, 8) and kinds["value/bias"] == (2, 4)
    assert kinds["attention_output/u_kernel"] == (8, 1) and kinds["attention_output/bias"] == (8,)


@pytest.mark.parametrize("use_rotary", [False, True])
def test_low_rank_cached_decoding_equals_full_forward(use_rotary):
    layer = MultiHeadAttention(num_heads=2, key_dim=4, use_rotary=use_rotary, projection_rank=2)
    x = random(2, 5, 8)
    full = to_numpy(layer(x, use_causal_mask=True))
    cache = keras.ops.zeros((2, 2, 5, 2, 4))
    steps = []
    for t in range(5):
        out, cache = layer(x[:, t : t + 1], cache=cache, cache_index=t, use_causal_mask=True)
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_low_rank_round_trip(tmp_path):
    layer = MultiHeadAttention(num_heads=2, key_dim=4, projection_rank={"query": 2, "attention_output": 3})
    assert_round_trip(layer, {"query": random(2, 3, 8), "value": random(2, 6, 12)}, tmp_path)
    assert MultiHeadAttention.from_config(layer.get_config()).projection_rank == {"query": 2, "attention_output": 3}


@pytest.mark.parametrize(
    "rank,message",
    [
        (0, "projection_rank must be None, a positive integer"),
        ({"query": -1}, "projection_rank must be None"),
        ({"q": 2}, "unknown projection_rank keys \\['q'\\]"),
        ("8", "projection_rank must be None"),
    ],
)
def test_bad_projection_rank_is_named(rank, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(num_heads=2, key_dim=4, projection_rank=rank)


def test_projections_start_with_different_kernels():
    # One unseeded Keras initializer instance reused for several weights gives
    # them identical values; every projection must draw its own.
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    layer.build((None, 5, 8))
    query, key, value = (to_numpy(d.kernel) for d in (layer.query_dense, layer.key_dense, layer.value_dense))
    assert not np.allclose(query, key) and not np.allclose(query, value) and not np.allclose(key, value)
    ranked = MultiHeadAttention(num_heads=2, key_dim=4, projection_rank=2)
    ranked.build((None, 5, 8))
    assert not np.allclose(to_numpy(ranked.query_dense.u_kernel), to_numpy(ranked.key_dense.u_kernel))
