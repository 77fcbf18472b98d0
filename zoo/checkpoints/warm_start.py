"""Warm-start an encoder-decoder from a BERT-family encoder checkpoint (Rothe, Narayan & Severyn 2020).

    checkpoint = load_bert("minilm")
    backbone = EncoderDecoderBackbone(**warm_start_arguments(checkpoint, source_length=128, target_length=32))
    model = Seq2SeqLM(backbone, source_preprocessor=..., target_preprocessor=..., use_logits_bias=True)
    assign_warm_start(checkpoint, model)

`Seq2SeqLM.from_encoder_checkpoint("minilm", ...)` does exactly this
("BERT2BERT" with shared weights initialized, not shared during training):

- encoder: the checkpoint's BERT, weight for weight (post-LN, exact GELU,
  learned positions, the embedding LayerNorm);
- decoder: the same blocks again (self-attention, its norm, the feed-forward
  and its norm copied from BERT layer `i`), run with a causal mask, plus a
  cross-attention sublayer per block that the checkpoint does not have:
  randomly initialized (Glorot kernels, zero biases, LayerNorm 1 / 0);
- one WordPiece vocabulary (the checkpoint's `vocab.txt`) and one token
  table for both sides, tied to the output projection; a zero-initialized
  `final_logits_bias`. `[CLS]` starts the decoder (BOS) and `[SEP]` ends
  a summary (EOS), as BERT's own packing puts them; `[PAD]` pads;
- BERT adds the token-type embedding of segment 0 to every input token:
  zoo folds it into both position tables (exactly BERT's embedding for
  single-segment inputs, as `BertCheckpoint.assign` does).

The encoder's and the decoder's copies are separate weights, so
fine-tuning moves them apart. BERT's pooler and pretraining heads (if the
file has them) are unused, as in `zoo.checkpoints.bert`.
"""

from zoo.checkpoints.bert import load_bert
from zoo.checkpoints.decoder_tensors import Mapping

# Decoder weights that a BERT encoder has no tensor for (randomly initialized, as Rothe et al.).
NEW_WEIGHTS = ("cross_attention/", "cross_attention_norm/")
NEW_OUTPUT_WEIGHTS = ("final_logits_bias/bias",)


def warm_start_arguments(checkpoint, source_length=128, target_length=32, num_decoder_layers=None, dropout=0.1):
    """`EncoderDecoderBackbone` arguments of a BERT checkpoint's warm-started encoder-decoder.

    Args:
        checkpoint: a `zoo.checkpoints.BertCheckpoint` (`load_bert`).
        source_length: int, the longest source in tokens (with `[CLS]` and
            `[SEP]`), at most `max_position_embeddings`.
        target_length: int, the longest decoder input (`[CLS]` + summary),
            at most `max_position_embeddings`.
        num_decoder_layers: int or None, decoder blocks warm-started from the
            first BERT layers (None: all of them, as Rothe et al.).
        dropout: float, in the blocks and after the embeddings (BERT's
            `hidden_dropout_prob` for fine-tuning is 0.1).

    Returns:
        A dict of `EncoderDecoderBackbone` arguments.

    Raises:
        ValueError: a length or `num_decoder_layers` out of range (named).
    """
    config = checkpoint.hf_config
    limit, layers = config["max_position_embeddings"], config["num_hidden_layers"]
    for name, value in (("source_length", source_length), ("target_length", target_length)):
        if not isinstance(value, int) or not 4 <= value <= limit:
            raise ValueError(
                f"{name} must be an integer in [4, {limit}] (the checkpoint's position table). "
                f"Received: {name}={value!r}"
            )
    num_decoder_layers = layers if num_decoder_layers is None else num_decoder_layers
    if not isinstance(num_decoder_layers, int) or not 1 <= num_decoder_layers <= layers:
        raise ValueError(
            f"num_decoder_layers must be an integer in [1, {layers}] (the checkpoint's layers). "
            f"Received: num_decoder_layers={num_decoder_layers!r}"
        )
    return {
        "vocabulary_size": config["vocab_size"],
        "sequence_length": source_length,
        "decoder_sequence_length": target_length,
        "hidden_dim": config["hidden_size"],
        "num_encoder_layers": layers,
        "num_decoder_layers": num_decoder_layers,
        "num_heads": config["num_attention_heads"],
        "intermediate_dim": config["intermediate_size"],
        "activation": config.get("hidden_act", "gelu"),
        "dropout": dropout,
        "normalize_first": False,  # BERT is post-LN
        "layer_norm_epsilon": config.get("layer_norm_eps", 1e-12),
        "use_final_norm": False,
        "use_embedding_norm": True,  # embeddings.LayerNorm
        "position_encoding": "learned",
        "tie_word_embeddings": True,
        "share_token_embeddings": True,
    }


