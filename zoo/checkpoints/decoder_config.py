"""A Hugging Face decoder `config.json` (gpt2, llama, mistral, qwen2) -> `TransformerDecoderBackbone` arguments.

Every option the config states is honoured or refused: an option zoo does
not implement is a one-line `ValueError` naming the key and its value,
never a silently different model. Both config layouts are read: the one of
most published checkpoints (`rope_theta`, `rope_scaling`) and transformers
5's (`rope_parameters`).
"""

from zoo.checkpoints.checks import check_model_type as check_model_type_of
from zoo.checkpoints.checks import positive_integer, unsupported
from zoo.layers.position import ROPE_SCALING_KEYS

SUPPORTED_MODEL_TYPES = ("gpt2", "llama", "mistral", "qwen2")
LLAMA_FAMILY = ("llama", "mistral", "qwen2")
# GPT-2's activation_function -> zoo's feed-forward activation.
GPT2_ACTIVATIONS = {
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "gelu": "gelu",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}
# The Llama family's MLP is gated: down(act(gate(x)) * up(x)); zoo's "swiglu" is the silu-gated one.
GATED_ACTIVATIONS = {"silu": "swiglu", "swish": "swiglu"}


def check_model_type(config, source):
    """The config's `model_type`, or a `ValueError` listing the supported ones."""
    return check_model_type_of(config, source, SUPPORTED_MODEL_TYPES, "CausalLM.from_checkpoint")


def check_sequence_length(sequence_length, limit, source):
    """`sequence_length` (default: the checkpoint's `limit`) within `[2, limit]`."""
    if sequence_length is None:
        return limit
    if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or not 2 <= sequence_length <= limit:
        raise ValueError(
            f"sequence_length must be an integer in [2, {limit}] ({source} max_position_embeddings). "
            f"Received: sequence_length={sequence_length!r}"
        )
    return sequence_length


def backbone_arguments(config, sequence_length=None, source="config.json"):
    """`TransformerDecoderBackbone` keyword arguments for a checkpoint's `config.json`.

    Args:
        config: the parsed `config.json`.
        sequence_length: optional int, a shorter longest sequence than the
            checkpoint's `max_position_embeddings` (a smaller KV cache).
        source: how errors name the file.

    Returns:
        A dict of backbone arguments (dropout 0: inference).

    Raises:
        ValueError: an unsupported `model_type` (listing the supported
            ones), option or value, naming the key.
    """
    model_type = check_model_type(config, source)
    if model_type == "gpt2":
        return _gpt2_arguments(config, sequence_length, source)
    return _llama_arguments(model_type, config, sequence_length, source)


def _gpt2_arguments(config, sequence_length, source):
    for key, expected in (("scale_attn_by_inverse_layer_idx", False), ("scale_attn_weights", True)):
        if config.get(key, expected) != expected:
            raise unsupported(key, config[key], f"zoo's attention implements {key}={expected} only", source)
    if config.get("add_cross_attention", False):
        raise unsupported("add_cross_attention", True, "a decoder-only CausalLM has no cross-attention", source)
    activation = config.get("activation_function", "gelu_new")
    if activation not in GPT2_ACTIVATIONS:
        raise unsupported("activation_function", activation, f"expected one of {sorted(GPT2_ACTIVATIONS)}", source)
    hidden = positive_integer(config, "n_embd", source)
    heads = positive_integer(config, "n_head", source)
    if hidden % heads:
        raise ValueError(f"{source}: n_head={heads} does not divide n_embd={hidden}")
    positions = positive_integer(config, "n_positions", source)
    return {
        "vocabulary_size": positive_integer(config, "vocab_size", source),
        "sequence_length": check_sequence_length(sequence_length, positions, source),
        "hidden_dim": hidden,
        "num_layers": positive_integer(config, "n_layer", source),
        "num_heads": heads,
        "intermediate_dim": config.get("n_inner") or 4 * hidden,
        "activation": GPT2_ACTIVATIONS[activation],
        "dropout": 0.0,
        "norm_type": "layer_norm",
        "normalize_first": True,
        "layer_norm_epsilon": float(config.get("layer_norm_epsilon", 1e-5)),
        "position_encoding": "learned",
        "use_attention_bias": True,
        "use_mlp_bias": True,
        "tie_word_embeddings": bool(config.get("tie_word_embeddings", True)),
    }


