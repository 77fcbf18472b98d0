"""A Hugging Face BART / Marian `config.json` -> `EncoderDecoderBackbone` arguments and generation rules.

Every option the config states is honoured or refused with a one-line
`ValueError` naming the key and value. What zoo builds:

- BART: post-LN blocks, `layernorm_embedding`, learned positions whose
  table starts at row 2 (`position_offset=2`), one `shared` token table.
- Marian: post-LN blocks, no embedding norm, sinusoidal positions with
  the sines in the first half of each vector and the cosines in the
  second (`sinusoidal_layout="concatenated"`), a shared table unless
  `share_encoder_decoder_embeddings` is false (then `decoder_vocab_size`).
- Both: `scale_embedding` (sqrt(d_model)), `tie_word_embeddings`,
  `final_logits_bias`, `activation_function`, LayerNorm epsilon 1e-5.

Training-only keys (dropouts, layerdrop, init_std, ...) and labels are
not model structure and are ignored. Generation defaults that zoo's
`generate` takes as arguments instead (`num_beams`, `max_length`,
`length_penalty`, `no_repeat_ngram_size`, ...) are not applied: they are
listed by `generation_defaults_not_applied`.
"""

from zoo.checkpoints.checks import check_model_type as check_model_type_of
from zoo.checkpoints.checks import positive_integer, unsupported

SUPPORTED_MODEL_TYPES = ("bart", "marian")
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}
# Keys whose only supported value is the one given (older BART/Marian configs write them).
FIXED = {
    "bart": {
        "normalize_before": False,
        "add_final_layer_norm": False,
        "normalize_embedding": True,
        "static_position_embeddings": False,
        "add_bias_logits": False,
        "extra_pos_embeddings": 2,
        "is_encoder_decoder": True,
    },
    "marian": {
        "normalize_before": False,
        "add_final_layer_norm": False,
        "normalize_embedding": False,
        "static_position_embeddings": True,
        "add_bias_logits": False,
        "is_encoder_decoder": True,
    },
}
GENERATION_DEFAULTS = (
    "num_beams",
    "max_length",
    "min_length",
    "max_new_tokens",
    "length_penalty",
    "early_stopping",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "num_return_sequences",
)


def check_model_type(config, source):
    """The config's `model_type`, or a `ValueError` listing the supported ones."""
    return check_model_type_of(config, source, SUPPORTED_MODEL_TYPES, "Seq2SeqLM.from_checkpoint")


def _length(value, name, limit, source):
    if value is None:
        return limit
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= limit:
        raise ValueError(
            f"{name} must be an integer in [2, {limit}] ({source} max_position_embeddings). Received: {name}={value!r}"
        )
    return value


