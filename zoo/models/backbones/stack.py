"""Pieces the backbones share: argument checks, the embedding stage and the block options.

The backbones name their layers as today's task models do (`embedding`,
`embedding_norm`, `encoder_0`, `decoder_0`, `final_norm`, ...), so their
weight paths are the task models' own.
"""

import keras
from keras import ops

from zoo.layers import PositionEmbedding, SinusoidalPositionEncoding, TokenAndPositionEmbedding
from zoo.layers.normalization import NORM_TYPES, normalization_layer
from zoo.models.task import block_projection_paths, low_rank_arguments

POSITION_ENCODINGS = ("learned", "sinusoidal", "rotary")


def check_positive_integers(**values):
    """Raise a "Received: name=value" `ValueError` unless every value is an int >= 1, not a bool."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")


def check_options(hidden_dim, num_heads, norm_type, dropout, position_encoding=None):
    """The checks every backbone makes before it builds a layer."""
    if hidden_dim % num_heads:
        raise ValueError(f"num_heads must divide hidden_dim. Received: hidden_dim={hidden_dim}, num_heads={num_heads}")
    if norm_type not in NORM_TYPES:
        raise ValueError(f"norm_type must be one of {NORM_TYPES}. Received: norm_type={norm_type!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    if position_encoding is not None and position_encoding not in POSITION_ENCODINGS:
        raise ValueError(
            f"position_encoding must be one of {POSITION_ENCODINGS}. Received: position_encoding={position_encoding!r}"
        )


def token_embedding(
    name,
    vocabulary_size,
    sequence_length,
    hidden_dim,
    position_encoding,
    position_offset,
    sinusoidal_layout,
    embedding_scale,
    embedding_rank=None,
):
    """A `TokenAndPositionEmbedding`; rotary positions live in attention, so they add none here.

    A plain rotary table (no factorization, no scale) is a `keras.layers.Embedding` named `name`
    (weights `<name>/embeddings`), the layout of rotary `CausalLM` files saved before the backbones.
    """
    if position_encoding == "rotary" and embedding_rank is None and embedding_scale is None:
        return keras.layers.Embedding(vocabulary_size, hidden_dim, name=name)
    return TokenAndPositionEmbedding(
        vocabulary_size,
        sequence_length,
        hidden_dim,
        position_encoding="none" if position_encoding == "rotary" else position_encoding,
        embedding_rank=embedding_rank,
        embedding_scale=embedding_scale,
        position_offset=position_offset,
        sinusoidal_layout=sinusoidal_layout,
        name=name,
    )


class SharedTableEmbedding(keras.layers.Layer):
    """Another stack's token table (a `keras.layers.Embedding`) with positions of its own.

    The decoder embedding of an encoder-decoder that shares one table
    between its sides (BART, Marian). It is built and rebuilt by its
    backbone, never deserialized alone. Its position table has the path a
    `TokenAndPositionEmbedding`'s would (`<name>/position_embedding/...`).

    Args:
        token_embedding: the shared `keras.layers.Embedding`.
        token_projection: the shared `E -> D` projection of a factorized
            table, or `None`.
        sequence_length, position_encoding, position_offset,
        sinusoidal_layout, embedding_scale: as `TokenAndPositionEmbedding`.
    """

    def __init__(
        self,
        token_embedding,
        token_projection,
        sequence_length,
        position_encoding,
        position_offset,
        sinusoidal_layout,
        embedding_scale,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.token_projection = token_projection
        self.embedding_scale = embedding_scale
        self.position_embedding = None
        if position_encoding == "learned":
            self.position_embedding = PositionEmbedding(
                sequence_length, offset=position_offset, name="position_embedding"
            )
        elif position_encoding == "sinusoidal":
            self.position_embedding = SinusoidalPositionEncoding(layout=sinusoidal_layout, name="position_embedding")

    def build(self, token_ids_shape):
        if self.position_embedding is not None:
            self.position_embedding.build(tuple(token_ids_shape) + (self._output_dim,))
        self.built = True

    @property
    def _output_dim(self):
        projection = self.token_projection
        return self.token_embedding.output_dim if projection is None else projection.units

    def call(self, token_ids, start_index=0):
        embedded = self.token_embedding(token_ids)  # (B, T, D), or (B, T, E) factorized
        if self.token_projection is not None:
            embedded = self.token_projection(embedded)  # (B, T, D)
        if self.embedding_scale is not None:
            embedded = embedded * ops.cast(self.embedding_scale, embedded.dtype)
        if self.position_embedding is not None:
            embedded = embedded + self.position_embedding(embedded, start_index=start_index)
        return embedded

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self._output_dim,)


def optional_norm(use_norm, norm_type, epsilon, name):
    """A norm layer named `name`, or `None` when `use_norm` is false."""
    return normalization_layer(norm_type, epsilon, name) if use_norm else None


def embed(embedding, norm, dropout, token_ids, start_index=0, training=None):
    """Token (+ position) embedding, then the optional norm and dropout: `(B, T, D)`."""
    if isinstance(embedding, keras.layers.Embedding):  # a plain rotary table: no positions to offset
        x = embedding(token_ids)
    else:
        x = embedding(token_ids, start_index=start_index)
    if norm is not None:
        x = norm(x)
    return x if dropout is None else dropout(x, training=training)


def block_arguments(backbone_arguments, use_rotary=False, rope_theta=10000.0):
    """Keyword arguments of `TransformerEncoder` / `TransformerDecoder` from a backbone's.

    Args:
        backbone_arguments: dict with the backbone's `intermediate_dim`,
            `num_key_value_heads`, `activation`, `dropout`, `norm_type`,
            `normalize_first`, `layer_norm_epsilon`, `use_attention_bias`,
            `use_attention_output_bias` and `use_mlp_bias`.
        use_rotary: bool, rotary position embedding in self-attention.
        rope_theta: float, the RoPE base.

    Returns:
        A dict for the block constructors (with `num_heads`).
    """
    names = (
        "num_heads",
        "intermediate_dim",
        "num_key_value_heads",
        "activation",
        "dropout",
        "norm_type",
        "normalize_first",
        "layer_norm_epsilon",
        "use_attention_bias",
        "use_attention_output_bias",
        "use_mlp_bias",
    )
    arguments = {name: backbone_arguments[name] for name in names}
    arguments.update(use_rotary=use_rotary, rotary_max_wavelength=rope_theta)
    return arguments


def low_rank_plan(low_rank, activation, blocks, embedding_names):
    """The block and embedding ranks `low_rank` selects (see `zoo.models.task.low_rank_arguments`).

    Args:
        low_rank: `None` or `{fnmatch pattern over projection paths: rank or None}`.
        activation: the blocks' activation (swiglu blocks have a `gate`).
        blocks: `{block name: whether it has cross-attention}`.
        embedding_names: the `TokenAndPositionEmbedding` layers' names.

    Returns:
        `({block name: {"layer_ranks": ...}}, {embedding name: rank or None})`.
    """
    paths = {
        name: block_projection_paths(name, activation, cross_attention) for name, cross_attention in blocks.items()
    }
    return low_rank_arguments(low_rank, paths, embedding_names)


def dropout_layer(rate, name):
    return keras.layers.Dropout(rate, name=name)
