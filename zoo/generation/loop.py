"""Fixed-shape autoregressive decoding loops over a KV cache (keras.ops only).

Both loops drive a `next_fn(token_ids, cache, index) -> (logits, cache)`:
`token_ids` `(B, 1)` is the token at position `index`; the model writes its
keys/values at `index` into the cache and returns the logits `(B, V)` for
position `index + 1`. The token buffer `(B, T)` and the cache keep their
shapes through the loop (`ops.while_loop`), so the loop compiles into one
graph (SavedModel, XLA) and mirrors what an app does with a TFLite
decode-step model.

Prompts: `prompt_mask` `(B, T)` marks positions whose tokens are given; the
loop starts at the first position where some row needs a new token and
keeps given tokens where the mask is set (rows with longer prompts are fed
their own tokens). A row is finished once it produces `end_token_id`; its
later positions are filled with `pad_token_id`. The loop stops when every
row is finished or the buffer is full.

Length buckets (`cache_sequence_axes`): a cache that is written at
`index` along a sequence axis only needs its first `index + 1` positions
for the step at `index`. With `cache_sequence_axes` given, the loop runs
as one `while_loop` per bucket of cache lengths (64, 128, 256, ... by
default, then the full length): before a bucket it slices every cache
leaf to the bucket's length along its axis, runs the steps whose index
falls inside it, and writes the slice back into the full cache. Each step
then reads, attends over and copies at most twice the filled part of the
cache instead of all of it; shapes stay static inside each loop, and the
tokens are the same as with one loop (`None`, the default).
"""

import keras
from keras import ops

from zoo.generation.samplers import argmax

FIRST_BUCKET = 64


def bucket_lengths(cache_length, buckets=None):
    """The cache lengths of the bucketed loop: `buckets` shorter than `cache_length`, then `cache_length`.

    Args:
        cache_length: int, the full cache length.
        buckets: increasing positive ints, or `None` for 64, 128, 256, ...

    Raises:
        ValueError: `buckets` not increasing positive integers.
    """
    if buckets is None:
        buckets = [FIRST_BUCKET * 2**power for power in range(32) if FIRST_BUCKET * 2**power < cache_length]
    buckets = list(buckets)
    if any(not isinstance(b, int) or b < 1 for b in buckets) or buckets != sorted(set(buckets)):
        raise ValueError(f"cache_buckets must be increasing positive integers. Received: cache_buckets={buckets}")
    return [length for length in buckets if length < cache_length] + [cache_length]


def _sequence_axes(cache, cache_sequence_axes):
    """A tree like `cache` with each leaf's sequence axis (an int given for all leaves, or a matching tree)."""
    if isinstance(cache_sequence_axes, int):
        return keras.tree.map_structure(lambda _: cache_sequence_axes, cache)
    keras.tree.assert_same_structure(cache, cache_sequence_axes)
    return cache_sequence_axes


def _prefix(tree, axes, length):
    """Every leaf cut to its first `length` positions along its axis."""
    return keras.tree.map_structure(lambda x, axis: x[(slice(None),) * axis + (slice(0, length),)], tree, axes)


def _write_prefix(tree, prefix):
    """`tree` with each leaf's prefix (a leaf of `prefix`, at index 0 on every axis) replaced."""
    return keras.tree.map_structure(lambda x, part: ops.slice_update(x, (0,) * len(x.shape), part), tree, prefix)


def _while_in_buckets(cond, body, state, cache_sequence_axes, cache_buckets):
    """`ops.while_loop(cond, body, state)` for `state = (token_ids, cache, index, ...)`, in cache buckets.

    Equal to one loop: each bucket's loop also stops once `index` leaves
    the bucket, and the next continues from there on the longer cache.
    """
    if cache_sequence_axes is None:
        return ops.while_loop(cond, body, state)
    token_ids, full, *rest = state
    axes = _sequence_axes(full, cache_sequence_axes)
    first_leaf, first_axis = keras.tree.flatten(full)[0], keras.tree.flatten(axes)[0]
    lengths = bucket_lengths(first_leaf.shape[first_axis], cache_buckets)
    for position, length in enumerate(lengths):
        last = position == len(lengths) - 1
        cache = full if last else _prefix(full, axes, length)

        def bucket_cond(*loop_state, length=length):
            return ops.logical_and(loop_state[2] < length, cond(*loop_state))

        token_ids, cache, *rest = ops.while_loop(bucket_cond, body, (token_ids, cache, *rest))
        if not last:
            full = _write_prefix(full, cache)
    return (token_ids, cache, *rest)


