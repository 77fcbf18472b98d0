"""Bidirectional Transformer encoder backbone (BERT, RoBERTa, MiniLM)."""

import keras

from zoo.layers import TransformerEncoder
from zoo.models.backbones.backbone import Backbone
from zoo.models.backbones.stack import (
    block_arguments,
    check_options,
    check_positive_integers,
    dropout_layer,
    low_rank_plan,
    optional_norm,
    token_embedding,
)


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBackbone(Backbone):
    """Token + position (+ segment) embedding -> norm -> `num_layers` `TransformerEncoder` blocks.

    Inputs are `token_ids` and `padding_mask` `(B, T)`, plus `segment_ids`
    `(B, T)` when `num_segments > 0`; the output is the final hidden states
    `(B, T, hidden_dim)`. The defaults are BERT's structure (post-LN,
    learned positions, an embedding norm, gelu, all biases); RoBERTa adds
    `position_offset=2`. The layer names are those of today's
    `TextClassifier` / `TextEmbedder` stack (`embedding`,
    `segment_embedding`, `embedding_norm`, `encoder_0`, ..., `final_norm`).

    Args:
        vocabulary_size: int, number of token ids.
        sequence_length: int, the longest sequence (learned position table).
        hidden_dim: int, token width.
        num_layers: int, number of encoder blocks.
        num_heads: int, query heads; must divide `hidden_dim`.
        intermediate_dim: int, feed-forward width.
        num_key_value_heads: int dividing `num_heads`, or `None`.
        activation: feed-forward activation, one of
            `zoo.layers.feedforward.ACTIVATIONS`.
        dropout: float in [0, 1), in the blocks and after the embedding.
        norm_type: `"layer_norm"` or `"rms_norm"`.
        normalize_first: bool, pre-LN (True) or post-LN (False, BERT) blocks.
        layer_norm_epsilon: float, of every norm (BERT: 1e-12).
        use_final_norm: bool, a norm (`final_norm`) after the last block
            (what pre-LN stacks have).
        use_embedding_norm: bool, a norm (`embedding_norm`) after the
            embedding (BERT's embedding LayerNorm).
        position_encoding: `"learned"`, `"sinusoidal"` or `"rotary"`.
        position_offset: int, rows skipped at the start of a learned
            position table (RoBERTa: 2).
        sinusoidal_layout: `"interleaved"` or `"concatenated"`.
        rope_theta: float, the RoPE base with rotary positions.
        use_attention_bias, use_attention_output_bias, use_mlp_bias:
            biases, as in `TransformerDecoderBackbone`.
        embedding_scale: optional float multiplying the token embeddings.
        num_segments: int >= 0, size of the segment (token type) table;
            0 for none.
        tie_word_embeddings: bool, whether a task's output projection (a
            masked-LM head) is the transposed token table (`logits`).
        low_rank: `None` or `{fnmatch pattern: rank or None}` over
            projection paths (`"encoder_0/self_attention/query"`,
            `"embedding/token_embedding"`), as in
            `TransformerDecoderBackbone`.
        fixed_input_length: bool, inputs of exactly `sequence_length`
            tokens `(B, sequence_length)` instead of any `T <=
            sequence_length` (the fixed-width graph of `TextClassifier` and
            `QuestionAnswerer`).

    Raises:
        ValueError: for a non-positive size, `num_heads` not dividing
            `hidden_dim`, or an unknown option value.

    Example:
    >>> backbone = TransformerEncoderBackbone.from_preset("tiny")
    >>> hidden = backbone({"token_ids": ids, "padding_mask": mask})  # (B, T, D)
    """

    preset_family = "encoder_backbone"

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        hidden_dim,
        num_layers,
        num_heads,
        intermediate_dim,
        num_key_value_heads=None,
        activation="gelu",
        dropout=0.0,
        norm_type="layer_norm",
        normalize_first=False,
        layer_norm_epsilon=1e-5,
        use_final_norm=False,
        use_embedding_norm=True,
        position_encoding="learned",
        position_offset=0,
        sinusoidal_layout="interleaved",
        rope_theta=10000.0,
        use_attention_bias=True,
        use_attention_output_bias=None,
        use_mlp_bias=True,
        embedding_scale=None,
        num_segments=0,
        tie_word_embeddings=False,
        low_rank=None,
        fixed_input_length=False,
        **kwargs,
    ):
        check_positive_integers(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
        )
        check_options(hidden_dim, num_heads, norm_type, dropout, position_encoding)
        if isinstance(num_segments, bool) or not isinstance(num_segments, int) or num_segments < 0:
            raise ValueError(f"num_segments must be a non-negative integer. Received: num_segments={num_segments!r}")

        # === Layers ===
        names = [f"encoder_{index}" for index in range(num_layers)]
        ranks, embedding_ranks = low_rank_plan(low_rank, activation, dict.fromkeys(names, False), ["embedding"])
        embedding = token_embedding(
            "embedding",
            vocabulary_size,
            sequence_length,
            hidden_dim,
            position_encoding,
            position_offset,
            sinusoidal_layout,
            embedding_scale,
            embedding_ranks["embedding"],
        )
        segment_embedding = None
        if num_segments:
            segment_embedding = keras.layers.Embedding(num_segments, hidden_dim, name="segment_embedding")
        embedding_norm = optional_norm(use_embedding_norm, norm_type, layer_norm_epsilon, "embedding_norm")
        blocks = block_arguments(locals(), position_encoding == "rotary", rope_theta)
        encoder_layers = [TransformerEncoder(name=name, **blocks, **ranks[name]) for name in names]
        final_norm = optional_norm(use_final_norm, norm_type, layer_norm_epsilon, "final_norm")

        # === Functional graph ===
        width = sequence_length if fixed_input_length else None
        inputs = {
            "token_ids": keras.Input((width,), dtype="int32", name="token_ids"),
            "padding_mask": keras.Input((width,), dtype="int32", name="padding_mask"),
        }
        if segment_embedding is not None:
            inputs["segment_ids"] = keras.Input((width,), dtype="int32", name="segment_ids")
        x = embedding(inputs["token_ids"])  # (B, T, D)
        if segment_embedding is not None:
            x = x + segment_embedding(inputs["segment_ids"])
        if embedding_norm is not None:
            x = embedding_norm(x)
        x = dropout_layer(dropout, "embedding_dropout")(x)
        for layer in encoder_layers:
            x = layer(x, padding_mask=inputs["padding_mask"])
        if final_norm is not None:
            x = final_norm(x)
        super().__init__(inputs=inputs, outputs=x, **kwargs)
        self.embedding, self.segment_embedding = embedding, segment_embedding
        self.embedding_norm, self.encoder_layers, self.final_norm = (embedding_norm, encoder_layers, final_norm)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.num_key_value_heads = num_key_value_heads
        self.activation = activation
        self.dropout = dropout
        self.norm_type = norm_type
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_final_norm = use_final_norm
        self.use_embedding_norm = use_embedding_norm
        self.position_encoding = position_encoding
        self.position_offset = position_offset
        self.sinusoidal_layout = sinusoidal_layout
        self.rope_theta = rope_theta
        self.use_attention_bias = use_attention_bias
        self.use_attention_output_bias = use_attention_output_bias
        self.use_mlp_bias = use_mlp_bias
        self.embedding_scale = embedding_scale
        self.num_segments = num_segments
        self.tie_word_embeddings = tie_word_embeddings
        self.low_rank = None if low_rank is None else dict(low_rank)
        self.fixed_input_length = fixed_input_length