def warm_start_tensors(checkpoint, arguments):
    """The mappings BERT tensor -> warm-started `Seq2SeqLM` weight (a tensor may feed an encoder and a decoder weight).

    Args:
        checkpoint: a `BertCheckpoint`.
        arguments: the backbone's arguments (`warm_start_arguments`).

    Returns:
        A list of `zoo.checkpoints.decoder_tensors.Mapping`; `convert` of the
        position tables adds the segment-0 token-type row and keeps the
        first `sequence_length` rows.
    """
    config, tensors = checkpoint.hf_config, checkpoint.tensors
    hidden, heads, inner = config["hidden_size"], config["num_attention_heads"], config["intermediate_size"]
    head_dim = hidden // heads
    segment = 0.0
    if config.get("type_vocab_size", 0):
        segment = tensors["embeddings.token_type_embeddings.weight"][0]
    positions = (config["max_position_embeddings"], hidden)

    def same(value):
        return value

    def transposed(value):
        return value.T

    mappings = [Mapping("embeddings.word_embeddings.weight", (config["vocab_size"], hidden), _TABLE, same)]
    for side, length in (("encoder", arguments["sequence_length"]), ("decoder", arguments["decoder_sequence_length"])):
        mappings.append(
            Mapping(
                "embeddings.position_embeddings.weight",
                positions,
                f"{side}_embedding/position_embedding/embeddings",
                lambda value, length=length: value[:length] + segment,
            )
        )
        for part in ("weight", "bias"):
            path = f"{side}_embedding_norm/{'gamma' if part == 'weight' else 'beta'}"
            mappings.append(Mapping(f"embeddings.LayerNorm.{part}", (hidden,), path, same))
    blocks = [f"encoder_{index}" for index in range(arguments["num_encoder_layers"])]
    blocks += [f"decoder_{index}" for index in range(arguments["num_decoder_layers"])]
    for block in blocks:
        name = f"encoder.layer.{block.split('_')[1]}"
        for part in ("query", "key", "value"):
            source, target = f"{name}.attention.self.{part}", f"{block}/self_attention/{part}"
            mappings += [
                Mapping(
                    f"{source}.weight",
                    (hidden, hidden),
                    f"{target}/kernel",
                    lambda value: value.T.reshape(hidden, heads, head_dim),
                ),
                Mapping(f"{source}.bias", (hidden,), f"{target}/bias", lambda value: value.reshape(heads, head_dim)),
            ]
        output = f"{name}.attention.output.dense"
        mappings += [
            Mapping(
                f"{output}.weight",
                (hidden, hidden),
                f"{block}/self_attention/attention_output/kernel",
                lambda value: value.T.reshape(heads, head_dim, hidden),
            ),
            Mapping(f"{output}.bias", (hidden,), f"{block}/self_attention/attention_output/bias", same),
        ]
        for source, target, shape in (
            (f"{name}.intermediate.dense", f"{block}/feedforward/intermediate", (inner, hidden)),
            (f"{name}.output.dense", f"{block}/feedforward/output", (hidden, inner)),
        ):
            mappings += [
                Mapping(f"{source}.weight", shape, f"{target}/kernel", transposed),
                Mapping(f"{source}.bias", (shape[0],), f"{target}/bias", same),
            ]
        for source, target in (
            (f"{name}.attention.output.LayerNorm", f"{block}/self_attention_norm"),
            (f"{name}.output.LayerNorm", f"{block}/feedforward_norm"),
        ):
            mappings += [
                Mapping(f"{source}.weight", (hidden,), f"{target}/gamma", same),
                Mapping(f"{source}.bias", (hidden,), f"{target}/beta", same),
            ]
    return mappings


