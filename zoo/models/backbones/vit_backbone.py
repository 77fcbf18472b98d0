"""Vision Transformer backbone (Dosovitskiy et al. 2021)."""

import keras
from keras import ops

from zoo.layers import PatchEmbedding, TransformerEncoder
from zoo.models.backbones.backbone import Backbone
from zoo.models.backbones.stack import (
    block_arguments,
    check_options,
    check_positive_integers,
    dropout_layer,
    low_rank_plan,
    optional_norm,
)


def _pair(name, value):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of them. Received: {name}={value!r}")
    check_positive_integers(**{name: pair[0]}, **{f"{name}[1]": pair[1]})
    return pair


def _per_channel(name, value, num_channels):
    """`value` (a number or one per channel) as a tuple of `num_channels` floats."""
    values = (value,) * num_channels if isinstance(value, (int, float)) else tuple(value)
    if len(values) != num_channels or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(
            f"{name} must be a number or {num_channels} of them (one per channel). Received: {name}={value!r}"
        )
    return tuple(float(v) for v in values)


class ImageResize(keras.layers.Layer):
    """Resize `(B, H, W, C)` pixels to `size` (bilinear, antialiased) unless they have it already.

    Antialiased bilinear is what PIL's and torchvision's bilinear resize do,
    so what Hugging Face's image processors do (`resample=2`), and what
    zoo's SavedModel endpoint does before calling the model. Images whose
    static height and width are already `size` pass unchanged, so a graph
    traced at the model's size (TFLite) holds no resize op. The result is
    not rounded to integers as the processors' uint8 output is: against
    them that is no more exact (within 1 of 255 either way).
    """

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(size)

    def call(self, images):
        if tuple(images.shape[1:3]) == self.size:
            return images
        return ops.image.resize(images, self.size, interpolation="bilinear", antialias=True)  # (B, h, w, C)

    def compute_output_shape(self, images_shape):
        return (images_shape[0], *self.size, images_shape[3])


class PixelNormalization(keras.layers.Layer):
    """`(pixels - mean) / std` per channel (the last axis), constants of the config, no weights."""

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = tuple(mean), tuple(std)

    def call(self, pixels):
        mean = ops.convert_to_tensor(self.mean, dtype=pixels.dtype)
        std = ops.convert_to_tensor(self.std, dtype=pixels.dtype)
        return (pixels - mean) / std


