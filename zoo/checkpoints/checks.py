"""Checks every checkpoint family shares: config values, `model_type`, and the tensors against their mappings.

Each family's `*_config.py` reads its own options; these give the errors
the same wording everywhere (a one-line `ValueError` naming the file, the
key or tensor, and the problem).
"""


def unsupported(key, value, why, source):
    """The error for a config option zoo does not implement."""
    return ValueError(f"{source}: unsupported {key}={value!r}; {why}")


def positive_integer(config, key, source, default=None):
    """`config[key]` (or `default`), which must be a positive int (not a bool)."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{source} needs a positive integer {key!r}; found {value!r}")
    return value


def check_model_type(config, source, supported, reader):
    """The config's `model_type`, or a `ValueError` listing the ones `reader` ("CausalLM.from_checkpoint") reads."""
    model_type = config.get("model_type")
    if model_type not in supported:
        raise ValueError(f"{source}: unsupported model_type={model_type!r}; {reader} reads {', '.join(supported)}")
    return model_type


def check_tensors(mappings, tensors, unused, where, what, optional=()):
    """Every mapped tensor present (unless `optional`) with its shape, and none left unexplained.

    Args:
        mappings: the family's expected tensors (`.name`, `.shape`).
        tensors: name -> array, as read.
        unused: names of tensors the checkpoint may hold that zoo does not map.
        where: the checkpoint (for the message).
        what: the model it becomes, e.g. "llama CausalLM".
        optional: mapped names that may be absent (checked for shape when present).

    Raises:
        ValueError: naming the missing, misshapen or unknown tensor.
    """
    names = {mapping.name for mapping in mappings}
    missing = sorted(names - set(tensors) - set(optional))
    if missing:
        raise ValueError(
            f"{where}: the checkpoint lacks {len(missing)} tensors config.json implies, e.g. {missing[:3]}"
        )
    for mapping in mappings:
        if mapping.name in tensors and tuple(tensors[mapping.name].shape) != mapping.shape:
            actual = tuple(tensors[mapping.name].shape)
            raise ValueError(
                f"{where}: tensor {mapping.name!r} has shape {actual}; config.json implies {mapping.shape}"
            )
    unknown = sorted(set(tensors) - names - set(unused))
    if unknown:
        raise ValueError(f"{where}: tensors a {what} does not have: {unknown[:5]}")
