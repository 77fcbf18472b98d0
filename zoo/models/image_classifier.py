"""Vision Transformer image classifier (Dosovitskiy et al. 2021)."""

import keras
import numpy as np

from zoo.layers import PatchEmbedding, TransformerEncoder
from zoo.models.task import (
    block_projection_paths,
    checked_class_names,
    classification_outputs,
    low_rank_arguments,
    preset_config,
)
from zoo.models.base import Task


def size_pair(name, value):
    """`value`, an int or a `(height, width)` pair, as a pair; a clear error for anything else."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(size, int) and size > 0 for size in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them. Received: {name}={value!r}")
    return pair


class ImageClassifierMixin:
    """Raw-pixel checks, `predict` and `classify`, shared by `ImageClassifier` and `CNNImageClassifier`.

    A class using it has the attributes `image_size` (`(height, width)`),
    `num_channels` and `class_names`, and takes raw pixels `(B, H, W, C)`.
    """

    def validate_images(self, images):
        """Raise a clear `ValueError` unless `images` is a non-empty `(B, H, W, C)` batch of this model's
        size with integer or finite float pixels."""
        shape = tuple(getattr(images, "shape", ()))
        expected = (*self.image_size, self.num_channels)
        if len(shape) != 4 or shape[1:] != expected:
            raise ValueError(
                f"expected images of shape (batch, {expected[0]}, {expected[1]}, {expected[2]}); "
                f"received shape {shape}"
            )
        try:
            dtype = np.dtype(keras.backend.standardize_dtype(images.dtype))
        except (TypeError, ValueError):
            dtype = None
        if dtype is None or not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
            raise ValueError(f"expected uint8 or float pixel values; received dtype {images.dtype}")
        if shape[0] == 0:
            raise ValueError(f"expected at least one image; received shape {shape}")
        if np.issubdtype(dtype, np.floating):
            finite = np.isfinite(np.asarray(images)).reshape(shape[0], -1).all(axis=1)
            if not finite.all():
                raise ValueError(
                    f"expected finite pixel values; image {int(np.flatnonzero(~finite)[0])} holds NaN or infinity"
                )

    def predict(self, x, *args, **kwargs):
        if not isinstance(x, dict) and hasattr(x, "shape"):
            self.validate_images(x)
        return super().predict(x, *args, **kwargs)

    def classify(self, images, batch_size=256):
        """Labels, class ids and probabilities for a batch of raw-pixel images."""
        self.validate_images(images)
        logits = super().predict(np.asarray(images, "float32"), batch_size=batch_size, verbose=0)
        return classification_outputs(logits, self.class_names)


@keras.saving.register_keras_serializable(package="zoo")
class ImageClassifier(ImageClassifierMixin, Task):
    """ViT: patches + [CLS] token -> pre-LN Transformer encoder -> linear head.

    The model takes raw pixel values (0..255, uint8 or float) of shape
    `(B, height, width, num_channels)`, multiplies them by `pixel_scale`
    inside the graph, and returns class logits `(B, num_classes)`.

    Args:
        image_size: int or `(height, width)`.
        patch_size: int or `(height, width)`, must divide `image_size`.
        num_classes: int.
        num_channels: int, 1 for grayscale, 3 for RGB.
        hidden_dim: int, token width.
        num_layers: int, number of encoder blocks.
        num_heads: int, attention heads per block; must divide `hidden_dim`.
        intermediate_dim: int, feed-forward width.
        dropout: float, dropout in the blocks and after the embedding.
        activation: feed-forward activation (`"gelu"` as in ViT).
        pooling: `"class_token"` (ViT) or `"mean"` over patch tokens.
        pixel_scale: float, multiplies raw pixels (1/255 maps 0..255 to 0..1).
        class_names: list of `num_classes` names; defaults to `"0"`, `"1"`, ...
        low_rank: `None` (every projection dense) or a dict from an fnmatch
            pattern over projection paths to a rank (`zoo.layers.LowRankDense`)
            or `None` (dense); the last matching pattern wins. Paths are
            `"<block>/<sublayer>/<projection>"`, e.g. `"encoder_0/self_attention/query"`.
            `{"*attention/*": 32}` factorizes every attention projection;
            `zoo.compress.factorize` writes exact paths. The rank arguments of
            earlier versions (`projection_rank`, `ffn_rank`, `layer_ranks`) are
            still read from old files and `from_preset`.

    Example:
    >>> model = ImageClassifier.from_preset("tiny")
    >>> logits = model(np.zeros((2, 8, 8, 1), "uint8"))
    >>> model.classify(np.zeros((2, 8, 8, 1), "uint8"))["labels"]
    """

    def __init__(
        self,
        image_size,
        patch_size,
        num_classes,
        num_channels=3,
        hidden_dim=64,
        num_layers=4,
        num_heads=4,
        intermediate_dim=128,
        dropout=0.0,
        activation="gelu",
        pooling="class_token",
        pixel_scale=1.0 / 255.0,
        class_names=None,
        low_rank=None,
        **kwargs,
    ):
        if pooling not in ("class_token", "mean"):
            raise ValueError(f"pooling must be 'class_token' or 'mean'. Received: pooling={pooling!r}")
        class_names = checked_class_names(num_classes, class_names)
        height, width = size_pair("image_size", image_size)

        # === Functional graph ===
        images = keras.Input(shape=(height, width, num_channels), name="images")
        x = keras.layers.Rescaling(pixel_scale, name="rescaling")(images)
        x = PatchEmbedding(
            (height, width), patch_size, hidden_dim, num_channels,
            use_class_token=pooling == "class_token", name="patch_embedding",
        )(x)  # (B, N(+1), D)
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
        block_names = [f"encoder_{index}" for index in range(num_layers)]
        blocks = {name: block_projection_paths(name, activation) for name in block_names}
        ranks, _ = low_rank_arguments(low_rank, blocks)
        for name in block_names:
            x = TransformerEncoder(
                num_heads, intermediate_dim, dropout=dropout, activation=activation,
                layer_norm_epsilon=1e-6, normalize_first=True, name=name, **ranks[name],
            )(x)
        x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
        if pooling == "class_token":
            pooled = x[:, 0]  # (B, D): the [CLS] token
        else:
            pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x)
        logits = keras.layers.Dense(num_classes, name="logits")(pooled)
        super().__init__(inputs=images, outputs=logits, **kwargs)

        # === Config ===
        self.image_size = (height, width)
        self.patch_size = size_pair("patch_size", patch_size)
        self.num_classes = num_classes
        self.num_channels = num_channels
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.pooling = pooling
        self.pixel_scale = pixel_scale
        self.class_names = class_names
        self.low_rank = None if low_rank is None else dict(low_rank)

    @classmethod
    def from_preset(cls, name, **overrides):
        """Build from a named preset (see `zoo.models.presets`), with overrides."""
        return cls(**preset_config(cls, "image_classifier", name, overrides))
