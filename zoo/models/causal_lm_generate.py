"""The generation path of `CausalLM`: prompt packing, prefill, and the cached loop in length buckets.

`CausalLM.generate_ids` and its `generate` hooks call these functions with
the model; they use only its public step-by-step API (`empty_cache`,
`call_with_cache`) and its special ids.

Keras generation keeps a *split* KV cache (one `(keys, values)` pair
`(B, H_kv, T, D_head)` per block, see `zoo.layers.MultiHeadAttention`) and
runs the loop in cache-length buckets (`zoo.generation.loop`): a step
writes only its new rows and attends over at most twice the filled part
of the cache, so its cost does not grow with `max_length`. The exported
prefill/decode signatures keep the stacked cache `(B, L, 2, T, H_kv,
D_head)` of `CausalLM.call_with_cache`.
"""

import numpy as np
from keras import ops

from zoo.generation import beam_search, get_sampler, sample_loop

# The split cache's leaves are (B, H_kv, T, D_head): positions on axis 2.
SPLIT_CACHE_SEQUENCE_AXIS = 2


def generate_ids(
    model,
    token_ids,
    padding_mask,
    max_length=None,
    sampler="greedy",
    num_beams=4,
    length_penalty=0.0,
    use_cache=True,
    stop_length=None,
    cache_buckets="auto",
):
    """`CausalLM.generate_ids` (see there)."""
    max_length = model.sequence_length if max_length is None else max_length
    token_ids = ops.convert_to_tensor(token_ids, "int32")
    padding_mask = ops.cast(ops.convert_to_tensor(padding_mask), "int32")
    prompt_width = token_ids.shape[1]
    if prompt_width is None:
        raise ValueError("generate_ids needs prompts of a static width; pad them (see generate)")
    if max_length > model.sequence_length:
        raise ValueError(
            f"max_length must be at most the model's sequence_length {model.sequence_length}. "
            f"Received: max_length={max_length}"
        )
    if prompt_width >= max_length:
        raise ValueError(
            f"max_length must be greater than the prompt width {prompt_width}. Received: max_length={max_length}"
        )
    token_ids, padding_mask = right_align(token_ids, padding_mask)
    batch_size = ops.shape(token_ids)[0]
    extra = max_length - prompt_width
    buffer = ops.concatenate(
        [
            ops.where(padding_mask > 0, token_ids, model.pad_token_id),
            ops.full((batch_size, extra), model.pad_token_id, "int32"),
        ],
        axis=1,
    )
    prompt_mask = ops.concatenate([padding_mask > 0, ops.zeros((batch_size, extra), "bool")], axis=1)
    buckets = {}
    if use_cache:
        # Prefill the whole prompt width at once. Shorter prompts' padding positions get keys and
        # values too, but the loop rewrites every position from the shortest prompt's end on
        # before any query reaches it.
        empty = model.empty_cache(batch_size, max_length, split=True)
        _, cache = model.call_with_cache(buffer[:, :prompt_width], empty, 0)
        if cache_buckets is not None:
            chosen = None if isinstance(cache_buckets, str) and cache_buckets == "auto" else tuple(cache_buckets)
            buckets = {"cache_sequence_axes": SPLIT_CACHE_SEQUENCE_AXIS, "cache_buckets": chosen}
    else:
        cache = ops.concatenate([buffer, ops.zeros((batch_size, model.sequence_length - max_length), "int32")], axis=1)
    step = next_fn(model, use_cache)
    if sampler == "beam":
        token_ids, _ = beam_search(
            step,
            buffer,
            prompt_mask,
            cache,
            num_beams,
            model.end_token_id,
            model.pad_token_id,
            length_penalty,
            **buckets,
        )
        return token_ids
    sampler = get_sampler(sampler) if isinstance(sampler, str) else sampler
    token_ids, _ = sample_loop(
        step, buffer, prompt_mask, cache, sampler, model.end_token_id, model.pad_token_id, stop_length, **buckets
    )
    return token_ids


def next_fn(model, use_cache):
    """The loop's `next_fn`: a cached step, or (`use_cache=False`) a full forward pass over the buffer."""
    if use_cache:

        def cached_step(token_ids, cache, index):
            logits, cache = model.call_with_cache(token_ids, cache, index)
            return logits[:, 0], cache

        return cached_step

    def uncached_step(token_ids, buffer, index):
        buffer = ops.slice_update(buffer, (0, index), token_ids)
        positions = ops.arange(buffer.shape[1])[None, :]
        logits = model(
            {"token_ids": buffer, "padding_mask": ops.cast(positions <= index, "int32") * ops.ones_like(buffer)},
            training=False,
        )
        return ops.take(logits, ops.expand_dims(index, 0), axis=1)[:, 0], buffer

    return uncached_step


def pad_prompts(model, token_ids, padding_mask, max_length):
    """Prompts right-aligned and padded to `max_length - 1` (one compiled function per `max_length`)."""
    max_length = model.sequence_length if max_length is None else max_length
    if not 2 <= max_length <= model.sequence_length:
        raise ValueError(
            f"max_length must be in [2, {model.sequence_length}] (the model's sequence_length). "
            f"Received: max_length={max_length}"
        )
    token_ids = np.asarray(ops.convert_to_numpy(token_ids), "int32")
    padding_mask = np.asarray(ops.convert_to_numpy(padding_mask), "int32")
    lengths = padding_mask.sum(axis=1)
    if token_ids.ndim != 2 or token_ids.shape != padding_mask.shape:
        raise ValueError(
            f"token_ids and padding_mask must both be (batch, width). Received: {token_ids.shape}, {padding_mask.shape}"
        )
    if (lengths < 1).any():
        raise ValueError("every prompt needs at least one token (e.g. BOS)")
    if lengths.max() >= max_length:
        raise ValueError(
            f"max_length must be greater than the longest prompt ({lengths.max()} tokens). "
            f"Received: max_length={max_length}"
        )
    aligned, mask = (ops.convert_to_numpy(x) for x in right_align(token_ids, padding_mask))
    width = max_length - 1
    if aligned.shape[1] >= width:
        return aligned[:, :width], mask[:, :width]
    pad = ((0, 0), (0, width - aligned.shape[1]))
    return np.pad(aligned, pad, constant_values=model.pad_token_id), np.pad(mask, pad)


def right_align(token_ids, padding_mask):
    """Move each row's real tokens to the front (left padding -> right padding), keeping their order."""
    width = ops.shape(token_ids)[1]
    positions = ops.arange(width)[None, :]
    # Real tokens sort first by position, padding after them.
    keys = ops.where(padding_mask > 0, positions, positions + width)
    order = ops.argsort(keys, axis=1)
    token_ids = ops.take_along_axis(token_ids, order, axis=1)
    padding_mask = ops.take_along_axis(padding_mask, order, axis=1)
    return token_ids, padding_mask
