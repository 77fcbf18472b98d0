"""Vision Transformer image classifier (Dosovitskiy et al. 2021)."""

import keras
import numpy as np

from zoo.checkpoints.vit import load_vit
from zoo.models.backbones import ViTBackbone
from zoo.models.base import Task
from zoo.models.task import checked_class_names, classification_outputs, preset_config, upgrade_rank_arguments


def size_pair(name, value):
    """`value`, an int or a `(height, width)` pair, as a pair; a clear error for anything else."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(size, int) and size > 0 for size in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them. Received: {name}={value!r}")
    return pair


class ImageClassifierMixin:
    """Raw-pixel checks, `predict` and `classify`, shared by `ImageClassifier` and `CNNImageClassifier`.

    A class using it has the attributes `image_size` (`(height, width)`),
    `num_channels` and `class_names`, and takes raw pixels `(B, H, W, C)`;
    with a true `resize_images` attribute, of any height and width.
    """

    def validate_images(self, images):
        """Raise a clear `ValueError` unless `images` is a non-empty `(B, H, W, C)` batch of this model's
        size with integer or finite float pixels."""
        shape = tuple(getattr(images, "shape", ()))
        if getattr(self, "resize_images", False):  # any size, resized inside the graph
            if len(shape) != 4 or shape[3] != self.num_channels or min(shape[1:3]) < 1:
                raise ValueError(
                    f"expected images of shape (batch, height, width, {self.num_channels}) (resized to "
                    f"{self.image_size[0]}x{self.image_size[1]}); received shape {shape}"
                )
        else:
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


# ImageClassifier's arguments before it took a backbone (issue 20) that describe the backbone; still
# taken by the constructor, `from_preset` and old `.keras` files (see `backbone_from_arguments`).
FLAT_ARGUMENTS = {
    "image_size": None,
    "patch_size": None,
    "num_channels": 3,
    "hidden_dim": 64,
    "num_layers": 4,
    "num_heads": 4,
    "intermediate_dim": 128,
    "dropout": 0.0,
    "activation": "gelu",
    "pixel_scale": 1.0 / 255.0,
    "low_rank": None,
}
OLD_RANK_ARGUMENTS = ("projection_rank", "ffn_rank", "layer_ranks")


@keras.saving.register_keras_serializable(package="zoo")
class ImageClassifier(ImageClassifierMixin, Task):
    """ViT: a `ViTBackbone` (patches + [CLS] token -> pre-LN Transformer encoder) and a linear head.

    The model takes raw pixel values (0..255, uint8 or float) of shape
    `(B, height, width, num_channels)`, which the backbone multiplies by its
    `pixel_scale` inside the graph, and returns class logits
    `(B, num_classes)` from the class token (or the mean of the patch
    tokens).

    Args:
        backbone: a `zoo.models.ViTBackbone` (sizes, patching, norms,
            `pixel_scale`, `low_rank`); with `pooling="class_token"` it
            must have `use_class_token=True`.
        num_classes: int.
        pooling: `"class_token"` (ViT) or `"mean"` over the tokens.
        class_names: list of `num_classes` names; defaults to `"0"`, `"1"`, ...

    Instead of a backbone, the constructor (and `from_preset`, and files
    saved before backbones) takes the flat arguments of earlier versions:
    `image_size`, `patch_size`, `num_channels`, `hidden_dim`, `num_layers`,
    `num_heads`, `intermediate_dim`, `dropout`, `activation`, `pixel_scale`
    and `low_rank` (see `backbone_from_arguments`); the config then holds
    the backbone.

    Example:
    >>> model = ImageClassifier.from_preset("tiny")
    >>> logits = model(np.zeros((2, 8, 8, 1), "uint8"))
    >>> model.classify(np.zeros((2, 8, 8, 1), "uint8"))["labels"]
    """

    layer_arguments = ("backbone",)
    backbone_class = ViTBackbone
    flat_arguments = FLAT_ARGUMENTS
    old_rank_arguments = OLD_RANK_ARGUMENTS

    def __init__(self, backbone=None, num_classes=None, pooling="class_token", class_names=None, **kwargs):
        if pooling not in ("class_token", "mean"):
            raise ValueError(f"pooling must be 'class_token' or 'mean'. Received: pooling={pooling!r}")
        backbone = self.checked_backbone(
            backbone,
            self.pop_flat_arguments(kwargs),
            lambda flat: self.backbone_from_arguments(use_class_token=pooling == "class_token", **flat),
        )
        if pooling == "class_token" and not backbone.use_class_token:
            raise ValueError("pooling='class_token' needs a backbone built with use_class_token=True")
        class_names = checked_class_names(num_classes, class_names)

        # === Head ===
        # Built from the backbone's own input and output, so the model's layers are the backbone's
        # plus the head: the weight layout of files saved before backbones.
        hidden = backbone.output  # (B, 1 + N, D) with the class token first
        if pooling == "class_token":
            pooled = hidden[:, 0]  # (B, D): the [CLS] token
        else:
            pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(hidden)
        logits = keras.layers.Dense(num_classes, name="logits")(pooled)
        super().__init__(inputs=backbone.input["images"], outputs=logits, **kwargs)
        self.backbone = backbone

        # === Config ===
        self.num_classes = num_classes
        self.pooling = pooling
        self.class_names = class_names

    @classmethod
    def backbone_from_arguments(cls, use_class_token=True, **arguments):
        """The `ViTBackbone` that the flat arguments of earlier ImageClassifiers describe.

        Raises:
            ValueError: an unknown argument, or no `image_size` / `patch_size`.
        """
        arguments = upgrade_rank_arguments(arguments)
        unknown = sorted(set(arguments) - set(FLAT_ARGUMENTS))
        if unknown:
            raise ValueError(f"unknown ImageClassifier arguments {unknown}; expected some of {sorted(FLAT_ARGUMENTS)}")
        values = {**FLAT_ARGUMENTS, **arguments}
        if values["image_size"] is None or values["patch_size"] is None:
            raise ValueError("ImageClassifier needs image_size and patch_size (or a backbone)")
        image_size, patch_size = size_pair("image_size", values.pop("image_size")), values.pop("patch_size")
        # Earlier ImageClassifiers were pre-LN, layer-norm epsilon 1e-6, with a final norm (the defaults).
        return ViTBackbone(image_size, patch_size, use_class_token=use_class_token, **values)

    # === The backbone's structure ===

    image_size = property(lambda self: tuple(self.backbone.image_size))
    patch_size = property(lambda self: tuple(self.backbone.patch_size))
    num_channels = property(lambda self: self.backbone.num_channels)
    hidden_dim = property(lambda self: self.backbone.hidden_dim)
    num_layers = property(lambda self: self.backbone.num_layers)
    num_heads = property(lambda self: self.backbone.num_heads)
    intermediate_dim = property(lambda self: self.backbone.intermediate_dim)
    dropout = property(lambda self: self.backbone.dropout)
    activation = property(lambda self: self.backbone.activation)
    pixel_scale = property(lambda self: self.backbone.pixel_scale)
    resize_images = property(lambda self: self.backbone.resize_images)
    low_rank = property(lambda self: self.backbone.low_rank)

    @classmethod
    def from_preset(cls, name, **overrides):
        """Build from a named preset (see `zoo.models.presets`), with overrides."""
        return cls(**preset_config(cls, "image_classifier", name, overrides, FLAT_ARGUMENTS))

    @classmethod
    def from_checkpoint(cls, path, num_classes=None, class_names=None):
        """An ImageClassifier with the weights of a Hugging Face ViT checkpoint directory.

        The directory holds `config.json` (`model_type` vit),
        `preprocessor_config.json` and `model.safetensors` (or a sharded
        index); read without PyTorch, every option checked and every tensor
        mapped or named unused (`zoo.checkpoints.vit`). The processor's
        resize (bilinear, antialiased), rescale and per-channel normalize run
        inside the graph, so the model (and its SavedModel) takes uint8
        images; with `do_resize` of any height and width.

        Args:
            path: the checkpoint directory.
            num_classes: None to keep the checkpoint's head (its labels from
                `id2label`), or an int for a new, randomly initialized head
                (for fine-tuning; needed for a `ViTModel` without a head).
            class_names: the new head's labels (with `num_classes`).

        Returns:
            An `ImageClassifier` whose logits are the checkpoint's.

        Raises:
            FileNotFoundError: a missing directory, config file or weights.
            ValueError: an unsupported `model_type` or option (naming the
                key), a corrupt file, a missing or misshapen tensor, or no
                head and no `num_classes`.
        """
        checkpoint = load_vit(path)
        use_head = num_classes is None
        if use_head and checkpoint.num_classes is None:
            raise ValueError(f"{path}: the checkpoint has no classifier tensors; pass num_classes= for a new head")
        if use_head and class_names is not None:
            raise ValueError("class_names goes with num_classes (a new head); the checkpoint's come from id2label")
        model = cls(
            ViTBackbone(**checkpoint.backbone_arguments()),
            num_classes=checkpoint.num_classes if use_head else num_classes,
            class_names=checkpoint.class_names() if use_head else class_names,
        )
        checkpoint.assign(model, use_head=use_head)
        return model