def _llama_arguments(model_type, config, sequence_length, source):
    activation = config.get("hidden_act", "silu")
    if activation not in GATED_ACTIVATIONS:
        raise unsupported(
            "hidden_act",
            activation,
            f"the gated MLP of {model_type} is implemented for {sorted(GATED_ACTIVATIONS)}",
            source,
        )
    hidden = positive_integer(config, "hidden_size", source)
    heads = positive_integer(config, "num_attention_heads", source)
    kv_heads = positive_integer(config, "num_key_value_heads", source, default=heads)
    if hidden % heads or heads % kv_heads:
        raise ValueError(
            f"{source}: num_attention_heads={heads} must divide hidden_size={hidden} and be a multiple of "
            f"num_key_value_heads={kv_heads}"
        )
    head_dim = config.get("head_dim")
    if head_dim is not None and head_dim != hidden // heads:
        raise unsupported(
            "head_dim", head_dim, f"zoo's attention uses hidden_size / num_attention_heads = {hidden // heads}", source
        )
    length = check_sequence_length(sequence_length, positive_integer(config, "max_position_embeddings", source), source)
    _check_sliding_window(model_type, config, length, source)
    rope_theta, rope_scaling = rope_options(config, source)
    attention_bias = model_type == "qwen2" or bool(config.get("attention_bias", False))
    return {
        "vocabulary_size": positive_integer(config, "vocab_size", source),
        "sequence_length": length,
        "hidden_dim": hidden,
        "num_layers": positive_integer(config, "num_hidden_layers", source),
        "num_heads": heads,
        "intermediate_dim": positive_integer(config, "intermediate_size", source),
        "num_key_value_heads": kv_heads,
        "activation": GATED_ACTIVATIONS[activation],
        "dropout": 0.0,
        "norm_type": "rms_norm",
        "normalize_first": True,
        "layer_norm_epsilon": float(config.get("rms_norm_eps", 1e-6)),
        "position_encoding": "rotary",
        "rope_theta": rope_theta,
        "rope_scaling": rope_scaling,
        "use_attention_bias": attention_bias,
        # Qwen2 has biases on q/k/v only; Llama's attention_bias covers o_proj too.
        "use_attention_output_bias": False if model_type == "qwen2" else attention_bias,
        "use_mlp_bias": model_type == "llama" and bool(config.get("mlp_bias", False)),
        "tie_word_embeddings": bool(config.get("tie_word_embeddings", False)),
    }


def rope_options(config, source="config.json"):
    """`(rope_theta, rope_scaling or None)` from `rope_parameters` or `rope_theta` + `rope_scaling`.

    Raises:
        ValueError: a `rope_type` other than default, linear, llama3, or a
            scaling without the keys its type needs.
    """
    parameters = dict(config.get("rope_parameters") or {})
    key = "rope_parameters"
    if not parameters:
        parameters = dict(config.get("rope_scaling") or {})
        parameters.setdefault("rope_theta", config.get("rope_theta", 10000.0))
        key = "rope_scaling"
    rope_theta = float(parameters.pop("rope_theta", config.get("rope_theta", 10000.0)))
    rope_type = parameters.get("rope_type", parameters.get("type", "default"))
    if rope_type == "default":
        return rope_theta, None
    if rope_type not in ROPE_SCALING_KEYS:
        raise unsupported(
            f"{key} rope_type", rope_type, f"zoo implements default, {', '.join(sorted(ROPE_SCALING_KEYS))}", source
        )
    missing = [name for name in ROPE_SCALING_KEYS[rope_type] if not isinstance(parameters.get(name), (int, float))]
    if missing:
        raise ValueError(f"{source}: {key} of rope_type {rope_type!r} lacks {missing}")
    if parameters.get("attention_factor") not in (None, 1.0):
        raise unsupported(f"{key} attention_factor", parameters["attention_factor"], "zoo implements 1.0", source)
    scaling = {"rope_type": rope_type, **{name: float(parameters[name]) for name in ROPE_SCALING_KEYS[rope_type]}}
    return rope_theta, scaling


def _check_sliding_window(model_type, config, sequence_length, source):
    """Sliding-window attention is fine only when its window covers the whole sequence."""
    window = config.get("sliding_window")
    layer_types = config.get("layer_types") or []
    if model_type == "qwen2":
        active = bool(config.get("use_sliding_window", False)) or "sliding_attention" in layer_types
    else:
        active = window is not None or "sliding_attention" in layer_types
    if active and (window is None or window < sequence_length):
        raise unsupported(
            "sliding_window",
            window,
            f"zoo's attention is full (not windowed); it equals a window only as long as the sequence, so load "
            f"with sequence_length <= {window} (it is {sequence_length})",
            source,
        )


def special_token_ids(config, generation_config):
    """`(bos, eos, pad)` ids: generation_config.json first, then config.json; pad falls back to eos.

    A list of EOS ids (Llama 3) gives its first one: zoo's generation stops
    at one id.
    """

    def pick(key):
        for source in (generation_config, config):
            value = source.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if value is not None:
                return int(value)
        return None

    eos = pick("eos_token_id")
    pad = pick("pad_token_id")
    return pick("bos_token_id"), eos, eos if pad is None else pad