def _first_free_index(prompt_mask):
    """Index of the last given token common to all rows (where decoding starts)."""
    lengths = ops.sum(ops.cast(prompt_mask, "int32"), axis=1)
    return ops.min(lengths) - 1


def sample_loop(
    next_fn,
    token_ids,
    prompt_mask,
    cache,
    sampler,
    end_token_id,
    pad_token_id,
    stop_length=None,
    cache_sequence_axes=None,
    cache_buckets=None,
):
    """Decode with `sampler` (greedy, top-k, top-p, ...) until EOS or the buffer is full.

    Args:
        next_fn: see the module docstring.
        token_ids: `(B, T)` int32 buffer with the prompts in place.
        prompt_mask: `(B, T)` bool, True where the token is given.
        cache: any structure of tensors with a leading batch axis.
        sampler: a `zoo.generation.Sampler`.
        end_token_id, pad_token_id: ints.
        stop_length: optional int or scalar tensor <= T: fill only the
            first `stop_length` positions (the rest stay as given), e.g. a
            `max_length` chosen at run time inside an exported graph.
        cache_sequence_axes: `None` (one loop over the whole cache), or
            the axis along which `next_fn` writes position `index` into
            the cache: an int for every leaf, or a tree like `cache`; then
            the loop runs in length buckets (see the module docstring).
        cache_buckets: increasing ints, the bucket lengths (default 64,
            128, 256, ...; the full cache length is always the last).

    Returns:
        `(token_ids, finished)`: the filled buffer `(B, T)` and whether each
        row produced `end_token_id`.
    """
    token_ids = ops.cast(token_ids, "int32")
    prompt_mask = ops.cast(prompt_mask, "bool")
    max_length = token_ids.shape[1]
    batch_size = ops.shape(token_ids)[0]
    finished = ops.zeros((batch_size,), dtype="bool")
    stop_length = max_length if stop_length is None else ops.minimum(stop_length, max_length)

    def cond(token_ids, cache, index, finished):
        return ops.logical_and(index < stop_length - 1, ops.logical_not(ops.all(finished)))

    def body(token_ids, cache, index, finished):
        current = ops.slice(token_ids, (0, index), (batch_size, 1))  # (B, 1)
        logits, cache = next_fn(current, cache, index)
        sampled = sampler(logits)  # (B,)
        given = ops.slice(prompt_mask, (0, index + 1), (batch_size, 1))[:, 0]
        given_token = ops.slice(token_ids, (0, index + 1), (batch_size, 1))[:, 0]
        token = ops.where(given, given_token, ops.where(finished, pad_token_id, sampled))
        token_ids = ops.slice_update(token_ids, (0, index + 1), ops.expand_dims(token, 1))
        finished = ops.logical_or(finished, ops.logical_and(ops.logical_not(given), token == end_token_id))
        return token_ids, cache, index + 1, finished

    start = _first_free_index(prompt_mask)
    state = (token_ids, cache, start, finished)
    token_ids, _, _, finished = _while_in_buckets(cond, body, state, cache_sequence_axes, cache_buckets)
    return token_ids, finished


def _repeat_batch(tree, times):
    return keras.tree.map_structure(lambda x: ops.repeat(x, times, axis=0), tree)


def _gather_batch(tree, indices):
    return keras.tree.map_structure(lambda x: ops.take(x, indices, axis=0), tree)