_TABLE = "encoder_embedding/token_embedding/embeddings"


def is_new_weight(path):
    """Whether a warm-started model's weight at `path` has no checkpoint tensor (cross-attention, logits bias)."""
    return path in NEW_OUTPUT_WEIGHTS or any(f"/{part}" in f"/{path}" for part in NEW_WEIGHTS)


def assign_warm_start(checkpoint, model):
    """Copy a BERT checkpoint into a `Seq2SeqLM` built on `warm_start_arguments(checkpoint, ...)`.

    Every mapping is checked first (the model has the weight, with the
    converted shape), then all are assigned, so a failure leaves the model
    as it was. Weights without a checkpoint tensor (`is_new_weight`) keep
    their initialization.

    Returns:
        The checkpoint tensor names used.

    Raises:
        ValueError: the model lacks a weight or has another shape (naming
            both), or has weights that are neither mapped nor new.
    """
    arguments = {
        "sequence_length": model.backbone.sequence_length,
        "decoder_sequence_length": model.backbone.decoder_sequence_length,
        "num_encoder_layers": model.backbone.num_encoder_layers,
        "num_decoder_layers": model.backbone.num_decoder_layers,
    }
    variables = {variable.path: variable for variable in model.weights}
    mappings = warm_start_tensors(checkpoint, arguments)
    values = []
    for mapping in mappings:
        value = mapping.convert(checkpoint.tensors[mapping.name])
        variable = variables.get(mapping.path)
        if variable is None or tuple(variable.shape) != tuple(value.shape):
            found = None if variable is None else tuple(variable.shape)
            raise ValueError(
                f"checkpoint tensor {mapping.name!r} maps to {mapping.path} {tuple(value.shape)}, but the model has "
                f"{found}; build it from warm_start_arguments(checkpoint, ...) with use_logits_bias=True"
            )
        values.append((variable, value))
    left = sorted(set(variables) - {mapping.path for mapping in mappings})
    unexplained = [path for path in left if not is_new_weight(path)]
    if unexplained:
        raise ValueError(f"the model has weights a BERT checkpoint does not fill: {unexplained[:5]}")
    for variable, value in values:
        variable.assign(value.astype(variable.dtype))
    return sorted({mapping.name for mapping in mappings})


def from_encoder_checkpoint(
    cls, path="minilm", source_length=128, target_length=32, num_decoder_layers=None, dropout=0.1
):
    """A `Seq2SeqLM` whose encoder and decoder start from a BERT-family checkpoint (`"minilm"` or a directory).

    Both sides tokenize with the checkpoint's WordPiece vocabulary (its
    `vocab.txt`, lowercased as its `tokenizer_config.json` says): the
    source preprocessor packs `source_length` tokens, the target one
    `target_length + 1` (`[CLS]` + summary + `[SEP]`, inputs and labels).
    See the module docstring for what is copied and what is new.

    Args:
        path: a directory with `config.json`, `model.safetensors` and
            `vocab.txt` (model_type `bert`), or `"minilm"` (the packaged
            all-MiniLM-L6-v2).
        source_length, target_length, num_decoder_layers, dropout: see
            `warm_start_arguments`.

    Returns:
        A `Seq2SeqLM` with preprocessors (`generate` takes and returns
        strings), `bos_token_id` = `[CLS]`, `end_token_id` = `[SEP]`.

    Raises:
        FileNotFoundError / ValueError: as `zoo.checkpoints.load_bert`, and
            for lengths out of range.

    Example:
    >>> model = Seq2SeqLM.from_encoder_checkpoint("minilm", source_length=128, target_length=32)
    >>> model.generate(["Return the number of items in a container."], max_length=32)
    """

    checkpoint = load_bert(path)
    arguments = warm_start_arguments(checkpoint, source_length, target_length, num_decoder_layers, dropout)
    model = cls(
        cls.backbone_class(**arguments),
        source_preprocessor=checkpoint.preprocessor(source_length),
        target_preprocessor=checkpoint.preprocessor(target_length + 1),
        use_logits_bias=True,
    )
    assign_warm_start(checkpoint, model)
    return model
