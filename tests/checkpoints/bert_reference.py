"""A BERT reference apart from zoo's mapping: random Hugging Face-named tensors, a checkpoint on disk, NumPy forward.

Used by the BERT loader's and the warm start's tests (`import bert_reference`).
"""

import json
import math

import numpy as np


def random_bert(config, prefix=""):
    """HF-named float32 tensors of a random BERT (plus a pooler and the position_ids buffer)."""
    rng = np.random.default_rng(0)
    hidden, inner = config["hidden_size"], config["intermediate_size"]

    def w(*shape):
        return rng.normal(0, 0.5, shape).astype("float32")

    tensors = {
        "embeddings.word_embeddings.weight": w(config["vocab_size"], hidden),
        "embeddings.position_embeddings.weight": w(config["max_position_embeddings"], hidden),
        "embeddings.token_type_embeddings.weight": w(config["type_vocab_size"], hidden),
        "embeddings.LayerNorm.weight": 1 + w(hidden),
        "embeddings.LayerNorm.bias": w(hidden),
        "embeddings.position_ids": np.arange(config["max_position_embeddings"])[None].astype("int64"),
        "pooler.dense.weight": w(hidden, hidden),
        "pooler.dense.bias": w(hidden),
    }
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            tensors[f"{p}.{name}.weight"], tensors[f"{p}.{name}.bias"] = w(hidden, hidden), w(hidden)
        tensors[f"{p}.intermediate.dense.weight"], tensors[f"{p}.intermediate.dense.bias"] = w(inner, hidden), w(inner)
        tensors[f"{p}.output.dense.weight"], tensors[f"{p}.output.dense.bias"] = w(hidden, inner), w(hidden)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{p}.{name}.weight"], tensors[f"{p}.{name}.bias"] = 1 + w(hidden), w(hidden)
    return {prefix + name: value for name, value in tensors.items()}


def write_bert_checkpoint(directory, config, vocabulary, tensors=None, prefix=""):
    """config.json, vocab.txt and model.safetensors (random_bert unless `tensors`) of a BERT checkpoint."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "vocab.txt").write_text("".join(f"{token}\n" for token in vocabulary))
    save_file(random_bert(config, prefix) if tensors is None else tensors, str(directory / "model.safetensors"))
    return directory


def numpy_bert_states(t, config, token_ids, mask):
    """BERT's last hidden states (post-LN, exact GELU, segment 0), from the Hugging Face tensor names."""
    eps, heads = config["layer_norm_eps"], config["num_attention_heads"]

    def norm(x, name):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * t[f"{name}.weight"] + t[f"{name}.bias"]

    def dense(x, name):
        return x @ t[f"{name}.weight"].T + t[f"{name}.bias"]

    erf = np.vectorize(math.erf)
    length = token_ids.shape[1]
    x = (
        t["embeddings.word_embeddings.weight"][token_ids]
        + t["embeddings.position_embeddings.weight"][:length]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9)
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"

        def split(y):
            return y.reshape(y.shape[0], length, heads, -1).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1]) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = norm(x + dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
        h = dense(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
        x = norm(x + dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    return x
