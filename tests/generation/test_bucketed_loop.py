"""The decoding loops in cache-length buckets (`cache_sequence_axes`) give the same tokens as one loop."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from helpers import to_numpy
from zoo.generation import GreedySampler, beam_search, get_sampler, sample_loop
from zoo.generation.loop import bucket_lengths
from zoo.models import CausalLM, TransformerDecoderBackbone

VOCAB, PAD, EOS = 7, 0, 6  # EOS is never produced by the toy model below (tokens are 1..5)


def weighted_sum_model(seen_lengths):
    """`next_fn` over a `(B, T)` cache of the tokens so far: next token = 1 + (sum_j (j + 1) * token_j) mod 5.

    It reads every cache position (positions not written yet hold 0), so a
    bucket that dropped a written position would change the tokens. Each
    trace records the cache length it saw.
    """

    def next_fn(token_ids, cache, index):
        seen_lengths.append(cache.shape[1])
        cache = ops.slice_update(cache, (0, index), token_ids)
        weights = ops.arange(1, cache.shape[1] + 1, dtype="int32")[None, :]
        token = 1 + ops.mod(ops.sum(cache * weights, axis=1), 5)
        return ops.one_hot(token, VOCAB) * 10.0, cache

    return next_fn


def reference(prompts, length):
    """The toy model's greedy continuation in NumPy; prompts are lists of tokens."""
    rows = []
    for prompt in prompts:
        tokens = list(prompt)
        while len(tokens) < length:
            tokens.append(1 + sum((j + 1) * t for j, t in enumerate(tokens)) % 5)
        rows.append(tokens)
    return np.array(rows, "int32")


def toy_inputs(prompts, length):
    token_ids = np.zeros((len(prompts), length), "int32")
    mask = np.zeros((len(prompts), length), bool)
    for row, prompt in enumerate(prompts):
        token_ids[row, : len(prompt)], mask[row, : len(prompt)] = prompt, True
    return token_ids, mask


@pytest.mark.parametrize("buckets", [(4, 8), (2, 3, 5, 10), None])
def test_sample_loop_in_buckets_equals_the_numpy_reference(buckets):
    # Prompts of 2 and 6 tokens: the longer one outlasts the first bucket; 11 is no bucket's multiple.
    prompts, length = [[3, 1], [2, 5, 4, 1, 3, 2]], 11
    token_ids, mask = toy_inputs(prompts, length)
    seen = []

    @tf.function  # traced: every bucket's loop body is built once, also those no step enters
    def generate(token_ids, mask):
        return sample_loop(
            weighted_sum_model(seen),
            token_ids,
            mask,
            token_ids,  # the cache: the prompts are in place (its "prefill")
            GreedySampler(),
            EOS,
            PAD,
            cache_sequence_axes=1,
            cache_buckets=buckets,
        )[0]

    generated = generate(token_ids, mask)
    np.testing.assert_array_equal(to_numpy(generated), reference(prompts, length))
    assert sorted(set(seen)) == bucket_lengths(length, buckets)  # each bucket's steps see its own cache length


def test_sample_loop_in_buckets_stops_at_stop_length():
    prompts, length = [[3, 1]], 11
    token_ids, mask = toy_inputs(prompts, length)
    generated, _ = sample_loop(
        weighted_sum_model([]), token_ids, mask, token_ids, GreedySampler(), EOS, PAD,
        stop_length=6, cache_sequence_axes=1, cache_buckets=(4,),
    )  # fmt: skip
    expected = reference(prompts, 6)[0]
    np.testing.assert_array_equal(to_numpy(generated)[0], np.concatenate([expected, np.zeros(5, "int32")]))


def test_beam_search_in_buckets_equals_one_loop():
    prompts, length = [[3, 1, 2], [2, 5, 4]], 9
    token_ids, mask = toy_inputs(prompts, length)
    cache = token_ids
    one_loop, one_scores = beam_search(weighted_sum_model([]), token_ids, mask, cache, 3, EOS, PAD)
    bucketed, scores = beam_search(
        weighted_sum_model([]), token_ids, mask, cache, 3, EOS, PAD, cache_sequence_axes=1, cache_buckets=(4, 5)
    )
    np.testing.assert_array_equal(to_numpy(bucketed), reference(prompts, length))
    np.testing.assert_array_equal(to_numpy(bucketed), to_numpy(one_loop))
    np.testing.assert_allclose(to_numpy(scores), to_numpy(one_scores))


