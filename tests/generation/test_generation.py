"""Samplers and decoding loops against a second-order Markov "model" with a brute-force reference."""

import itertools

import numpy as np
import pytest
from keras import ops

from helpers import to_numpy
from zoo.generation import GreedySampler, TopKSampler, TopPSampler, beam_search, get_sampler, sample_loop

PAD, EOS, BOS = 0, 1, 2
VOCAB = 6
RNG = np.random.default_rng(0)
# logits[previous token, current token] -> next-token logits; [PAD] is never produced.
TABLE = RNG.normal(size=(VOCAB, VOCAB, VOCAB)).astype("float32") * 2
TABLE[..., PAD] = -1e9


def next_fn(token_ids, cache, index):
    """Second-order Markov model: the cache holds the previous token of each row."""
    current = token_ids[:, 0]
    logits = ops.take(ops.reshape(TABLE, (VOCAB * VOCAB, VOCAB)), cache * VOCAB + current, axis=0)
    return logits, current


def start(batch_size, length):
    token_ids = np.zeros((batch_size, length), "int32")
    token_ids[:, 0] = BOS
    mask = np.zeros((batch_size, length), bool)
    mask[:, 0] = True
    return token_ids, mask, np.full((batch_size,), BOS, "int32")


def log_softmax(x):
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def sequence_score(tokens):
    """Sum of log probabilities of `tokens` after [BOS], up to and including [EOS]."""
    previous, current, total = BOS, BOS, 0.0
    for token in tokens:
        total += log_softmax(TABLE[previous, current])[token]
        if token == EOS:
            break
        previous, current = current, token
    return total


def brute_force_best(steps):
    best, best_score = None, -np.inf
    for tokens in itertools.product(range(1, VOCAB), repeat=steps):
        if EOS in tokens:  # everything after the first EOS is padding
            tokens = tokens[: tokens.index(EOS) + 1] + (PAD,) * (steps - tokens.index(EOS) - 1)
        score = sequence_score(tokens)
        if score > best_score + 1e-6:
            best, best_score = tokens, score
    return list(best), best_score


def reference_greedy(steps):
    previous, current, out = BOS, BOS, []
    for _ in range(steps):
        if out and out[-1] in (EOS, PAD):
            out.append(PAD)
            continue
        token = int(np.argmax(TABLE[previous, current]))
        out.append(token)
        previous, current = current, token
    return out


def test_greedy_loop_matches_reference():
    token_ids, mask, cache = start(2, 8)
    out, finished = sample_loop(next_fn, token_ids, mask, cache, GreedySampler(), EOS, PAD)
    out = to_numpy(out)
    assert out[0].tolist() == [BOS] + reference_greedy(7)
    assert out[1].tolist() == out[0].tolist()
    assert to_numpy(finished).tolist() == [EOS in out[0], EOS in out[0]]


def test_beam_width_one_is_greedy():
    token_ids, mask, cache = start(3, 8)
    greedy, _ = sample_loop(next_fn, token_ids, mask, cache, GreedySampler(), EOS, PAD)
    beam, _ = beam_search(next_fn, token_ids, mask, cache, 1, EOS, PAD)
    np.testing.assert_array_equal(to_numpy(beam), to_numpy(greedy))


def test_exhaustive_beam_finds_the_most_likely_sequence():
    steps = 4
    token_ids, mask, cache = start(2, steps + 1)
    best, best_score = brute_force_best(steps)
    beam, scores = beam_search(next_fn, token_ids, mask, cache, (VOCAB - 1) ** (steps - 1), EOS, PAD)
    assert to_numpy(beam)[0].tolist() == [BOS] + best
    np.testing.assert_allclose(to_numpy(scores), [best_score, best_score], rtol=1e-5)


def test_prompt_tokens_are_kept_and_fed():
    token_ids, mask, cache = start(2, 8)
    # Row 0 has a longer prompt: BOS 3 4; row 1 only BOS.
    token_ids[0, 1:3] = [3, 4]
    mask[0, 1:3] = True
    out = to_numpy(sample_loop(next_fn, token_ids, mask, cache, GreedySampler(), EOS, PAD)[0])
    assert out[0, :3].tolist() == [BOS, 3, 4]
    # Row 0's continuation is greedy from its own prompt.
    previous, current = 3, 4
    expected = []
    for _ in range(5):
        if expected and expected[-1] in (EOS, PAD):
            expected.append(PAD)
            continue
        token = int(np.argmax(TABLE[previous, current]))
        expected.append(token)
        previous, current = current, token
    assert out[0, 3:].tolist() == expected
    assert out[1].tolist() == [BOS] + reference_greedy(7)


def test_top_k_one_is_greedy_and_seeds_reproduce():
    token_ids, mask, cache = start(4, 8)
    greedy = to_numpy(sample_loop(next_fn, token_ids, mask, cache, GreedySampler(), EOS, PAD)[0])
    top1 = to_numpy(sample_loop(next_fn, token_ids, mask, cache, TopKSampler(k=1, seed=3), EOS, PAD)[0])
    np.testing.assert_array_equal(top1, greedy)
    runs = [
        to_numpy(sample_loop(next_fn, token_ids, mask, cache, TopPSampler(p=0.9, seed=7), EOS, PAD)[0])
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])


def test_top_k_and_top_p_only_draw_allowed_tokens():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 400, "float32"))
    top2 = to_numpy(TopKSampler(k=2, seed=1)(logits))
    assert set(top2.tolist()) == {0, 1}
    nucleus = to_numpy(TopPSampler(p=0.7, seed=1)(logits))  # 0.5 + 0.3 reaches 0.7
    assert set(nucleus.tolist()) == {0, 1}
    assert 0.5 < np.mean(nucleus == 0) < 0.75  # 0.5 / 0.8 = 0.625


def test_low_temperature_approaches_greedy():
    logits = np.log(np.array([[0.4, 0.35, 0.25]] * 200, "float32"))
    cold = to_numpy(get_sampler("random", temperature=0.01, seed=0)(logits))
    assert (cold == 0).all()


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match="unknown sampler 'nucleus'"):
        get_sampler("nucleus")
    with pytest.raises(ValueError, match="p must be in"):
        get_sampler("top_p", p=1.5)
    with pytest.raises(ValueError, match="bad arguments for sampler 'top_k'"):
        get_sampler("top_k", q=3)
    with pytest.raises(ValueError, match="temperature must be positive"):
        get_sampler("random", temperature=0)
