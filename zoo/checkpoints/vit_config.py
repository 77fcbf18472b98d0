"""A Hugging Face ViT `config.json` + `preprocessor_config.json` -> `ViTBackbone` arguments.

Every option of both files is honoured or refused: an option zoo does not
implement is a one-line `ValueError` naming the key and its value, never a
silently different model. The image processor's resize, rescale and
normalize become backbone arguments (`resize_images`, `pixel_scale`,
`pixel_mean` / `pixel_std`), so the model takes uint8 images.
"""

from zoo.checkpoints.checks import check_model_type as check_model_type_of
from zoo.checkpoints.checks import positive_integer, unsupported

SUPPORTED_VIT_MODEL_TYPES = ("vit",)
PROCESSOR_NAME = "preprocessor_config.json"
# Hugging Face's hidden_act -> zoo's feed-forward activation (the same function).
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}
BILINEAR = 2  # PIL.Image.BILINEAR, the one `resample` zoo's in-graph resize implements
# Processor switches zoo has no in-graph step for: any of them true is an error.
UNSUPPORTED_PROCESSOR_STEPS = ("do_center_crop", "do_pad", "do_reduce_labels")


def _size(config, key, source, default=None):
    value = config.get(key, default)
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"{source} needs {key!r} as a positive integer or a pair of them; found {value!r}")
    return tuple(pair)


def check_vit_model_type(config, source):
    """The config's `model_type`, or a `ValueError` listing the supported ones."""
    return check_model_type_of(config, source, SUPPORTED_VIT_MODEL_TYPES, "ImageClassifier.from_checkpoint")


def vit_backbone_arguments(config, processor, source="config.json", processor_source=PROCESSOR_NAME):
    """`ViTBackbone` keyword arguments for a ViT `config.json` and its `preprocessor_config.json`.

    `encoder_stride` (the masked-image-modeling decoder's) and the pooler
    options are read by no classifier and ignored; dropout is 0 (inference).

    Raises:
        ValueError: an unsupported `model_type`, option or value, naming the
            key and the file.
    """
    check_vit_model_type(config, source)
    activation = config.get("hidden_act", "gelu")
    if activation not in ACTIVATIONS:
        raise unsupported("hidden_act", activation, f"zoo implements {sorted(ACTIVATIONS)}", source)
    hidden, heads = (
        positive_integer(config, "hidden_size", source),
        positive_integer(config, "num_attention_heads", source),
    )
    if hidden % heads:
        raise ValueError(f"{source}: num_attention_heads={heads} does not divide hidden_size={hidden}")
    image_size, patch_size = _size(config, "image_size", source), _size(config, "patch_size", source)
    if any(size % patch for size, patch in zip(image_size, patch_size)):
        raise ValueError(f"{source}: patch_size={list(patch_size)} does not divide image_size={list(image_size)}")
    qkv_bias = config.get("qkv_bias", True)
    if not isinstance(qkv_bias, bool):
        raise ValueError(f"{source}: qkv_bias must be true or false; found {qkv_bias!r}")
    num_channels = positive_integer(config, "num_channels", source, default=3)
    return {
        "image_size": image_size,
        "patch_size": patch_size,
        "hidden_dim": hidden,
        "num_layers": positive_integer(config, "num_hidden_layers", source),
        "num_heads": heads,
        "intermediate_dim": positive_integer(config, "intermediate_size", source),
        "num_channels": num_channels,
        "activation": ACTIVATIONS[activation],
        "dropout": 0.0,
        "norm_type": "layer_norm",
        "normalize_first": True,
        "layer_norm_epsilon": float(config.get("layer_norm_eps", 1e-12)),
        "use_final_norm": True,
        "use_class_token": True,
        "use_attention_bias": qkv_bias,
        "use_attention_output_bias": True,  # qkv_bias covers query / key / value only
        "use_mlp_bias": True,
        **processor_arguments(processor, image_size, num_channels, processor_source),
    }


def processor_arguments(processor, image_size, num_channels, source=PROCESSOR_NAME):
    """`resize_images`, `pixel_scale`, `pixel_mean` and `pixel_std` for a ViT image processor's config.

    Missing keys take `ViTImageProcessor`'s defaults (resize, rescale by
    1/255, normalize with mean = std = 0.5).

    Raises:
        ValueError: a step zoo does not implement (center crop, a resample
            other than bilinear, a shortest-edge size), or a size that is
            not the model's `image_size`, naming the key.
    """
    for key in UNSUPPORTED_PROCESSOR_STEPS:
        if processor.get(key):
            raise unsupported(key, processor[key], "zoo's in-graph preprocessing has no such step", source)
    arguments = {"resize_images": bool(processor.get("do_resize", True)), "pixel_scale": None}
    if arguments["resize_images"]:
        size = processor.get("size", {"height": 224, "width": 224})
        if isinstance(size, int) and not isinstance(size, bool):
            size = {"height": size, "width": size}
        if not isinstance(size, dict) or set(size) != {"height", "width"}:
            raise unsupported("size", size, "zoo resizes to a fixed {'height': ..., 'width': ...}", source)
        if (size["height"], size["width"]) != tuple(image_size):
            raise unsupported(
                "size", size, f"the model's position table is for image_size={list(image_size)} (config.json)", source
            )
        resample = processor.get("resample", BILINEAR)
        if resample != BILINEAR:
            raise unsupported("resample", resample, f"zoo resizes bilinearly (resample={BILINEAR}) only", source)
    if processor.get("do_rescale", True):
        scale = processor.get("rescale_factor", 1 / 255)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise unsupported("rescale_factor", scale, "expected a positive number", source)
        arguments["pixel_scale"] = float(scale)
    arguments["pixel_mean"] = arguments["pixel_std"] = None
    if processor.get("do_normalize", True):
        for key in ("image_mean", "image_std"):
            value = processor.get(key, [0.5] * num_channels)
            values = [value] * num_channels if isinstance(value, (int, float)) else value
            if not isinstance(values, list) or len(values) != num_channels:
                raise unsupported(key, value, f"expected a number or {num_channels} (one per channel)", source)
            if key == "image_std" and min(values) <= 0:
                raise unsupported(key, value, "every std must be positive", source)
            arguments["pixel_mean" if key == "image_mean" else "pixel_std"] = [float(v) for v in values]
    return arguments
