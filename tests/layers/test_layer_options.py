"""The structural options checkpoint families need: new activations, per-projection biases,
RMSNorm blocks, the RoPE base; and defaults that keep today's weights and configs."""

import math

import numpy as np
import pytest

from helpers import assert_round_trip, randomize_weights, to_numpy
from zoo.layers import FeedForward, MultiHeadAttention, TransformerDecoder, TransformerEncoder

RNG = np.random.default_rng(0)


def random(*shape):
    return RNG.normal(size=shape).astype("float32")


def weight_paths(layer):
    return sorted(w.path.split("/", 1)[1] for w in layer.weights)


# === FeedForward ===


def gelu_tanh(x):
    """Hendrycks & Gimpel (2016), the tanh approximation (GPT-2's gelu_new)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


@pytest.mark.parametrize("activation,function", [("gelu_approximate", gelu_tanh), ("silu", silu)])
def test_new_feedforward_activations_match_their_formulas(activation, function):
    ffn = FeedForward(intermediate_dim=12, activation=activation)
    x = random(2, 3, 5) * 2.0
    ffn(x)
    randomize_weights(ffn, seed=1)
    w1, b1 = to_numpy(ffn.intermediate_dense.kernel), to_numpy(ffn.intermediate_dense.bias)
    w2, b2 = to_numpy(ffn.output_dense.kernel), to_numpy(ffn.output_dense.bias)
    expected = function(x @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(to_numpy(ffn(x)), expected, atol=1e-5)
    assert ffn.gate_dense is None


def test_gelu_approximate_differs_from_exact_gelu():
    x = random(1, 4, 6) * 3.0
    exact = FeedForward(8, activation="gelu")
    approximate = FeedForward(8, activation="gelu_approximate")
    exact(x), approximate(x)
    approximate.set_weights(exact.get_weights())
    difference = np.abs(to_numpy(exact(x)) - to_numpy(approximate(x))).max()
    assert 1e-5 < difference < 0.1


# === Attention biases ===


def reference_attention(layer, x, use_qkv_bias, use_output_bias):
    """Causal self-attention from the layer's kernels; biases added only where configured."""

    def project(dense):
        bias = to_numpy(dense.bias) if use_qkv_bias else 0.0
        return np.einsum("btd,dnh->btnh", x, to_numpy(dense.kernel)) + bias

    q, k, v = project(layer.query_dense), project(layer.key_dense), project(layer.value_dense)
    logits = np.einsum("btnh,bsnh->bnts", q, k) / math.sqrt(q.shape[-1])
    logits = np.where(np.tril(np.ones(logits.shape[-2:], bool)), logits, -np.inf)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    heads = np.einsum("bnts,bsnh->btnh", probs, v)
    out = np.einsum("btnh,nhd->btd", heads, to_numpy(layer.output_dense.kernel))
    return out + (to_numpy(layer.output_dense.bias) if use_output_bias else 0.0)


@pytest.mark.parametrize(
    "use_bias,use_output_bias,expected_biases",
    [
        (True, None, ["attention_output/bias", "key/bias", "query/bias", "value/bias"]),  # GPT-2
        (False, None, []),  # LLaMA
        (True, False, ["key/bias", "query/bias", "value/bias"]),  # Qwen2
        (False, True, ["attention_output/bias"]),
    ],
)
def test_output_bias_is_separate_from_the_qkv_biases(use_bias, use_output_bias, expected_biases):
    layer = MultiHeadAttention(num_heads=2, key_dim=4, use_bias=use_bias, use_output_bias=use_output_bias)
    x = random(2, 5, 8)
    layer(x)
    randomize_weights(layer, seed=2)
    biases = [path for path in weight_paths(layer) if path.endswith("bias")]
    assert biases == expected_biases
    output_bias = use_bias if use_output_bias is None else use_output_bias
    expected = reference_attention(layer, x, use_bias, output_bias)
    np.testing.assert_allclose(to_numpy(layer(x, use_causal_mask=True)), expected, atol=1e-5)


def test_attention_round_trips_its_output_bias(tmp_path):
    layer = MultiHeadAttention(num_heads=2, key_dim=4, use_output_bias=False)
    assert_round_trip(layer, {"query": random(2, 3, 8)}, tmp_path)


# === Blocks ===

ATTENTIONS = ("self_attention", "cross_attention")
PROJECTIONS = ("query", "key", "value", "attention_output")
NORMS = ("self_attention_norm", "cross_attention_norm", "feedforward_norm")
DEFAULT_DECODER_WEIGHTS = sorted(
    [f"{a}/{p}/{kind}" for a in ATTENTIONS for p in PROJECTIONS for kind in ("kernel", "bias")]
    + [f"feedforward/{p}/{kind}" for p in ("intermediate", "output") for kind in ("kernel", "bias")]
    + [f"{norm}/{kind}" for norm in NORMS for kind in ("gamma", "beta")]
)


