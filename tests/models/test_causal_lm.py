"""CausalLM: prefill + cached steps equal the full forward pass, padding-independent prompts, samplers."""

import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.models import CausalLM
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "to be or not that is the question , . whether tis nobler".split()
PROMPTS = ["to be , or not", "that is", "whether tis nobler in the"]


@pytest.fixture(scope="module", params=["tiny", "tiny_rotary"])
def model(request):
    keras.utils.set_random_seed(2)
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=8)
    return CausalLM.from_preset(request.param, preprocessor=preprocessor)


def random_ids(model, batch, length, seed=0):
    return np.random.default_rng(seed).integers(4, model.vocabulary_size, size=(batch, length)).astype("int32")


def test_prefill_and_steps_reproduce_the_full_forward_pass(model):
    ids = random_ids(model, 2, 10)
    full = to_numpy(model({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
    cache = model.empty_cache(2, 12)
    logits, cache = model.call_with_cache(ids[:, :6], cache, 0)  # prefill 6 positions at once
    np.testing.assert_allclose(to_numpy(logits), full[:, :6], atol=1e-5)
    for index in range(6, 10):
        logits, cache = model.call_with_cache(ids[:, index : index + 1], cache, index)
        np.testing.assert_allclose(to_numpy(logits)[:, 0], full[:, index], atol=1e-5)


def test_cached_and_uncached_greedy_agree_for_prompts_of_different_lengths(model):
    token_ids, padding_mask = model.pack_prompts(PROMPTS)
    cached = model.generate_ids(token_ids, padding_mask, max_length=20, use_cache=True)
    uncached = model.generate_ids(token_ids, padding_mask, max_length=20, use_cache=False)
    np.testing.assert_array_equal(to_numpy(cached), to_numpy(uncached))
    lengths = padding_mask.sum(1)
    for row, length in enumerate(lengths):  # every prompt is kept as given
        np.testing.assert_array_equal(to_numpy(cached)[row, :length], token_ids[row, :length])


def test_each_prompt_continues_as_it_would_alone_with_left_or_right_padding(model):
    token_ids, padding_mask = model.pack_prompts(PROMPTS)
    together = model.generate({"token_ids": token_ids, "padding_mask": padding_mask}, max_length=16)
    # The same batch padded on the left gives the same (right-aligned) output.
    lengths = padding_mask.sum(1)
    width = token_ids.shape[1]
    left_ids = np.zeros_like(token_ids)
    left_mask = np.zeros_like(padding_mask)
    for row, length in enumerate(lengths):
        left_ids[row, width - length :] = token_ids[row, :length]
        left_mask[row, width - length :] = 1
    np.testing.assert_array_equal(
        model.generate({"token_ids": left_ids, "padding_mask": left_mask}, max_length=16), together
    )
    for row, length in enumerate(lengths):
        alone = model.generate(
            {"token_ids": token_ids[row : row + 1, :length], "padding_mask": padding_mask[row : row + 1, :length]},
            max_length=16,
        )
        np.testing.assert_array_equal(alone[0], together[row])


def test_samplers(model):
    greedy = model.generate(PROMPTS, max_length=16)
    assert model.generate(PROMPTS, max_length=16, sampler="top_k", k=1, seed=4) == greedy
    a = model.generate(PROMPTS, max_length=16, sampler="top_p", p=0.9, temperature=0.8, seed=5)
    assert a == model.generate(PROMPTS, max_length=16, sampler="top_p", p=0.9, temperature=0.8, seed=5)
    samples = {
        tuple(model.generate(PROMPTS, max_length=16, sampler="random", temperature=2.0, seed=s)) for s in range(4)
    }
    assert len(samples) > 1
    same_length = {"token_ids": random_ids(model, 2, 3), "padding_mask": np.ones((2, 3), "int32")}
    np.testing.assert_array_equal(
        model.generate(same_length, max_length=12, sampler="beam", num_beams=1),
        model.generate(same_length, max_length=12),
    )


def test_strings_keep_the_prompt_unless_stripped(model):
    full = model.generate(["to be"], max_length=12)[0]
    continuation = model.generate(["to be"], max_length=12, strip_prompt=True)[0]
    assert full.startswith("to be")
    assert full.endswith(continuation)


def test_generation_stops_at_end_token(model):
    clone = CausalLM.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    kernel, bias = clone.lm_head.get_weights()
    bias = np.zeros_like(bias)
    bias[model.end_token_id] = 100.0
    clone.lm_head.set_weights([kernel * 0, bias])
    ids = clone.generate(
        {"token_ids": np.array([[2, 5, 6]], "int32"), "padding_mask": np.ones((1, 3), "int32")}, max_length=8
    )
    np.testing.assert_array_equal(ids[0], [2, 5, 6, model.end_token_id, 0, 0, 0, 0])


def test_keras_round_trip(model, tmp_path):
    path = tmp_path / "lm.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, CausalLM) and loaded.position == model.position
    assert loaded.generate(PROMPTS, max_length=16) == model.generate(PROMPTS, max_length=16)


def test_clear_errors(model):
    with pytest.raises(ValueError, match=r"max_length must be in \[2, 32\]"):
        model.generate(PROMPTS, max_length=40)
    with pytest.raises(ValueError, match="greater than the prompt width 6"):
        model.generate_ids(*model.pack_prompts(PROMPTS), max_length=6)
    with pytest.raises(ValueError, match=r"greater than the longest prompt \(6 tokens\)"):
        model.generate(PROMPTS, max_length=6)
    with pytest.raises(ValueError, match="position must be 'learned' or 'rotary'"):
        CausalLM.from_preset("tiny", vocabulary_size=20, position="alibi")
    with pytest.raises(ValueError, match="backbone must be a zoo.models.TransformerDecoderBackbone"):
        CausalLM(20)
    with pytest.raises(ValueError, match="position must be 'learned' or 'rotary'"):
        CausalLM(vocabulary_size=20, sequence_length=16, position="alibi")  # the flat arguments of earlier versions
    with pytest.raises(ValueError, match=r"unknown CausalLM arguments \['hiden_dim'\]"):
        CausalLM.from_preset("tiny", vocabulary_size=20, hiden_dim=8)
    with pytest.raises(ValueError, match="pass a backbone or its arguments, not both"):
        CausalLM(model.backbone, hidden_dim=8)
    with pytest.raises(ValueError, match="needs a preprocessor or vocabulary_size"):
        CausalLM.from_preset("tiny")
    with pytest.raises(ValueError, match="empty list"):
        model.generate([])
