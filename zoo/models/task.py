"""Helpers every task model shares: presets with checked overrides, class names, outputs."""

import fnmatch
import inspect
import numbers

import numpy as np
from keras import ops

from zoo.layers.attention import PROJECTIONS as ATTENTION_PROJECTIONS
from zoo.layers.feedforward import PROJECTIONS as FEEDFORWARD_PROJECTIONS
from zoo.models.presets import get_preset


def preset_config(model_class, family, name, overrides, backbone_arguments=()):
    """Preset `name` of `family` updated with `overrides`, each a constructor argument of `model_class`.

    `backbone_arguments` names the flat arguments a task built on a backbone
    also takes (they describe its backbone); they are allowed overrides too.
    """
    config = get_preset(family, name)
    allowed = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    allowed |= set(backbone_arguments) | {"name"}
    if "low_rank" in allowed:
        overrides = upgrade_rank_arguments(overrides)
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(f"unknown {model_class.__name__} arguments {unknown}; expected some of {sorted(allowed)}")
    config.update(overrides)
    return config


def check_positive_integers(**values):
    """Raise a "Received: name=value" `ValueError` unless every value is an int >= 1 (not a bool)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")


def check_dropout(dropout):
    """Raise a "Received: dropout=value" `ValueError` unless `0 <= dropout < 1`."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")


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


# The four rank arguments task models took before `low_rank` (issue 20); still read from old
# configs (`.keras` files) and accepted by `from_preset`, mapped by `legacy_low_rank`.
RANK_ARGUMENTS = ("projection_rank", "ffn_rank", "layer_ranks", "embedding_rank")

TOKEN_EMBEDDING = "token_embedding"  # path of a token table: "<embedding layer>/token_embedding"


def block_projection_paths(block_name, activation, cross_attention=False):
    """The projection paths of one Transformer block: `"<block>/<sublayer>/<projection>"`.

    Attention sublayers (`self_attention`, and `cross_attention` when the
    block has one) have `query`, `key`, `value`, `attention_output`; the
    `feedforward` sublayer has `intermediate`, `gate` (swiglu only) and
    `output`.
    """
    sublayers = ["self_attention"] + (["cross_attention"] if cross_attention else [])
    paths = [f"{block_name}/{sublayer}/{name}" for sublayer in sublayers for name in ATTENTION_PROJECTIONS]
    feedforward = [name for name in FEEDFORWARD_PROJECTIONS if name != "gate" or activation == "swiglu"]
    return paths + [f"{block_name}/feedforward/{name}" for name in feedforward]


def low_rank_arguments(low_rank, blocks, embedding_names=()):
    """What each block and token embedding of a task model is built with, for `low_rank` patterns.

    Args:
        low_rank: `None` (every projection dense) or a dict from an fnmatch
            pattern over projection paths to a rank (an int) or `None`
            (dense). Paths are `"<block>/<sublayer>/<projection>"` (e.g.
            `"encoder_0/self_attention/query"`, `"decoder_1/feedforward/output"`)
            and `"<embedding layer>/token_embedding"` for token tables.
            Where several patterns match a path, the last one in the dict
            sets its rank, so general patterns go first and exceptions
            after: `{"*attention/*": 64, "encoder_0/*": None}`.
        blocks: `{block_name: [its projection paths]}` (see
            `block_projection_paths`).
        embedding_names: the names of the model's factorizable token
            embeddings (`TokenAndPositionEmbedding` layers).

    Returns:
        `(block_ranks, embedding_ranks)`: `{block_name: {"layer_ranks": {relative
        path: rank} or None}}`, the keyword argument of each
        `TransformerEncoder` / `TransformerDecoder`, and
        `{embedding_name: rank or None}`.

    Raises:
        ValueError: `low_rank` is not a dict, a rank is not a positive int
            or `None`, or a pattern matches no path of the model.
    """
    paths = [path for block_paths in blocks.values() for path in block_paths]
    paths += [f"{name}/{TOKEN_EMBEDDING}" for name in embedding_names]
    ranks = match_low_rank(low_rank, paths)
    block_ranks = {}
    for block, block_paths in blocks.items():
        relative = {path.split("/", 1)[1]: ranks[path] for path in block_paths if path in ranks}
        block_ranks[block] = {"layer_ranks": relative or None}
    embedding_ranks = {name: ranks.get(f"{name}/{TOKEN_EMBEDDING}") for name in embedding_names}
    return block_ranks, embedding_ranks


def match_low_rank(low_rank, paths):
    """`{path: rank}` for the `paths` that the `low_rank` patterns select (the last matching pattern wins)."""
    if low_rank is None:
        return {}
    if not isinstance(low_rank, dict):
        raise ValueError(f"low_rank must be None or a dict of path pattern -> rank. Received: low_rank={low_rank!r}")
    ranks = {}
    for pattern, rank in low_rank.items():
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank < 1):
            raise ValueError(f"low_rank[{pattern!r}] must be a positive integer or None (dense). Received: {rank!r}")
        matched = [path for path in paths if fnmatch.fnmatchcase(path, str(pattern))]
        if not matched:
            examples = ", ".join(repr(path) for path in paths[:3]) or "none: the model has no projections"
            raise ValueError(
                f"low_rank pattern {pattern!r} matches no projection of the model; its paths are like {examples}"
            )
        ranks.update({path: None if rank is None else int(rank) for path in matched})
    return ranks


