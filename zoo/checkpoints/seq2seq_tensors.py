"""Which BART / Marian checkpoint tensor becomes which `Seq2SeqLM` weight.

`expected_tensors` lists `Mapping(name, shape, path, convert)` (see
`zoo.checkpoints.decoder_tensors`), names without the `model.` prefix.
`nn.Linear` weights are stored `(out, in)`; zoo's attention kernels are
`EinsumDense` `(D, H, D_head)` for q/k/v and `(H, D_head, D)` for the
output, its `Dense` kernels `(in, out)`.
"""

from zoo.checkpoints.decoder_tensors import Mapping

ATTENTIONS = {"self_attn": "self_attention", "encoder_attn": "cross_attention"}


def _same(value):
    return value


def _transposed(value):
    return value.T


def _flat(value):
    return value.reshape(-1)


def expected_tensors(arguments, model_type, position_rows, logits_bias_path):
    """The mappings of a `Seq2SeqLM` on an `EncoderDecoderBackbone` built from `arguments`.

    Args:
        arguments: the backbone's arguments (`seq2seq_config.backbone_arguments`).
        model_type: `"bart"` or `"marian"`.
        position_rows: rows of BART's learned position tables in the file
            (`max_position_embeddings + 2`); zoo keeps the first
            `2 + sequence_length`.
        logits_bias_path: the zoo weight that `final_logits_bias` fills
            (`lm_head/bias` untied, `final_logits_bias/bias` tied).

    Returns:
        A list of `Mapping`.
    """
    hidden, inner = arguments["hidden_dim"], arguments["intermediate_dim"]
    vocabulary, decoder_vocabulary = arguments["vocabulary_size"], arguments["decoder_vocabulary_size"]
    mappings = []
    if arguments["share_token_embeddings"]:
        mappings.append(
            Mapping("shared.weight", (vocabulary, hidden), "encoder_embedding/token_embedding/embeddings", _same)
        )
    else:
        for side, rows in (("encoder", vocabulary), ("decoder", decoder_vocabulary)):
            path = f"{side}_embedding/token_embedding/embeddings"
            mappings.append(Mapping(f"{side}.embed_tokens.weight", (rows, hidden), path, _same))
    if not arguments["tie_word_embeddings"]:
        mappings.append(Mapping("lm_head.weight", (decoder_vocabulary, hidden), "lm_head/kernel", _transposed))
    mappings.append(Mapping("final_logits_bias", (1, decoder_vocabulary), logits_bias_path, _flat))
    for side, layers, length in (
        ("encoder", arguments["num_encoder_layers"], arguments["sequence_length"]),
        ("decoder", arguments["num_decoder_layers"], arguments["decoder_sequence_length"]),
    ):
        if model_type == "bart":
            rows = arguments["position_offset"] + length
            mappings += [
                Mapping(
                    f"{side}.embed_positions.weight",
                    (position_rows, hidden),
                    f"{side}_embedding/position_embedding/embeddings",
                    lambda value, rows=rows: value[:rows],
                ),
                Mapping(f"{side}.layernorm_embedding.weight", (hidden,), f"{side}_embedding_norm/gamma", _same),
                Mapping(f"{side}.layernorm_embedding.bias", (hidden,), f"{side}_embedding_norm/beta", _same),
            ]
        attentions = ("self_attn",) if side == "encoder" else ("self_attn", "encoder_attn")
        for index in range(layers):
            mappings += _block(f"{side}.layers.{index}", f"{side}_{index}", attentions, arguments["num_heads"], hidden)
            name, path = f"{side}.layers.{index}", f"{side}_{index}"
            mappings += [
                Mapping(f"{name}.fc1.weight", (inner, hidden), f"{path}/feedforward/intermediate/kernel", _transposed),
                Mapping(f"{name}.fc1.bias", (inner,), f"{path}/feedforward/intermediate/bias", _same),
                Mapping(f"{name}.fc2.weight", (hidden, inner), f"{path}/feedforward/output/kernel", _transposed),
                Mapping(f"{name}.fc2.bias", (hidden,), f"{path}/feedforward/output/bias", _same),
                Mapping(f"{name}.final_layer_norm.weight", (hidden,), f"{path}/feedforward_norm/gamma", _same),
                Mapping(f"{name}.final_layer_norm.bias", (hidden,), f"{path}/feedforward_norm/beta", _same),
            ]
    return mappings


def _block(name, path, attentions, heads, hidden):
    """The attention projections and their norms of one block."""
    head_dim = hidden // heads
    mappings = []
    for attention in attentions:
        source, target = f"{name}.{attention}", f"{path}/{ATTENTIONS[attention]}"
        for part, projection in (("q", "query"), ("k", "key"), ("v", "value")):
            mappings += [
                Mapping(
                    f"{source}.{part}_proj.weight",
                    (hidden, hidden),
                    f"{target}/{projection}/kernel",
                    lambda value: value.T.reshape(hidden, heads, head_dim),
                ),
                Mapping(
                    f"{source}.{part}_proj.bias",
                    (hidden,),
                    f"{target}/{projection}/bias",
                    lambda value: value.reshape(heads, head_dim),
                ),
            ]
        mappings += [
            Mapping(
                f"{source}.out_proj.weight",
                (hidden, hidden),
                f"{target}/attention_output/kernel",
                lambda value: value.T.reshape(heads, head_dim, hidden),
            ),
            Mapping(f"{source}.out_proj.bias", (hidden,), f"{target}/attention_output/bias", _same),
            Mapping(f"{source}_layer_norm.weight", (hidden,), f"{target}_norm/gamma", _same),
            Mapping(f"{source}_layer_norm.bias", (hidden,), f"{target}_norm/beta", _same),
        ]
    return mappings
