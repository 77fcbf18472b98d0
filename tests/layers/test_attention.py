import keras
import numpy as np
import pytest

from helpers import assert_round_trip, count_params, to_numpy
from references import reference_attention
from zoo.layers import MultiHeadAttention

RNG = np.random.default_rng(0)


def random(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize("num_key_value_heads", [None, 2, 1])
def test_matches_numpy_reference_with_padding_and_causal_masks(num_key_value_heads):
    layer = MultiHeadAttention(num_heads=4, key_dim=8, num_key_value_heads=num_key_value_heads)
    x = random(2, 6, 16)
    padding = np.array([[1] * 6, [1] * 4 + [0] * 2], bool)
    out = to_numpy(layer(x, padding_mask=padding, use_causal_mask=True))
    mask = padding[:, None, :] & np.tril(np.ones((6, 6), bool))[None]
    expected, _ = reference_attention(layer, x, x, mask)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_cross_attention_matches_reference_and_attention_mask():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, value_dim=4)
    query, memory = random(2, 3, 8), random(2, 5, 8)
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
    layer = MultiHeadAttention(
        num_heads=4, key_dim=4, num_key_value_heads=num_key_value_heads, use_rotary=use_rotary
    )
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
        ({"num_heads": 4, "key_dim": 4, "attention_implementation": "flash"}, "attention_implementation must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(**kwargs)