def test_default_blocks_keep_todays_weight_names():
    decoder = TransformerDecoder(num_heads=2, intermediate_dim=8, use_cross_attention=True)
    decoder(random(1, 3, 8), random(1, 4, 8))
    assert weight_paths(decoder) == DEFAULT_DECODER_WEIGHTS


def test_block_options_choose_norms_and_biases():
    decoder = TransformerDecoder(
        num_heads=2,
        intermediate_dim=8,
        use_cross_attention=True,
        norm_type="rms_norm",
        use_attention_bias=True,
        use_attention_output_bias=False,
        use_mlp_bias=False,
        activation="swiglu",
    )
    decoder(random(1, 3, 8), random(1, 4, 8))
    paths = weight_paths(decoder)
    assert [p for p in paths if p.endswith("bias")] == [
        f"{sublayer}/{name}/bias"
        for sublayer in ("cross_attention", "self_attention")
        for name in ("key", "query", "value")
    ]
    assert [p for p in paths if "norm" in p] == [
        "cross_attention_norm/scale",
        "feedforward_norm/scale",
        "self_attention_norm/scale",
    ]
    with pytest.raises(ValueError, match="Received: norm_type='batch_norm'"):
        TransformerEncoder(num_heads=2, intermediate_dim=8, norm_type="batch_norm")


def rms(x, scale, epsilon):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + epsilon) * scale


def rotate_half(x, theta):
    """RoPE on (B, T, H, D): pairs (j, j + D/2) turned by t / theta^(2j/D)."""
    half = x.shape[-1] // 2
    angles = np.arange(x.shape[1])[:, None] / theta ** (2.0 * np.arange(half) / x.shape[-1])
    cos, sin = np.cos(angles)[None, :, None], np.sin(angles)[None, :, None]
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)


@pytest.mark.parametrize("theta", [10000.0, 500.0])
def test_llama_style_encoder_block_matches_reference(theta):
    """Pre-RMSNorm, rotary with base `theta`, bias-free swiglu: LLaMA's block (bidirectional)."""
    block = TransformerEncoder(
        num_heads=2,
        intermediate_dim=12,
        normalize_first=True,
        norm_type="rms_norm",
        layer_norm_epsilon=1e-6,
        use_rotary=True,
        rotary_max_wavelength=theta,
        use_attention_bias=False,
        use_mlp_bias=False,
        activation="swiglu",
    )
    inputs = random(2, 5, 8)
    block(inputs)
    randomize_weights(block, seed=4, scale=0.3)
    attention, ffn = block.self_attention, block.feedforward

    h = rms(inputs, to_numpy(block.self_attention_norm.scale), 1e-6)
    q = rotate_half(np.einsum("btd,dnh->btnh", h, to_numpy(attention.query_dense.kernel)), theta)
    k = rotate_half(np.einsum("btd,dnh->btnh", h, to_numpy(attention.key_dense.kernel)), theta)
    v = np.einsum("btd,dnh->btnh", h, to_numpy(attention.value_dense.kernel))
    logits = np.einsum("btnh,bsnh->bnts", q, k) / 2.0  # sqrt(head_dim = 4)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    heads = np.einsum("bnts,bsnh->btnh", probs, v)
    x = inputs + np.einsum("btnh,nhd->btd", heads, to_numpy(attention.output_dense.kernel))
    h = rms(x, to_numpy(block.feedforward_norm.scale), 1e-6)
    gate = h @ to_numpy(ffn.gate_dense.kernel)
    hidden = silu(gate) * (h @ to_numpy(ffn.intermediate_dense.kernel))
    expected = x + hidden @ to_numpy(ffn.output_dense.kernel)
    np.testing.assert_allclose(to_numpy(block(inputs)), expected, atol=1e-5)


def test_old_block_configs_without_the_new_keys_load_unchanged(tmp_path):
    block = TransformerDecoder(num_heads=2, intermediate_dim=8, normalize_first=True)
    x = random(2, 4, 8)
    block(x)
    randomize_weights(block, seed=5)
    expected = to_numpy(block(x))
    config = block.get_config()
    for key in (
        "norm_type",
        "use_attention_bias",
        "use_attention_output_bias",
        "use_mlp_bias",
        "rotary_max_wavelength",
    ):
        config.pop(key)
    clone = TransformerDecoder.from_config(config)
    clone(x)
    assert weight_paths(clone) == weight_paths(block)
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), expected, atol=1e-6)
    assert_round_trip(block, {"decoder_sequence": x}, tmp_path)
