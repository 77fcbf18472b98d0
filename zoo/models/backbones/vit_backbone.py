"""Vision Transformer backbone (Dosovitskiy et al. 2021)."""

import keras

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


@keras.saving.register_keras_serializable(package="zoo")
class ViTBackbone(Backbone):
    """Patches (+ a class token) + positions -> `num_layers` `TransformerEncoder` blocks -> norm.

    The input `images` is `(B, height, width, num_channels)` pixels: with
    `pixel_scale` raw values (0..255) multiplied inside the graph (a
    `Rescaling` layer named `rescaling`), without it floats already scaled
    as the checkpoint expects; the output is the final hidden states `(B, 1 + N, hidden_dim)`
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
        images = keras.Input((*image_size, num_channels), name="images")
        x = images if pixel_scale is None else keras.layers.Rescaling(pixel_scale, name="rescaling")(images)
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
        self.use_attention_bias = use_attention_bias
        self.use_attention_output_bias = use_attention_output_bias
        self.use_mlp_bias = use_mlp_bias
        self.low_rank = None if low_rank is None else dict(low_rank)

    @property
    def token_embedding(self):
        raise AttributeError("ViTBackbone embeds patches; it has no token table")
