"""Independent NumPy forward passes of the backbones, written from the papers' math, not from zoo.

Weights are read by path (`"decoder_0/self_attention/query/kernel"`) from
a `Weights` dict that records what was read: `check_all_used` then fails
when the model holds a weight the reference never used (an unexpected
bias or norm), and a missing weight fails with a KeyError. A low-rank
projection (`u_kernel`, `v_kernel`) is read as the product `U V`, reshaped
as the dense kernel would be. Everything is float64.
"""

import math

import keras
import numpy as np

from helpers import to_numpy


class Weights(dict):
    """`{path: array}` of a model's weights that remembers which paths were read."""

    def __init__(self, model):
        super().__init__({v.path: to_numpy(v).astype("float64") for v in model.weights})
        self.used = set()
        config = model.get_config()
        self.hidden_dim, self.num_heads = config["hidden_dim"], config["num_heads"]
        self.num_key_value_heads = config["num_key_value_heads"] or self.num_heads

    def __getitem__(self, path):
        base = path[: -len("kernel")]
        if path.endswith("/kernel") and path not in self and f"{base}u_kernel" in self:
            kernel = self[f"{base}u_kernel"] @ self[f"{base}v_kernel"]  # (D_in, D_out)
            shape = self._shape(path)
            return kernel if shape is None else kernel.reshape(shape)
        self.used.add(path)
        return super().__getitem__(path)

    def _shape(self, path):
        """The dense kernel's shape at `path` (multi-head projections keep their head axes)."""
        name, head_dim = path.split("/")[-2], self.hidden_dim // self.num_heads
        if name == "query":
            return (self.hidden_dim, self.num_heads, head_dim)
        if name in ("key", "value"):
            return (self.hidden_dim, self.num_key_value_heads, head_dim)
        if name == "attention_output":
            return (self.num_heads, head_dim, self.hidden_dim)
        return None  # feed-forward kernels are (D_in, D_out) already

    def bias(self, path, expected):
        """The bias at `path` if `expected`, else 0 (asserting the model has none there)."""
        if expected:
            return self[path]
        assert path not in self, f"{path} exists, but the configuration has no bias there"
        return 0.0

    def check_all_used(self):
        unused = sorted(set(self) - self.used)
        assert not unused, f"weights the reference never used: {unused}"


