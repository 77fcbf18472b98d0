"""Independent NumPy references for the layer tests (written from the papers, not from zoo)."""

import math

import numpy as np

from helpers import softmax, to_numpy


def reference_sinusoidal(length, dim, start=0, max_wavelength=10000.0):
    """Section 3.5 of "Attention Is All You Need", written out with loops."""
    table = np.zeros((length, dim))
    for pos in range(length):
        for k in range(dim):
            i = k // 2
            angle = (start + pos) / max_wavelength ** (2 * i / dim)
            table[pos, k] = math.sin(angle) if k % 2 == 0 else math.cos(angle)
    return table


def reference_rotary(x, start=0, base=10000.0):
    """RoPE as complex multiplication: z_j = x_j + i x_{j+D/2}, times exp(i pos theta_j)."""
    half = x.shape[-1] // 2
    z = x[..., :half] + 1j * x[..., half:]
    positions = start + np.arange(x.shape[1])
    theta = base ** (-2.0 * np.arange(half) / x.shape[-1])
    rotation = np.exp(1j * positions[:, None] * theta[None, :])  # (T, D/2)
    rotation = rotation.reshape((1, x.shape[1]) + (1,) * (x.ndim - 3) + (half,))
    z = z * rotation
    return np.concatenate([z.real, z.imag], axis=-1)


def reference_attention(layer, query, value, mask, rotary_start=None):
    """Independent NumPy multi-head attention from the layer's weights."""

    def project(dense, x):
        kernel = to_numpy(dense.kernel)  # (D, heads, head_dim)
        return np.einsum("btd,dnh->btnh", x, kernel) + to_numpy(dense.bias)

    q, k, v = project(layer.query_dense, query), project(layer.key_dense, value), project(layer.value_dense, value)
    if rotary_start is not None:
        q, k = reference_rotary(q, rotary_start), reference_rotary(k, rotary_start)
    groups = layer.num_heads // layer.num_key_value_heads
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(mask[:, None], logits, -np.inf)
    probs = softmax(logits)
    heads = np.einsum("bnts,bsnh->btnh", probs, v)
    out = np.einsum("btnh,nhd->btd", heads, to_numpy(layer.output_dense.kernel))
    return out + to_numpy(layer.output_dense.bias), probs


def reference_dense(layer, x):
    return x @ to_numpy(layer.kernel) + to_numpy(layer.bias)


def reference_feedforward(ffn, x):
    from scipy.special import erf

    hidden = reference_dense(ffn.intermediate_dense, x)
    if ffn.activation == "relu":
        hidden = np.maximum(hidden, 0)
    elif ffn.activation == "gelu":
        hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
    else:
        gate = reference_dense(ffn.gate_dense, x)
        hidden = gate / (1 + np.exp(-gate)) * hidden
    return reference_dense(ffn.output_dense, hidden)


def reference_layer_norm(norm, x):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    normalized = (x - mean) / np.sqrt(var + norm.epsilon)
    return normalized * to_numpy(norm.gamma) + to_numpy(norm.beta)


def reference_residual(block, norm, sublayer, x):
    """Post-LN `norm(x + f(x))` or pre-LN `x + f(norm(x))`."""
    if block.normalize_first:
        return x + sublayer(reference_layer_norm(norm, x))
    return reference_layer_norm(norm, x + sublayer(x))


def reference_encoder(encoder, x, mask):
    attend = lambda h: reference_attention(encoder.self_attention, h, h, mask)[0]  # noqa: E731
    hidden = reference_residual(encoder, encoder.self_attention_norm, attend, x)
    ffn = lambda h: reference_feedforward(encoder.feedforward, h)  # noqa: E731
    return reference_residual(encoder, encoder.feedforward_norm, ffn, hidden)


def reference_decoder(decoder, x, memory, self_mask, cross_mask):
    attend = lambda h: reference_attention(decoder.self_attention, h, h, self_mask)[0]  # noqa: E731
    hidden = reference_residual(decoder, decoder.self_attention_norm, attend, x)
    if decoder.use_cross_attention:
        cross = lambda h: reference_attention(decoder.cross_attention, h, memory, cross_mask)[0]  # noqa: E731
        hidden = reference_residual(decoder, decoder.cross_attention_norm, cross, hidden)
    ffn = lambda h: reference_feedforward(decoder.feedforward, h)  # noqa: E731
    return reference_residual(decoder, decoder.feedforward_norm, ffn, hidden)