def beam_search(
    next_fn,
    token_ids,
    prompt_mask,
    cache,
    num_beams,
    end_token_id,
    pad_token_id,
    length_penalty=0.0,
    cache_sequence_axes=None,
    cache_buckets=None,
):
    """Keep the `num_beams` most likely continuations; return the best per row.

    All rows must share one prompt length (true for sequence-to-sequence
    decoding, which starts from `[BOS]`). Scores are summed log
    probabilities; a finished beam keeps its score and emits padding. The
    best beam maximizes `score / length ** length_penalty` (0: no length
    normalization). With `num_beams=1` this is greedy decoding.
    `cache_sequence_axes` and `cache_buckets` as in `sample_loop` (each
    step's reordering of the beams' caches then copies only the bucket).

    Returns:
        `(token_ids, scores)`: the best sequence per row `(B, T)` and its
        summed log probability `(B,)`.
    """
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"num_beams must be a positive integer. Received: num_beams={num_beams!r}")
    token_ids = ops.cast(token_ids, "int32")
    batch_size, max_length = ops.shape(token_ids)[0], token_ids.shape[1]
    start = _first_free_index(prompt_mask)
    token_ids = _repeat_batch(token_ids, num_beams)  # (B*W, T)
    cache = _repeat_batch(cache, num_beams)
    # Only the first beam of each row is live at the start (the others are copies).
    first = ops.concatenate([ops.zeros((1,)), ops.full((num_beams - 1,), -1e9)])
    scores = ops.tile(ops.expand_dims(first, 0), (batch_size, 1))  # (B, W)
    finished = ops.zeros((batch_size * num_beams,), dtype="bool")
    offsets = ops.expand_dims(ops.arange(batch_size) * num_beams, 1)  # (B, 1)

    def cond(token_ids, cache, index, scores, finished):
        return ops.logical_and(index < max_length - 1, ops.logical_not(ops.all(finished)))

    def body(token_ids, cache, index, scores, finished):
        current = ops.slice(token_ids, (0, index), (batch_size * num_beams, 1))
        logits, cache = next_fn(current, cache, index)
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)  # (B*W, V)
        vocabulary_size = log_probs.shape[-1]
        # A finished beam continues with padding at no cost.
        pad_only = ops.where(ops.arange(vocabulary_size) == pad_token_id, 0.0, -1e9)
        log_probs = ops.where(ops.expand_dims(finished, 1), ops.expand_dims(pad_only, 0), log_probs)
        candidates = ops.expand_dims(scores, -1) + ops.reshape(log_probs, (batch_size, num_beams, vocabulary_size))
        scores, flat = ops.top_k(ops.reshape(candidates, (batch_size, num_beams * vocabulary_size)), k=num_beams)
        beam = flat // vocabulary_size  # (B, W): which beam each survivor extends
        token = ops.cast(ops.reshape(flat % vocabulary_size, (-1,)), "int32")
        rows = ops.reshape(offsets + beam, (-1,))
        token_ids, cache, finished = _gather_batch((token_ids, cache, finished), rows)
        token_ids = ops.slice_update(token_ids, (0, index + 1), ops.expand_dims(token, 1))
        finished = ops.logical_or(finished, token == end_token_id)
        return token_ids, cache, index + 1, scores, finished

    state = (token_ids, cache, start, scores, finished)
    token_ids, _, _, scores, _ = _while_in_buckets(cond, body, state, cache_sequence_axes, cache_buckets)
    lengths = ops.sum(ops.cast(token_ids != pad_token_id, "float32"), axis=1)  # (B*W,)
    normalized = scores / ops.power(ops.reshape(lengths, (batch_size, num_beams)), length_penalty)
    best = argmax(normalized)  # (B,)
    best_rows = ops.reshape(offsets, (-1,)) + ops.cast(best, offsets.dtype)
    best_scores = ops.take_along_axis(scores, ops.expand_dims(best, -1), axis=-1)[:, 0]
    return ops.take(token_ids, best_rows, axis=0), best_scores