def randomize(model, seed=0):
    """Give every weight random values (norm scales near 1), so a dropped bias or scale shows."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        name = variable.path.rsplit("/", 1)[-1]
        if name in ("gamma", "scale"):
            value = 1.0 + 0.3 * rng.normal(size=shape)
        elif name in ("beta", "bias", "class_token"):
            value = 0.3 * rng.normal(size=shape)
        elif name == "embeddings":
            value = 0.7 * rng.normal(size=shape)
        else:  # kernels, scaled for about unit-variance outputs
            if "attention_output" in variable.path:  # (H, head_dim, D)
                fan_in = shape[0] * shape[1]
            elif len(shape) == 3:  # query / key / value: (D, H, head_dim)
                fan_in = shape[0]
            else:  # dense (D_in, D_out), patch convolution (ph, pw, C, D)
                fan_in = int(np.prod(shape[:-1]))
            value = rng.normal(size=shape) / math.sqrt(fan_in)
        variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))


# === Building blocks ===


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def rms_norm(x, scale, epsilon):
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + epsilon) * scale


def norm(weights, path, config, x):
    epsilon = config["layer_norm_epsilon"]
    if config["norm_type"] == "layer_norm":
        return layer_norm(x, weights[f"{path}/gamma"], weights[f"{path}/beta"], epsilon)
    return rms_norm(x, weights[f"{path}/scale"], epsilon)


def activate(name, x):
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "gelu":  # exact: x * Phi(x)
        return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    if name == "gelu_approximate":  # GPT-2's gelu_new
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "silu":
        return x / (1.0 + np.exp(-x))
    raise ValueError(name)


def rotate(x, positions, theta):
    """RoPE ("rotate half"): feature pairs `(j, j + D/2)` turn by `pos / theta**(2j/D)`.

    `x`: `(B, T, H, D)`.
    """
    half = x.shape[-1] // 2
    out = np.empty_like(x)
    for t, position in enumerate(positions):
        for j in range(half):
            angle = position * theta ** (-2.0 * j / x.shape[-1])
            a, b = x[:, t, :, j], x[:, t, :, j + half]
            out[:, t, :, j] = a * math.cos(angle) - b * math.sin(angle)
            out[:, t, :, j + half] = b * math.cos(angle) + a * math.sin(angle)
    return out


def attention(weights, path, config, query, memory, mask, rotary_positions=None):
    """Multi-head attention; `mask` (B, Tq, Tk) True where allowed; GQA shares k/v heads."""
    qkv_bias = config["use_attention_bias"]
    output_bias = config["use_attention_output_bias"]
    output_bias = qkv_bias if output_bias is None else output_bias

    def project(name, x):
        kernel = weights[f"{path}/{name}/kernel"]  # (D, heads, head_dim)
        return np.einsum("btd,dnh->btnh", x, kernel) + weights.bias(f"{path}/{name}/bias", qkv_bias)

    q, k, v = project("query", query), project("key", memory), project("value", memory)
    if rotary_positions is not None:
        q = rotate(q, rotary_positions, config["rope_theta"])
        k = rotate(k, rotary_positions, config["rope_theta"])
    num_heads, head_dim = q.shape[2], q.shape[3]
    group = num_heads // k.shape[2]
    heads = []
    for h in range(num_heads):
        logits = q[:, :, h] @ np.swapaxes(k[:, :, h // group], 1, 2) / math.sqrt(head_dim)
        logits = np.where(mask, logits, -np.inf)
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        heads.append(probs @ v[:, :, h // group])  # (B, Tq, head_dim)
    concatenated = np.stack(heads, axis=2)  # (B, Tq, H, head_dim)
    kernel = weights[f"{path}/attention_output/kernel"]  # (H, head_dim, D)
    out = np.einsum("btnh,nhd->btd", concatenated, kernel)
    return out + weights.bias(f"{path}/attention_output/bias", output_bias)


def feedforward(weights, path, config, x):
    use_bias = config["use_mlp_bias"]

    def dense(name, h):
        return h @ weights[f"{path}/{name}/kernel"] + weights.bias(f"{path}/{name}/bias", use_bias)

    if config["activation"] == "swiglu":
        gate = dense("gate", x)
        hidden = gate / (1.0 + np.exp(-gate)) * dense("intermediate", x)
    else:
        hidden = activate(config["activation"], dense("intermediate", x))
    return dense("output", hidden)


def residual(weights, path, config, x, sublayer):
    """Pre-LN `x + f(norm(x))` or post-LN `norm(x + f(x))`."""
    if config["normalize_first"]:
        return x + sublayer(norm(weights, path, config, x))
    return norm(weights, path, config, x + sublayer(x))


def block(weights, path, config, x, self_mask, rotary_positions=None, memory=None, cross_mask=None):
    """An encoder block, or a decoder block (with cross-attention when `memory` is given)."""
    x = residual(
        weights,
        f"{path}/self_attention_norm",
        config,
        x,
        lambda h: attention(weights, f"{path}/self_attention", config, h, h, self_mask, rotary_positions),
    )
    if memory is not None:
        x = residual(
            weights,
            f"{path}/cross_attention_norm",
            config,
            x,
            lambda h: attention(weights, f"{path}/cross_attention", config, h, memory, cross_mask),
        )
    return residual(
        weights,
        f"{path}/feedforward_norm",
        config,
        x,
        lambda h: feedforward(weights, f"{path}/feedforward", config, h),
    )


def sinusoids(length, dim, layout):
    """Vaswani et al. 3.5 (interleaved sin/cos), or all sines then all cosines (Marian)."""
    table = np.zeros((length, dim))
    for position in range(length):
        for i in range(dim // 2):
            angle = position / 10000.0 ** (2 * i / dim)
            if layout == "interleaved":
                table[position, 2 * i] = math.sin(angle)
                table[position, 2 * i + 1] = math.cos(angle)
            else:
                table[position, i], table[position, dim // 2 + i] = math.sin(angle), math.cos(angle)
    return table


def embed(weights, path, config, token_ids, table_path=None):
    """`table[ids] (@ projection) * scale + positions` (none with rotary).

    The table (and projection) may be another embedding's (`table_path`).
    """
    table_path = table_path or path
    table = f"{table_path}/token_embedding/embeddings"
    if table not in weights:  # a plain rotary table is a keras Embedding: `<name>/embeddings`
        table = f"{table_path}/embeddings"
    x = weights[table][token_ids]
    if f"{table_path}/token_projection/kernel" in weights:  # a factorized (V, E) table
        x = x @ weights[f"{table_path}/token_projection/kernel"]
    if config["embedding_scale"] is not None:
        x = x * config["embedding_scale"]
    length = token_ids.shape[1]
    if config["position_encoding"] == "learned":
        offset = config["position_offset"]
        x = x + weights[f"{path}/position_embedding/embeddings"][offset : offset + length]
    elif config["position_encoding"] == "sinusoidal":
        x = x + sinusoids(length, x.shape[-1], config["sinusoidal_layout"])
    return x


def key_mask(padding_mask, query_length, causal):
    """(B, Tq, Tk) allowed-attention mask from a (B, Tk) padding mask."""
    batch_size, key_length = padding_mask.shape
    mask = np.broadcast_to(padding_mask.astype(bool)[:, None, :], (batch_size, query_length, key_length))
    if causal:
        mask = mask & np.tril(np.ones((query_length, padding_mask.shape[1]), bool))[None]
    return mask


def rotary_positions(config, length):
    return np.arange(length) if config["position_encoding"] == "rotary" else None


# === Backbones ===


def encoder_backbone(model, inputs):
    config, weights = model.get_config(), Weights(model)
    ids = inputs["token_ids"]
    length = ids.shape[1]
    x = embed(weights, "embedding", config, ids)
    if config["num_segments"]:
        x = x + weights["segment_embedding/embeddings"][inputs["segment_ids"]]
    if config["use_embedding_norm"]:
        x = norm(weights, "embedding_norm", config, x)
    mask = key_mask(inputs["padding_mask"], ids.shape[1], causal=False)
    for index in range(config["num_layers"]):
        x = block(weights, f"encoder_{index}", config, x, mask, rotary_positions(config, length))
    if config["use_final_norm"]:
        x = norm(weights, "final_norm", config, x)
    weights.check_all_used()
    return x


def decoder_backbone(model, inputs):
    config, weights = model.get_config(), Weights(model)
    ids = inputs["token_ids"]
    length = ids.shape[1]
    x = embed(weights, "embedding", config, ids)
    if config["use_embedding_norm"]:
        x = norm(weights, "embedding_norm", config, x)
    mask = key_mask(inputs["padding_mask"], ids.shape[1], causal=True)
    for index in range(config["num_layers"]):
        x = block(weights, f"decoder_{index}", config, x, mask, rotary_positions(config, length))
    if config["use_final_norm"]:
        x = norm(weights, "final_norm", config, x)
    weights.check_all_used()
    return x


def encoder_decoder_backbone(model, inputs):
    config, weights = model.get_config(), Weights(model)
    source, target = inputs["encoder_token_ids"], inputs["decoder_token_ids"]
    x = embed(weights, "encoder_embedding", config, source)
    if config["use_embedding_norm"]:
        x = norm(weights, "encoder_embedding_norm", config, x)
    source_mask = key_mask(inputs["encoder_padding_mask"], source.shape[1], causal=False)
    for index in range(config["num_encoder_layers"]):
        x = block(weights, f"encoder_{index}", config, x, source_mask, rotary_positions(config, source.shape[1]))
    if config["use_final_norm"]:
        x = norm(weights, "encoder_norm", config, x)
    shared = "encoder_embedding" if config["share_token_embeddings"] else None
    y = embed(weights, "decoder_embedding", config, target, table_path=shared)
    if config["use_embedding_norm"]:
        y = norm(weights, "decoder_embedding_norm", config, y)
    target_mask = key_mask(inputs["decoder_padding_mask"], target.shape[1], causal=True)
    cross_mask = key_mask(inputs["encoder_padding_mask"], target.shape[1], causal=False)
    for index in range(config["num_decoder_layers"]):
        y = block(
            weights,
            f"decoder_{index}",
            config,
            y,
            target_mask,
            rotary_positions(config, target.shape[1]),
            memory=x,
            cross_mask=cross_mask,
        )
    if config["use_final_norm"]:
        y = norm(weights, "decoder_norm", config, y)
    weights.check_all_used()
    return {"encoder_sequence_output": x, "decoder_sequence_output": y}


def vit_backbone(model, images):
    config, weights = model.get_config(), Weights(model)
    (height, width), (ph, pw) = config["image_size"], config["patch_size"]
    kernel = weights["patch_embedding/projection/kernel"]  # (ph, pw, C, D)
    patches = []
    for i in range(height // ph):  # row-major over the patch grid
        for j in range(width // pw):
            patch = images[:, i * ph : (i + 1) * ph, j * pw : (j + 1) * pw, :]  # (B, ph, pw, C)
            patches.append(np.einsum("bxyc,xycd->bd", patch, kernel))
    x = np.stack(patches, axis=1) + weights["patch_embedding/projection/bias"]  # (B, N, D)
    if config["use_class_token"]:
        class_token = weights["patch_embedding/class_token"][0]  # (1, D)
        token = np.broadcast_to(class_token, (x.shape[0], 1, x.shape[2]))
        x = np.concatenate([token, x], axis=1)
    x = x + weights["patch_embedding/position_embedding/embeddings"]
    mask = np.ones((x.shape[0], x.shape[1], x.shape[1]), bool)
    for index in range(config["num_layers"]):
        x = block(weights, f"encoder_{index}", config, x, mask)
    if config["use_final_norm"]:
        x = norm(weights, "final_norm", config, x)
    weights.check_all_used()
    return x
