"""Helpers every task model shares: presets with checked overrides, class names, outputs."""

import inspect

from keras import ops

from zoo.models.presets import get_preset


def preset_config(model_class, family, name, overrides):
    """Preset `name` of `family` updated with `overrides`, each a constructor argument of `model_class`."""
    config = get_preset(family, name)
    allowed = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(f"unknown {model_class.__name__} arguments {unknown}; expected some of {sorted(allowed)}")
    config.update(overrides)
    return config


def checked_class_names(num_classes, class_names):
    """`class_names` as a list (default `"0"`, `"1"`, ...), one per class."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2. Received: num_classes={num_classes!r}")
    class_names = [str(i) for i in range(num_classes)] if class_names is None else list(class_names)
    if len(class_names) != num_classes:
        raise ValueError(f"class_names has {len(class_names)} names; expected num_classes={num_classes}")
    return class_names


def classification_outputs(logits, class_names):
    """`{"labels", "class_ids", "probabilities"}` from logits `(B, K)`."""
    probabilities = ops.convert_to_numpy(ops.softmax(logits, axis=-1))
    class_ids = probabilities.argmax(-1)
    return {
        "labels": [class_names[i] for i in class_ids],
        "class_ids": class_ids,
        "probabilities": probabilities,
    }