def backbone_arguments(config, source_length=None, target_length=None, source="config.json"):
    """`EncoderDecoderBackbone` keyword arguments for a BART / Marian `config.json`.

    Args:
        config: the parsed `config.json`.
        source_length, target_length: optional ints, the longest encoder
            and decoder sequences (default and limit: `max_position_embeddings`).
        source: how errors name the file.

    Returns:
        A dict of backbone arguments (dropout 0: inference).

    Raises:
        ValueError: an unsupported `model_type` (listing the supported
            ones), option or value, naming the key.
    """
    model_type = check_model_type(config, source)
    for key, expected in FIXED[model_type].items():
        if key in config and config[key] != expected:
            raise unsupported(key, config[key], f"zoo's {model_type} implements {key}={expected!r}", source)
    hidden = positive_integer(config, "d_model", source)
    heads = positive_integer(config, "encoder_attention_heads", source)
    for key, value in (("decoder_attention_heads", heads), ("decoder_ffn_dim", config.get("encoder_ffn_dim"))):
        if config.get(key, value) != value:
            pair = key.replace("decoder", "encoder")
            raise unsupported(key, config[key], f"zoo's backbone needs it equal to {pair}={value!r}", source)
    if hidden % heads:
        raise ValueError(f"{source}: encoder_attention_heads={heads} does not divide d_model={hidden}")
    activation = config.get("activation_function", "gelu")
    if activation not in ACTIVATIONS:
        raise unsupported("activation_function", activation, f"expected one of {sorted(ACTIVATIONS)}", source)
    positions = positive_integer(config, "max_position_embeddings", source)
    vocabulary = positive_integer(config, "vocab_size", source)
    shared = model_type == "bart" or bool(config.get("share_encoder_decoder_embeddings", True))
    decoder_vocabulary = vocabulary if shared else positive_integer(config, "decoder_vocab_size", source, vocabulary)
    if shared and config.get("decoder_vocab_size") not in (None, vocabulary):
        raise unsupported(
            "decoder_vocab_size",
            config["decoder_vocab_size"],
            f"a shared table has vocab_size={vocabulary} rows",
            source,
        )
    if model_type == "marian" and hidden % 2:
        raise unsupported("d_model", hidden, "zoo's sinusoidal positions need an even width", source)
    arguments = {
        "vocabulary_size": vocabulary,
        "sequence_length": _length(source_length, "source_length", positions, source),
        "decoder_vocabulary_size": decoder_vocabulary,
        "decoder_sequence_length": _length(target_length, "target_length", positions, source),
        "hidden_dim": hidden,
        "num_encoder_layers": positive_integer(config, "encoder_layers", source),
        "num_decoder_layers": positive_integer(config, "decoder_layers", source),
        "num_heads": heads,
        "intermediate_dim": positive_integer(config, "encoder_ffn_dim", source),
        "activation": ACTIVATIONS[activation],
        "dropout": 0.0,
        "norm_type": "layer_norm",
        "normalize_first": False,
        "layer_norm_epsilon": 1e-5,
        "use_final_norm": False,
        "embedding_scale": hidden**0.5 if config.get("scale_embedding", False) else None,
        "tie_word_embeddings": bool(config.get("tie_word_embeddings", True)),
        "share_token_embeddings": shared,
    }
    if model_type == "bart":
        arguments.update(use_embedding_norm=True, position_encoding="learned", position_offset=2)
    else:
        arguments.update(position_encoding="sinusoidal", sinusoidal_layout="concatenated")
    return arguments


def generation_settings(config, generation_config, source="config.json"):
    """The ids generation needs: generation_config.json first, then config.json (older checkpoints).

    Returns:
        A dict: `decoder_start`, `eos`, `pad`, `bos` (the source prefix of
        BART, else None), `forced_bos`, `forced_eos` (ints or None) and
        `suppressed` (ids of one-token `bad_words_ids`).

    Raises:
        ValueError: a missing decoder start / EOS / pad id, a list of
            several forced EOS ids, or a `bad_words_ids` entry of more than
            one token (naming the key).
    """

    def pick(key):
        for values in (generation_config, config):
            if values.get(key) is not None:
                return values[key]
        return None

    settings = {}
    for name, key in (("decoder_start", "decoder_start_token_id"), ("eos", "eos_token_id"), ("pad", "pad_token_id")):
        value = pick(key)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{source} (or generation_config.json) needs an integer {key!r}; found {value!r}")
        settings[name] = value
    settings["bos"] = pick("bos_token_id") if config.get("model_type") == "bart" else None
    for name, key in (("forced_bos", "forced_bos_token_id"), ("forced_eos", "forced_eos_token_id")):
        value = pick(key)
        if isinstance(value, list):
            if len(value) != 1:
                raise unsupported(key, value, "zoo forces one token", source)
            value = value[0]
        settings[name] = value
    suppressed = []
    for words in pick("bad_words_ids") or []:
        if not isinstance(words, list) or len(words) != 1:
            raise unsupported("bad_words_ids", words, "zoo suppresses single tokens only", source)
        suppressed.append(int(words[0]))
    for key in ("suppress_tokens", "begin_suppress_tokens", "forced_decoder_ids"):
        if pick(key):
            raise unsupported(key, pick(key), "not implemented by zoo's generation", source)
    settings["suppressed"] = suppressed
    return settings


def generation_defaults_not_applied(config, generation_config):
    """`{key: value}` of the checkpoint's generation defaults that zoo's `generate` takes as arguments instead."""
    values = {**{key: config[key] for key in GENERATION_DEFAULTS if key in config}}
    values.update({key: generation_config[key] for key in GENERATION_DEFAULTS if key in generation_config})
    return values
