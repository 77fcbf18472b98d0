"""Adapter files: the A/B weights (and the trained head) with the base model's identity, and loading them."""

import hashlib
import json
import os
import pathlib

import numpy as np
from keras import ops

from zoo.lora.sites import (
    ADAPTER_FORMAT,
    checked_state,
    enable,
    head_variables,
    lora_state,
    projection_sites,
    reset_compiled_functions,
)

_IDENTITY_SKIPPED_KEYS = frozenset({"name", "trainable", "dtype", "build_config", "compile_config", "lora"})


def _without_skipped_keys(value):
    if isinstance(value, dict):
        return {k: _without_skipped_keys(v) for k, v in value.items() if k not in _IDENTITY_SKIPPED_KEYS}
    if isinstance(value, (list, tuple)):
        return [_without_skipped_keys(v) for v in value]
    return value


def config_hash(model):
    """SHA-256 of the model's config without names, dtypes or LoRA: the base model's identity."""
    config = _without_skipped_keys({"class": type(model).__name__, "config": model.get_config()})
    text = json.dumps(config, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save(model, path):
    """Write the adapter (A and B of each target, the trained head) and the base's identity to `path`.

    The file is an `.npz` archive (NumPy, no pickle): `"<path>/lora_a"`,
    `"<path>/lora_b"` per target, `"head/<weight path>"` per head weight
    when the head trains, and `"metadata"`: JSON with the format, the model
    class, `config_hash(model)`, rank, alpha, targets and the target paths.
    Written to a temporary file next to `path`, then renamed into place.

    Returns:
        the `pathlib.Path` written.
    """
    state = checked_state(model)
    path = pathlib.Path(path)
    arrays = {}
    for target, adapter in state.adapters.items():
        arrays[f"{target}/lora_a"] = ops.convert_to_numpy(adapter.lora_a)
        arrays[f"{target}/lora_b"] = ops.convert_to_numpy(adapter.lora_b)
    if state.train_head:
        arrays.update({f"head/{variable.path}": ops.convert_to_numpy(variable) for variable in head_variables(model)})
    metadata = {
        "format": ADAPTER_FORMAT,
        "model_class": type(model).__name__,
        "base_config_sha256": config_hash(model),
        **state.config(),
        "paths": list(state.adapters),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            np.savez(file, metadata=np.array(json.dumps(metadata)), **arrays)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def load(model, path):
    """Put the adapter saved at `path` onto `model` (enabling LoRA with its settings if needed).

    Raises:
        ValueError: not an adapter file, made for another base model (class
            or config hash), a target path or head weight the model lacks,
            a shape that differs, or LoRA enabled with other settings.
    """
    path = pathlib.Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        metadata = json.loads(str(arrays.pop("metadata")))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a zoo LoRA adapter file ({error})") from None
    if metadata.get("format") != ADAPTER_FORMAT:
        raise ValueError(
            f"{path} is not a zoo LoRA adapter ({ADAPTER_FORMAT}); its format is {metadata.get('format')!r}"
        )
    if metadata["model_class"] != type(model).__name__:
        raise ValueError(f"{path} is an adapter for a {metadata['model_class']}, not a {type(model).__name__}")
    expected = metadata["base_config_sha256"]
    if config_hash(model) != expected:
        raise ValueError(
            f"{path} was made for another base model: config sha256 {expected[:12]}..., this model's "
            f"{config_hash(model)[:12]}... (different sizes, options or vocabulary)"
        )
    missing = sorted(set(metadata["paths"]) - set(projection_sites(model)))
    if missing:
        raise ValueError(f"{path} adapts {missing[0]!r}, which this model does not have")
    state = lora_state(model)
    if state is None:
        enable(model, metadata["rank"], metadata["targets"], metadata["alpha"], metadata["train_head"])
        state = lora_state(model)
    elif state.config() != {k: metadata[k] for k in state.config()} or list(state.adapters) != metadata["paths"]:
        raise ValueError(
            f"{path} holds rank {metadata['rank']} on {metadata['targets']}; the model has {state.config()}"
        )
    values = []  # (variable, value): Keras variables are not hashable
    for target, adapter in state.adapters.items():
        values += [(adapter.lora_a, arrays[f"{target}/lora_a"]), (adapter.lora_b, arrays[f"{target}/lora_b"])]
    if state.train_head:
        head = {variable.path: variable for variable in head_variables(model)}
        for name in [name for name in arrays if name.startswith("head/")]:
            if name[len("head/") :] not in head:
                raise ValueError(f"{path} holds head weight {name[5:]!r}, which this model does not have")
            values.append((head[name[5:]], arrays[name]))
    for variable, value in values:
        if tuple(variable.shape) != value.shape:
            raise ValueError(f"{path}: {variable.path} has shape {value.shape}; the model's is {tuple(variable.shape)}")
    for variable, value in values:
        variable.assign(value)
    reset_compiled_functions(model)