def legacy_low_rank(projection_rank=None, ffn_rank=None, layer_ranks=None, embedding_rank=None):
    """The `low_rank` patterns equal to the rank arguments task models took before issue 20.

    `projection_rank` (an int, or a dict over `query`/`key`/`value`/
    `attention_output`) applied to every attention sublayer, `ffn_rank` to
    every feed-forward sublayer, `embedding_rank` to every token table, and
    `layer_ranks` (exact paths) overrode all three.
    """
    low_rank = {}
    for sublayers, option in ((("*attention",), projection_rank), (("feedforward",), ffn_rank)):
        if isinstance(option, dict):
            low_rank.update({f"*/{sub}/{name}": rank for sub in sublayers for name, rank in option.items()})
        elif option is not None:
            low_rank.update({f"*/{sub}/*": option for sub in sublayers})
    if embedding_rank is not None:
        low_rank[f"*/{TOKEN_EMBEDDING}"] = embedding_rank
    if layer_ranks is not None and not isinstance(layer_ranks, dict):
        raise ValueError(f"layer_ranks must be None or a dict of path -> rank. Received: layer_ranks={layer_ranks!r}")
    low_rank.update(layer_ranks or {})
    return low_rank or None


def upgrade_rank_arguments(config, low_rank_name="low_rank"):
    """`config` (constructor arguments) with the old rank arguments folded into `low_rank`.

    Old `.keras` files and callers of `from_preset` pass `projection_rank`,
    `ffn_rank`, `layer_ranks`, `embedding_rank`; today's task models take
    `low_rank` alone. Patterns given in `low_rank` itself come last (win).
    """
    if not any(name in config for name in RANK_ARGUMENTS):
        return config
    config = dict(config)
    legacy = legacy_low_rank(**{name: config.pop(name) for name in RANK_ARGUMENTS if name in config})
    if legacy is not None or config.get(low_rank_name) is not None:
        config[low_rank_name] = {**(legacy or {}), **(config.get(low_rank_name) or {})}
    return config


def check_integer(name, value, minimum=1):
    """`value` as an int, or a "Received: name=value" `ValueError` unless it is an integer >= `minimum` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def checked_texts(texts, verb, allow_empty=False):
    """A non-empty list of strings (or UTF-8 bytes) from a string, a list/tuple or a 1-D array of them.

    Raises a `ValueError` naming the first bad item: not a string, not
    encodable as UTF-8 (a lone surrogate), or (unless `allow_empty`) empty
    or whitespace-only; and for an empty batch or a nested list.
    """
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    elif isinstance(texts, np.ndarray) and texts.ndim == 1:
        texts = texts.tolist()
    elif isinstance(texts, (list, tuple)):
        texts = list(texts)
    else:
        shape = f" of shape {texts.shape}" if isinstance(texts, np.ndarray) else ""
        raise ValueError(f"expected a string or a list of strings to {verb}; received a {type(texts).__name__}{shape}")
    if not texts:
        raise ValueError(f"expected at least one text to {verb}; received an empty batch")
    for index, text in enumerate(texts):
        if not isinstance(text, (str, bytes)):
            raise ValueError(f"text {index} is a {type(text).__name__}, not a string")
        check_unicode(text, f"text {index}")
        if not allow_empty and not text.strip():
            raise ValueError(f"text {index} is empty; expected some words to {verb}")
    return texts


def check_unicode(text, what):
    """A `ValueError` naming `what` when the str `text` cannot be encoded as UTF-8 (a lone surrogate)."""
    if isinstance(text, str):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"{what} is not valid Unicode ({error.reason} at character {error.start}); "
                "expected text encodable as UTF-8"
            ) from None


def check_token_inputs(inputs, ids_name, mask_name, vocabulary_size, max_width=None):
    """`(token_ids, padding_mask)` NumPy int32 `(B, T)` from a dict of id inputs, checked.

    Raises a `ValueError` naming the problem unless both are present, 2-D
    and of one shape with at least one row, integer ids, a mask of 0s and 1s (any numeric or bool dtype),
    ids in `[0, vocabulary_size)`, mask values 0 or 1, every row with a real
    token, and `T <= max_width` when given.
    """
    if not isinstance(inputs, dict) or ids_name not in inputs or mask_name not in inputs:
        keys = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
        raise ValueError(f"expected strings or a dict with {ids_name!r} and {mask_name!r}; received {keys}")
    token_ids, padding_mask = np.asarray(inputs[ids_name]), np.asarray(inputs[mask_name])
    if not np.issubdtype(token_ids.dtype, np.integer):
        raise ValueError(f"{ids_name} must hold integers; received dtype {token_ids.dtype}")
    if not (padding_mask.dtype == bool or np.issubdtype(padding_mask.dtype, np.number)):
        raise ValueError(f"{mask_name} must hold 0 or 1; received dtype {padding_mask.dtype}")
    if token_ids.ndim != 2 or token_ids.shape != padding_mask.shape:
        raise ValueError(
            f"{ids_name} and {mask_name} must both be (batch, width); received shapes {token_ids.shape} and "
            f"{padding_mask.shape}"
        )
    if token_ids.shape[0] == 0:
        raise ValueError(f"expected at least one row of {ids_name}; received shape {token_ids.shape}")
    if max_width is not None and token_ids.shape[1] > max_width:
        raise ValueError(f"{ids_name} has width {token_ids.shape[1]}; expected at most {max_width}")
    if token_ids.size and (token_ids.min() < 0 or token_ids.max() >= vocabulary_size):
        raise ValueError(
            f"{ids_name} must be in [0, {vocabulary_size}) (the vocabulary); received values from "
            f"{token_ids.min()} to {token_ids.max()}"
        )
    if not np.isin(padding_mask, (0, 1)).all():
        raise ValueError(f"{mask_name} must hold 0 (padding) or 1 (token); received {np.unique(padding_mask)[:5]}")
    empty = np.flatnonzero(padding_mask.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"row {int(empty[0])} of {mask_name} has no real token; expected at least one per row")
    return token_ids.astype("int32"), padding_mask.astype("int32")