def test_bucket_lengths():
    assert bucket_lengths(512) == [64, 128, 256, 512]
    assert bucket_lengths(300) == [64, 128, 256, 300]
    assert bucket_lengths(64) == [64]
    assert bucket_lengths(10, (4, 8, 16)) == [4, 8, 10]
    with pytest.raises(ValueError, match="cache_buckets must be increasing positive integers"):
        bucket_lengths(10, (8, 4))


@pytest.fixture(scope="module")
def tiny_llama():
    return CausalLM(TransformerDecoderBackbone.from_preset("tiny_llama"))  # GQA 4 / 2, rotary, RMSNorm


def test_causal_lm_greedy_in_buckets_equals_uncached_generation(tiny_llama):
    rng = np.random.default_rng(0)
    token_ids = rng.integers(4, tiny_llama.vocabulary_size, (3, 9)).astype("int32")
    mask = np.ones_like(token_ids)
    mask[1, 3:] = 0  # prompts of 9, 3 and 7 tokens (the last left-padded)
    mask[2, :2] = 0
    uncached = to_numpy(tiny_llama.generate_ids(token_ids, mask, max_length=23, use_cache=False))
    for buckets in ((4, 8), (2, 3, 16), "auto", None):
        generated = tiny_llama.generate_ids(token_ids, mask, max_length=23, cache_buckets=buckets)
        np.testing.assert_array_equal(to_numpy(generated), uncached, err_msg=f"cache_buckets={buckets}")


def test_causal_lm_beam_and_top_k_in_buckets_equal_one_loop(tiny_llama):
    token_ids = np.random.default_rng(1).integers(4, tiny_llama.vocabulary_size, (2, 5)).astype("int32")
    mask = np.ones_like(token_ids)
    beams = [
        to_numpy(tiny_llama.generate_ids(token_ids, mask, max_length=19, sampler="beam", cache_buckets=buckets))
        for buckets in (None, (4, 8))
    ]
    np.testing.assert_array_equal(beams[1], beams[0])
    np.testing.assert_array_equal(
        beams[0], to_numpy(tiny_llama.generate_ids(token_ids, mask, max_length=19, sampler="beam", use_cache=False))
    )
    sampled = [
        to_numpy(
            tiny_llama.generate_ids(
                token_ids, mask, max_length=19, sampler=get_sampler("top_k", k=5, seed=3), cache_buckets=buckets
            )
        )
        for buckets in (None, (4, 8))
    ]
    np.testing.assert_array_equal(sampled[1], sampled[0])


def test_split_cache_steps_equal_the_stacked_cache(tiny_llama):
    token_ids = np.random.default_rng(2).integers(4, tiny_llama.vocabulary_size, (2, 6)).astype("int32")
    stacked, split = tiny_llama.empty_cache(2, 12), tiny_llama.empty_cache(2, 12, split=True)
    assert len(split) == tiny_llama.num_layers and split[0][0].shape == (2, 2, 12, 4)  # (B, H_kv, T, D_head)
    for chunk, index in ((token_ids[:, :5], 0), (token_ids[:, 5:], 5)):
        stacked_logits, stacked = tiny_llama.call_with_cache(chunk, stacked, index)
        split_logits, split = tiny_llama.call_with_cache(chunk, split, index)
        np.testing.assert_allclose(to_numpy(split_logits), to_numpy(stacked_logits), atol=1e-5)
    keys = to_numpy(stacked)[:, :, 0]  # (B, L, T, H_kv, D)
    np.testing.assert_allclose(np.stack([to_numpy(k) for k, _ in split], 1), keys.transpose(0, 1, 3, 2, 4), atol=1e-6)