@keras.saving.register_keras_serializable(package="zoo")
class ViTBackbone(Backbone):
    """Patches (+ a class token) + positions -> `num_layers` `TransformerEncoder` blocks -> norm.

    The input `images` is `(B, height, width, num_channels)` pixels: with
    `pixel_scale` raw values (0..255) multiplied inside the graph (a
    `Rescaling` layer named `rescaling`), then with `pixel_mean` /
    `pixel_std` normalized per channel (`pixel_normalization`), without
    them floats already scaled as the checkpoint expects. With
    `resize_images` the input is `(B, H, W, num_channels)` of any size,
    resized first (`resizing`: bilinear, antialiased, as Hugging Face's
    image processors do). The output is the final hidden states `(B, 1 + N, hidden_dim)`
    with the class token first (`(B, N, hidden_dim)` without it), `N` the
    number of patches. The defaults are ViT's (pre-LN, gelu, epsilon 1e-6,
    a final norm, all biases); the layer names are today's
    `ImageClassifier`'s (`patch_embedding`, `encoder_0`, ..., `final_norm`).

    Args:
        image_size: int or `(height, width)`.
        patch_size: int or `(height, width)`, must divide `image_size`.
        hidden_dim: int, token width.
        num_layers: int, number of encoder blocks.
        num_heads: int, attention heads; must divide `hidden_dim`.
        intermediate_dim: int, feed-forward width.
        num_channels: int, 1 for grayscale, 3 for RGB.
        num_key_value_heads: int dividing `num_heads`, or `None`.
        activation: feed-forward activation, one of
            `zoo.layers.feedforward.ACTIVATIONS`.
        dropout: float in [0, 1), in the blocks and after the embedding.
        norm_type: `"layer_norm"` or `"rms_norm"`.
        normalize_first: bool, pre-LN (True, ViT) or post-LN blocks.
        layer_norm_epsilon: float, of every norm (ViT: 1e-6; Hugging Face's
            ViT: 1e-12).
        use_final_norm: bool, a norm (`final_norm`) after the last block.
        use_class_token: bool, prepend a learned class token.
        pixel_scale: optional float multiplying the input pixels first
            (`1 / 255` maps 0..255 to 0..1, as `ImageClassifier` does).
        pixel_mean, pixel_std: optional numbers, or one per channel,
            subtracted from and dividing the scaled pixels (Hugging Face's
            `image_mean` / `image_std`); both or neither.
        resize_images: bool, take images of any height and width and resize
            them to `image_size` inside the graph (Hugging Face's `do_resize`).
        use_attention_bias, use_attention_output_bias, use_mlp_bias:
            biases, as in `TransformerDecoderBackbone`.
        low_rank: `None` or `{fnmatch pattern: rank or None}` over
            projection paths (`"encoder_0/self_attention/query"`, ...), as in
            `TransformerDecoderBackbone`.

    Raises:
        ValueError: for a non-positive size, `patch_size` not dividing
            `image_size`, `num_heads` not dividing `hidden_dim`, or an
            unknown option value.

    Example:
    >>> backbone = ViTBackbone.from_preset("tiny")
    >>> hidden = backbone(np.zeros((2, 8, 8, 1), "float32"))  # (2, 5, 16)
    """

    preset_family = "vit_backbone"

    def __init__(
        self,
        image_size,
        patch_size,
        hidden_dim,
        num_layers,
        num_heads,
        intermediate_dim,
        num_channels=3,
        num_key_value_heads=None,
        activation="gelu",
        dropout=0.0,
        norm_type="layer_norm",
        normalize_first=True,
        layer_norm_epsilon=1e-6,
        use_final_norm=True,
        use_class_token=True,
        pixel_scale=None,
        pixel_mean=None,
        pixel_std=None,
        resize_images=False,
        use_attention_bias=True,
        use_attention_output_bias=None,
        use_mlp_bias=True,
        low_rank=None,
        **kwargs,
    ):
        image_size, patch_size = _pair("image_size", image_size), _pair("patch_size", patch_size)
        check_positive_integers(
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            num_channels=num_channels,
        )
        check_options(hidden_dim, num_heads, norm_type, dropout)
        if (pixel_mean is None) != (pixel_std is None):
            raise ValueError(
                f"pixel_mean and pixel_std go together. Received: pixel_mean={pixel_mean!r}, pixel_std={pixel_std!r}"
            )
        if pixel_mean is not None:
            pixel_mean = _per_channel("pixel_mean", pixel_mean, num_channels)
            pixel_std = _per_channel("pixel_std", pixel_std, num_channels)
            if min(pixel_std) <= 0:
                raise ValueError(f"pixel_std must be positive. Received: pixel_std={pixel_std!r}")

        # === Layers ===
        patch_embedding = PatchEmbedding(
            image_size,
            patch_size,
            hidden_dim,
            num_channels,
            use_class_token=use_class_token,
            name="patch_embedding",
        )
        blocks = block_arguments(locals())
        names = [f"encoder_{index}" for index in range(num_layers)]
        ranks, _ = low_rank_plan(low_rank, activation, dict.fromkeys(names, False), [])
        encoder_layers = [TransformerEncoder(name=name, **blocks, **ranks[name]) for name in names]
        final_norm = optional_norm(use_final_norm, norm_type, layer_norm_epsilon, "final_norm")

        # === Functional graph ===
        images = keras.Input(
            (None, None, num_channels) if resize_images else (*image_size, num_channels), name="images"
        )
        x = ImageResize(image_size, name="resizing")(images) if resize_images else images
        x = x if pixel_scale is None else keras.layers.Rescaling(pixel_scale, name="rescaling")(x)
        if pixel_mean is not None:
            x = PixelNormalization(pixel_mean, pixel_std, name="pixel_normalization")(x)
        x = patch_embedding(x)  # (B, N(+1), D)
        x = dropout_layer(dropout, "embedding_dropout")(x)
        for layer in encoder_layers:
            x = layer(x)
        if final_norm is not None:
            x = final_norm(x)
        super().__init__(inputs={"images": images}, outputs=x, **kwargs)
        self.patch_embedding, self.encoder_layers, self.final_norm = (patch_embedding, encoder_layers, final_norm)

        # === Config ===
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.num_channels = num_channels
        self.num_key_value_heads = num_key_value_heads
        self.activation = activation
        self.dropout = dropout
        self.norm_type = norm_type
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_final_norm = use_final_norm
        self.use_class_token = use_class_token
        self.pixel_scale = pixel_scale
        self.pixel_mean = pixel_mean
        self.pixel_std = pixel_std
        self.resize_images = bool(resize_images)
        self.use_attention_bias = use_attention_bias
        self.use_attention_output_bias = use_attention_output_bias
        self.use_mlp_bias = use_mlp_bias
        self.low_rank = None if low_rank is None else dict(low_rank)

    @property
    def token_embedding(self):
        raise AttributeError("ViTBackbone embeds patches; it has no token table")
