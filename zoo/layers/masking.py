"""Padding and causal mask helpers (pure functions over `keras.ops`).

Conventions used throughout `zoo.layers`:

- A **padding mask** marks real tokens: shape `(B, T)`, `True`/1 for a real
  token, `False`/0 for padding.
- An **attention mask** says which key each query may attend to: shape
  `(B, T_query, T_key)`, `True`/1 where attention is allowed.
- A **causal mask** lets query position `i` see key positions `<= i`. With a
  KV cache, the `T_query` new queries sit at absolute positions
  `cache_index ... cache_index + T_query - 1` in a cache of length `T_key`.

All helpers return boolean tensors, or `None` when there is nothing to mask.
"""

from keras import ops


def compute_causal_mask(batch_size, query_length, key_length, cache_index=0):
    """Boolean causal mask of shape `(batch_size, query_length, key_length)`.

    Query `i` is at absolute position `cache_index + i` and may attend to key
    positions `0 ... cache_index + i`.

    Args:
        batch_size: int or scalar tensor.
        query_length: int or scalar tensor, number of new queries.
        key_length: int or scalar tensor, number of keys (the cache length
            when decoding with a cache).
        cache_index: int or scalar tensor, absolute position of the first
            query. 0 for a full (uncached) forward pass.
    """
    query_positions = ops.arange(query_length, dtype="int32") + ops.cast(cache_index, "int32")
    key_positions = ops.arange(key_length, dtype="int32")
    mask = ops.expand_dims(key_positions, 0) <= ops.expand_dims(query_positions, 1)
    return ops.broadcast_to(ops.expand_dims(mask, 0), (batch_size, query_length, key_length))


def merge_padding_and_attention_mask(query_length, padding_mask=None, attention_mask=None):
    """Combine a key padding mask and an attention mask into one `(B, Tq, Tk)` mask.

    Args:
        query_length: int or scalar tensor, number of queries `Tq`.
        padding_mask: optional `(B, Tk)` mask over keys; True/1 = real token.
        attention_mask: optional `(B, Tq, Tk)` mask; True/1 = may attend.

    Returns:
        A boolean `(B, Tq, Tk)` tensor, or `None` if both inputs are `None`.
    """
    mask = None
    if padding_mask is not None:
        if len(padding_mask.shape) != 2:
            raise ValueError(
                f"padding_mask must have shape (batch_size, key_length); received shape {tuple(padding_mask.shape)}"
            )
        padding_mask = ops.cast(padding_mask, "bool")
        key_length = ops.shape(padding_mask)[1]
        batch_size = ops.shape(padding_mask)[0]
        mask = ops.broadcast_to(ops.expand_dims(padding_mask, 1), (batch_size, query_length, key_length))
    if attention_mask is not None:
        if len(attention_mask.shape) != 3:
            raise ValueError(
                "attention_mask must have shape (batch_size, query_length, "
                f"key_length); received shape {tuple(attention_mask.shape)}"
            )
        attention_mask = ops.cast(attention_mask, "bool")
        mask = attention_mask if mask is None else ops.logical_and(mask, attention_mask)
    return mask


def combine_masks(*masks):
    """Logical AND of the masks that are not `None` (or `None` if all are)."""
    result = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        result = mask if result is None else ops.logical_and(result, mask)
    return result
