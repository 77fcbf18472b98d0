"""Input embeddings: tokens + positions for text, patches + positions for images."""

import keras
from keras import ops

from zoo.layers.position import SINUSOIDAL_LAYOUTS, PositionEmbedding, SinusoidalPositionEncoding

POSITION_ENCODINGS = ("learned", "sinusoidal", "none")


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a position encoding.

    Args:
        vocabulary_size: int, number of token ids.
        sequence_length: int, the longest sequence (size of the learned
            position table).
        embedding_dim: int, output width.
        position_encoding: `"learned"`, `"sinusoidal"`, or `"none"` (e.g.
            when attention uses rotary embeddings).
        scale_embeddings: bool, multiply token embeddings by
            `sqrt(embedding_dim)` as in Vaswani et al. 2017.
        embeddings_initializer: initializer of the token table.
        embedding_rank: optional int `E`, a factorized token embedding
            (ALBERT, Lan et al. 2020): a `(vocabulary_size, E)` table
            (`token_embedding`) followed by a bias-free `E -> embedding_dim`
            projection (`token_projection`), `E * (vocabulary_size +
            embedding_dim)` weights instead of `vocabulary_size *
            embedding_dim`. `None`: one `(vocabulary_size, embedding_dim)`
            table.
        embedding_scale: optional float multiplying the token embeddings
            (before the positions are added), e.g. `sqrt(embedding_dim)`
            for Marian's and BART's `scale_embedding`. Cannot be combined
            with `scale_embeddings=True`.
        position_offset: int >= 0, rows skipped at the start of the learned
            position table (BART and RoBERTa: 2); see `PositionEmbedding`.
        sinusoidal_layout: `"interleaved"` or `"concatenated"` (Marian), the
            layout of `position_encoding="sinusoidal"`; see
            `SinusoidalPositionEncoding`.

    Call arguments:
        token_ids: `(B, T)` integer ids.
        start_index: int or scalar tensor, position of the first token (the
            cache index when decoding step by step).

    Returns:
        `(B, T, embedding_dim)`.

    Example:
    >>> embed = TokenAndPositionEmbedding(vocabulary_size=1000, sequence_length=64, embedding_dim=32)
    >>> x = embed(keras.ops.ones((2, 10), dtype="int32"))
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim,
        position_encoding="learned",
        scale_embeddings=False,
        embeddings_initializer="uniform",
        embedding_rank=None,
        embedding_scale=None,
        position_offset=0,
        sinusoidal_layout="interleaved",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("vocabulary_size", vocabulary_size),
            ("sequence_length", sequence_length),
            ("embedding_dim", embedding_dim),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        if embedding_rank is not None and (
            not isinstance(embedding_rank, int) or isinstance(embedding_rank, bool) or embedding_rank <= 0
        ):
            raise ValueError(
                f"embedding_rank must be None or a positive integer. Received: embedding_rank={embedding_rank!r}"
            )
        if position_encoding not in POSITION_ENCODINGS:
            raise ValueError(
                f"position_encoding must be one of {POSITION_ENCODINGS}. "
                f"Received: position_encoding={position_encoding!r}"
            )
        if embedding_scale is not None and scale_embeddings:
            raise ValueError(
                "give scale_embeddings=True (a sqrt(embedding_dim) scale) or embedding_scale, not both. "
                f"Received: scale_embeddings={scale_embeddings}, embedding_scale={embedding_scale}"
            )
        if position_offset and position_encoding != "learned":
            raise ValueError(
                "position_offset applies to a learned position table. Received: "
                f"position_offset={position_offset!r}, position_encoding={position_encoding!r}"
            )
        if sinusoidal_layout not in SINUSOIDAL_LAYOUTS:
            raise ValueError(
                f"sinusoidal_layout must be one of {SINUSOIDAL_LAYOUTS}. "
                f"Received: sinusoidal_layout={sinusoidal_layout!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.position_encoding = position_encoding
        self.scale_embeddings = scale_embeddings
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embedding_rank = embedding_rank
        self.embedding_scale = embedding_scale
        self.position_offset = position_offset
        self.sinusoidal_layout = sinusoidal_layout
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim if embedding_rank is None else embedding_rank,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_projection = None
        if embedding_rank is not None:
            self.token_projection = keras.layers.Dense(
                embedding_dim, use_bias=False, dtype=self.dtype_policy, name="token_projection"
            )
        self.position_embedding = None
        if position_encoding == "learned":
            self.position_embedding = PositionEmbedding(
                sequence_length,
                offset=position_offset,
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        elif position_encoding == "sinusoidal":
            self.position_embedding = SinusoidalPositionEncoding(
                layout=sinusoidal_layout, dtype=self.dtype_policy, name="position_embedding"
            )

    def build(self, token_ids_shape):
        self.token_embedding.build(token_ids_shape)
        if self.token_projection is not None:
            self.token_projection.build(tuple(token_ids_shape) + (self.embedding_rank,))
        if self.position_embedding is not None:
            self.position_embedding.build(tuple(token_ids_shape) + (self.embedding_dim,))
        self.built = True

    def call(self, token_ids, start_index=0):
        embedded = self.token_embedding(token_ids)  # (B, T, D), or (B, T, E) factorized
        if self.token_projection is not None:
            embedded = self.token_projection(embedded)  # (B, T, D)
        if self.scale_embeddings:
            embedded = embedded * ops.cast(self.embedding_dim**0.5, embedded.dtype)
        elif self.embedding_scale is not None:
            embedded = embedded * ops.cast(self.embedding_scale, embedded.dtype)
        if self.position_embedding is not None:
            embedded = embedded + self.position_embedding(embedded, start_index=start_index)
        return embedded

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "embedding_dim": self.embedding_dim,
                "position_encoding": self.position_encoding,
                "scale_embeddings": self.scale_embeddings,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "embedding_rank": self.embedding_rank,
                "embedding_scale": self.embedding_scale,
                "position_offset": self.position_offset,
                "sinusoidal_layout": self.sinusoidal_layout,
            }
        )
        return config


