"""Which checkpoint tensor becomes which zoo weight, for gpt2 and the Llama family (llama, mistral, qwen2).

`expected_tensors` lists `Mapping(name, shape, path, convert)`: the
checkpoint tensor `name` (model prefix removed) must have `shape`;
`convert(tensor)` is the value of the zoo weight at `path`. One tensor can
feed several weights (GPT-2's fused `c_attn` gives q, k and v).

Layouts: `nn.Linear` weights are stored `(out, in)`, GPT-2's `Conv1D`
`(in, out)`; zoo's attention kernels are `EinsumDense` `(D, H, D_head)` for
q/k/v and `(H, D_head, D)` for the output, its `Dense` kernels `(in, out)`.
"""

import collections

Mapping = collections.namedtuple("Mapping", "name shape path convert")


def expected_tensors(arguments, model_type, position_rows=None):
    """The mappings of a `TransformerDecoderBackbone` built from `arguments` (+ `lm_head` when untied).

    Args:
        arguments: the backbone's arguments (`decoder_config.backbone_arguments`).
        model_type: `"gpt2"` or one of the Llama family.
        position_rows: GPT-2's position table rows in the checkpoint
            (`n_positions`); zoo keeps the first `sequence_length`.

    Returns:
        A list of `Mapping`.
    """
    mappings = _gpt2(arguments, position_rows) if model_type == "gpt2" else _llama(arguments)
    if not arguments["tie_word_embeddings"]:
        shape = (arguments["vocabulary_size"], arguments["hidden_dim"])
        mappings.append(Mapping("lm_head.weight", shape, "lm_head/kernel", _transposed))
    return mappings


def _transposed(value):
    return value.T


def _same(value):
    return value


def _gpt2(arguments, position_rows):
    hidden, heads, inner = arguments["hidden_dim"], arguments["num_heads"], arguments["intermediate_dim"]
    head_dim, length = hidden // heads, arguments["sequence_length"]
    mappings = [
        Mapping("wte.weight", (arguments["vocabulary_size"], hidden), "embedding/token_embedding/embeddings", _same),
        Mapping("wpe.weight", (position_rows, hidden), "embedding/position_embedding/embeddings", lambda v: v[:length]),
        Mapping("ln_f.weight", (hidden,), "final_norm/gamma", _same),
        Mapping("ln_f.bias", (hidden,), "final_norm/beta", _same),
    ]
    for index in range(arguments["num_layers"]):
        name, path = f"h.{index}", f"decoder_{index}"
        for norm, zoo_norm in (("ln_1", "self_attention_norm"), ("ln_2", "feedforward_norm")):
            mappings.append(Mapping(f"{name}.{norm}.weight", (hidden,), f"{path}/{zoo_norm}/gamma", _same))
            mappings.append(Mapping(f"{name}.{norm}.bias", (hidden,), f"{path}/{zoo_norm}/beta", _same))
        for part, projection in enumerate(("query", "key", "value")):  # c_attn: [q | k | v] along its outputs
            columns = slice(part * hidden, (part + 1) * hidden)
            mappings.append(
                Mapping(
                    f"{name}.attn.c_attn.weight",
                    (hidden, 3 * hidden),
                    f"{path}/self_attention/{projection}/kernel",
                    lambda v, columns=columns: v[:, columns].reshape(hidden, heads, head_dim),
                )
            )
            mappings.append(
                Mapping(
                    f"{name}.attn.c_attn.bias",
                    (3 * hidden,),
                    f"{path}/self_attention/{projection}/bias",
                    lambda v, columns=columns: v[columns].reshape(heads, head_dim),
                )
            )
        attention_output = f"{path}/self_attention/attention_output"
        mappings += [
            Mapping(
                f"{name}.attn.c_proj.weight",
                (hidden, hidden),
                f"{attention_output}/kernel",
                lambda v: v.reshape(heads, head_dim, hidden),
            ),
            Mapping(f"{name}.attn.c_proj.bias", (hidden,), f"{attention_output}/bias", _same),
            Mapping(f"{name}.mlp.c_fc.weight", (hidden, inner), f"{path}/feedforward/intermediate/kernel", _same),
            Mapping(f"{name}.mlp.c_fc.bias", (inner,), f"{path}/feedforward/intermediate/bias", _same),
            Mapping(f"{name}.mlp.c_proj.weight", (inner, hidden), f"{path}/feedforward/output/kernel", _same),
            Mapping(f"{name}.mlp.c_proj.bias", (hidden,), f"{path}/feedforward/output/bias", _same),
        ]
    return mappings


def _llama(arguments):
    hidden, heads, inner = arguments["hidden_dim"], arguments["num_heads"], arguments["intermediate_dim"]
    kv_heads, head_dim = arguments["num_key_value_heads"], hidden // heads
    mappings = [
        Mapping("embed_tokens.weight", (arguments["vocabulary_size"], hidden), "embedding/embeddings", _same),
        Mapping("norm.weight", (hidden,), "final_norm/scale", _same),
    ]
    output_bias = arguments["use_attention_output_bias"]
    output_bias = arguments["use_attention_bias"] if output_bias is None else output_bias
    for index in range(arguments["num_layers"]):
        name, path = f"layers.{index}", f"decoder_{index}"
        attention = f"{path}/self_attention"
        mappings += [
            Mapping(f"{name}.input_layernorm.weight", (hidden,), f"{path}/self_attention_norm/scale", _same),
            Mapping(f"{name}.post_attention_layernorm.weight", (hidden,), f"{path}/feedforward_norm/scale", _same),
        ]
        for part, projection, count in (("q", "query", heads), ("k", "key", kv_heads), ("v", "value", kv_heads)):
            mappings.append(
                Mapping(
                    f"{name}.self_attn.{part}_proj.weight",
                    (count * head_dim, hidden),
                    f"{attention}/{projection}/kernel",
                    lambda v, count=count: v.T.reshape(hidden, count, head_dim),
                )
            )
            if arguments["use_attention_bias"]:
                mappings.append(
                    Mapping(
                        f"{name}.self_attn.{part}_proj.bias",
                        (count * head_dim,),
                        f"{attention}/{projection}/bias",
                        lambda v, count=count: v.reshape(count, head_dim),
                    )
                )
        mappings.append(
            Mapping(
                f"{name}.self_attn.o_proj.weight",
                (hidden, hidden),
                f"{attention}/attention_output/kernel",
                lambda v: v.T.reshape(heads, head_dim, hidden),
            )
        )
        if output_bias:
            mappings.append(
                Mapping(f"{name}.self_attn.o_proj.bias", (hidden,), f"{attention}/attention_output/bias", _same)
            )
        for part, projection, shape in (
            ("gate", "gate", (inner, hidden)),
            ("up", "intermediate", (inner, hidden)),
            ("down", "output", (hidden, inner)),
        ):
            dense = f"{path}/feedforward/{projection}"
            mappings.append(Mapping(f"{name}.mlp.{part}_proj.weight", shape, f"{dense}/kernel", _transposed))
            if arguments["use_mlp_bias"]:
                mappings.append(Mapping(f"{name}.mlp.{part}_proj.bias", shape[:1], f"{dense}/bias", _same))
    return mappings
