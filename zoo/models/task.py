"""Helpers every task model shares: presets with checked overrides, class names, outputs."""

import inspect
import numbers

import numpy as np
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


RANK_ARGUMENTS = ("projection_rank", "ffn_rank", "layer_ranks")


TOKEN_EMBEDDING = "token_embedding"  # `layer_ranks` key of a token table: "<embedding layer>/token_embedding"


def block_rank_arguments(projection_rank, ffn_rank, layer_ranks, block_names, embedding_names=()):
    """The rank arguments of each Transformer block of a task model.

    Args:
        projection_rank, ffn_rank: model-wide options, passed to every block
            (see `zoo.layers.TransformerEncoder`).
        layer_ranks: `None` or a dict from a projection path in the model
            (`"encoder_0/self_attention/query"`, `"decoder_1/feedforward/intermediate"`)
            to an int or `None` (dense), overriding the model-wide options.
            Keys `"<embedding>/token_embedding"` for `embedding` in
            `embedding_names` are token-table ranks (see
            `embedding_rank_arguments`) and are skipped here.
        block_names: the names of the model's blocks, e.g. `["encoder_0", "encoder_1"]`.
        embedding_names: the names of the model's `TokenAndPositionEmbedding`
            layers whose rank `layer_ranks` may set.

    Returns:
        `{block_name: {"projection_rank", "ffn_rank", "layer_ranks"}}`; a
        block's `layer_ranks` holds its paths relative to the block.

    Raises:
        ValueError: `layer_ranks` is not a dict, or a path names no block
            (nor token embedding) of the model.
    """
    if layer_ranks is not None and not isinstance(layer_ranks, dict):
        raise ValueError(f"layer_ranks must be None or a dict of path -> rank. Received: layer_ranks={layer_ranks!r}")
    embedding_keys = {f"{name}/{TOKEN_EMBEDDING}" for name in embedding_names}
    per_block = {name: {} for name in block_names}
    for path, rank in (layer_ranks or {}).items():
        if path in embedding_keys:
            continue
        block, _, relative = str(path).partition("/")
        if block not in per_block or relative.count("/") != 1:
            also = f", or one of {sorted(embedding_keys)}" if embedding_keys else ""
            raise ValueError(
                f"unknown layer_ranks path {path!r}; expected '<block>/<sublayer>/<projection>' "
                f"with a block among {list(block_names)}, e.g. '{block_names[0]}/self_attention/query'{also}"
                if block_names else f"unknown layer_ranks path {path!r}; the model has no Transformer blocks"
            )
        per_block[block][relative] = rank
    return {
        name: {"projection_rank": projection_rank, "ffn_rank": ffn_rank, "layer_ranks": ranks or None}
        for name, ranks in per_block.items()
    }


def embedding_rank_arguments(embedding_rank, layer_ranks, embedding_names):
    """The `embedding_rank` of each token embedding of a task model.

    Args:
        embedding_rank: the model-wide option (`None`: dense `(V, D)` tables).
        layer_ranks: `None` or the model's `layer_ranks` dict; a key
            `"<embedding>/token_embedding"` (e.g. `"embedding/token_embedding"`,
            `"decoder_embedding/token_embedding"`) overrides `embedding_rank`
            for that embedding (an int `E`, or `None` for a dense table).
            `zoo.compress.factorize` sets these keys.
        embedding_names: the names of the model's `TokenAndPositionEmbedding` layers.

    Returns:
        `{embedding_name: rank or None}`.
    """
    ranks = dict(layer_ranks or {})
    return {
        name: ranks.get(f"{name}/{TOKEN_EMBEDDING}", embedding_rank) for name in embedding_names
    }


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
        raise ValueError(
            f"expected a string or a list of strings to {verb}; received a {type(texts).__name__}{shape}"
        )
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