def _pair(name, value):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them. Received: {name}={value!r}")
    return pair


@keras.saving.register_keras_serializable(package="zoo")
class PatchEmbedding(keras.layers.Layer):
    """Split images into patches, project each, prepend a class token, add positions (ViT).

    The projection is a convolution with kernel and stride `patch_size`,
    which is the same as flattening each patch and multiplying by a
    `(patch_area * channels, hidden_dim)` matrix.

    Args:
        image_size: int or `(height, width)`; must be divisible by `patch_size`.
        patch_size: int or `(height, width)`.
        hidden_dim: int, output width.
        num_channels: int, image channels.
        use_class_token: bool, prepend a learned `[CLS]` token.

    Call arguments:
        images: `(B, height, width, num_channels)` float tensor.

    Returns:
        `(B, num_patches + use_class_token, hidden_dim)`.

    Example:
    >>> embed = PatchEmbedding(image_size=28, patch_size=7, hidden_dim=64, num_channels=1)
    >>> tokens = embed(keras.random.uniform((2, 28, 28, 1)))  # (2, 17, 64)
    """

    def __init__(self, image_size, patch_size, hidden_dim, num_channels=3, use_class_token=True, **kwargs):
        super().__init__(**kwargs)
        self.image_size = _pair("image_size", image_size)
        self.patch_size = _pair("patch_size", patch_size)
        if any(size % patch for size, patch in zip(self.image_size, self.patch_size)):
            raise ValueError(
                f"patch_size must divide image_size; received image_size={self.image_size}, "
                f"patch_size={self.patch_size}"
            )
        self.hidden_dim = hidden_dim
        self.num_channels = num_channels
        self.use_class_token = use_class_token
        grid = [size // patch for size, patch in zip(self.image_size, self.patch_size)]
        self.num_patches = grid[0] * grid[1]
        self.projection = keras.layers.Conv2D(
            hidden_dim,
            kernel_size=self.patch_size,
            strides=self.patch_size,
            padding="valid",
            dtype=self.dtype_policy,
            name="projection",
        )
        self.position_embedding = PositionEmbedding(
            self.num_patches + int(use_class_token), dtype=self.dtype_policy, name="position_embedding"
        )

    def _check_shape(self, images_shape):
        expected = (*self.image_size, self.num_channels)
        known = [actual in (None, wanted) for actual, wanted in zip(tuple(images_shape)[1:], expected)]
        if len(images_shape) != 4 or not all(known):
            raise ValueError(
                f"PatchEmbedding expects images of shape (batch, {expected[0]}, {expected[1]}, "
                f"{expected[2]}); received shape {tuple(images_shape)}"
            )

    def build(self, images_shape):
        self._check_shape(images_shape)
        self.projection.build(images_shape)
        if self.use_class_token:
            self.class_token = self.add_weight(name="class_token", shape=(1, 1, self.hidden_dim), initializer="zeros")
        self.position_embedding.build((None, self.num_patches + int(self.use_class_token), self.hidden_dim))
        self.built = True

    def call(self, images):
        self._check_shape(images.shape)
        patches = self.projection(images)  # (B, H/p, W/p, D)
        batch_size = ops.shape(patches)[0]
        patches = ops.reshape(patches, (batch_size, self.num_patches, self.hidden_dim))  # (B, N, D)
        if self.use_class_token:
            class_token = ops.cast(self.class_token, patches.dtype)
            class_tokens = ops.broadcast_to(class_token, (batch_size, 1, self.hidden_dim))
            patches = ops.concatenate([class_tokens, patches], axis=1)  # (B, N + 1, D)
        return patches + self.position_embedding(patches)

    def compute_output_shape(self, images_shape):
        return (images_shape[0], self.num_patches + int(self.use_class_token), self.hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "patch_size": self.patch_size,
                "hidden_dim": self.hidden_dim,
                "num_channels": self.num_channels,
                "use_class_token": self.use_class_token,
            }
        )
        return config
