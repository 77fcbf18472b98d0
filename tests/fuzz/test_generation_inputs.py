"""Property tests: generate() of every generative model returns text or a clear ValueError on messy input.

Strings (any Unicode incl. mixed scripts and control characters, invalid
UTF-8 bytes, whitespace-only, very long), batches of 1 to many, and
token-id dicts of any dtype, shape and value. A crash from inside
TensorFlow (an `InvalidArgumentError` from a gather, an `AxisError`) or
ids outside the vocabulary in the output fails the test.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.models import CausalLM, LSTMSeq2Seq, Seq2SeqLM
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VOCABULARY = list(SPECIAL_TOKENS) + "to be or not that is the question , . whether tis nobler".split()
MAX_LENGTH = 6

texts = st.one_of(
    st.text(min_size=0, max_size=120),
    st.text(alphabet=st.sampled_from(" \t\n\r\u00a0\u3000\u200b"), max_size=10),  # whitespace only
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda t: t * 300),  # long
    st.binary(min_size=1, max_size=30),  # bytes, often invalid UTF-8
    st.sampled_from(
        ["to be", "быть или не быть", "生きるか死ぬか", "كن أو لا تكن", "to\x00be\x1b[31m", "e\u0301" * 40]
    ),
)


@pytest.fixture(scope="module", params=["causal_lm", "seq2seq", "lstm_seq2seq"])
def generator(request):
    if request.param == "causal_lm":
        return CausalLM.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8))
    model_class = Seq2SeqLM if request.param == "seq2seq" else LSTMSeq2Seq
    return model_class.from_preset(
        "tiny",
        source_preprocessor=TextPreprocessor(VOCABULARY, sequence_length=10),
        target_preprocessor=TextPreprocessor(VOCABULARY, sequence_length=MAX_LENGTH + 1),
    )


@FUZZ
@given(batch=st.one_of(texts, st.lists(texts, min_size=0, max_size=5)))
def test_generate_on_strings_answers_or_refuses_clearly(generator, batch):
    items = [batch] if isinstance(batch, (str, bytes)) else batch
    if not items:
        with pytest.raises(ValueError, match="empty"):
            generator.generate(batch, max_length=MAX_LENGTH)
        return
    # Empty and whitespace-only texts are generated from ([CLS] [SEP] / BOS alone), as the SavedModels do.
    # A causal LM keeps the end of a long prompt, up to its sequence_length - 1 tokens: with the default
    # max_length every prompt fits (a shorter max_length than the prompt is a clear error, tested below).
    generated = generator.generate(batch, max_length=None if isinstance(generator, CausalLM) else MAX_LENGTH)
    assert isinstance(generated, list) and len(generated) == len(items)
    assert all(isinstance(text, str) for text in generated)


id_arrays = st.tuples(
    st.integers(0, 3),  # batch
    st.integers(1, 12),  # width
    st.sampled_from(["int32", "int64", "uint8", "float32", "bool"]),
    st.sampled_from(["valid", "out_of_vocabulary", "negative", "empty_row", "bad_mask"]),
    st.integers(0, 2**16),
)


def _id_inputs(model, batch, width, dtype, kind, seed):
    rng = np.random.default_rng(seed)
    vocabulary_size = model.vocabulary_size if isinstance(model, CausalLM) else model.source_vocabulary_size
    token_ids = rng.integers(4, vocabulary_size, size=(batch, width))
    padding_mask = np.ones((batch, width), "int32")
    if kind == "out_of_vocabulary" and token_ids.size:
        token_ids.flat[rng.integers(token_ids.size)] = vocabulary_size + rng.integers(0, 1000)
    elif kind == "negative" and token_ids.size:
        token_ids.flat[rng.integers(token_ids.size)] = -1 - rng.integers(0, 1000)
    elif kind == "empty_row" and batch:
        padding_mask[rng.integers(batch)] = 0
    elif kind == "bad_mask" and batch:
        padding_mask[0, 0] = 7
    return token_ids.astype(dtype), padding_mask


@FUZZ
@given(spec=id_arrays)
def test_generate_on_token_ids_answers_or_refuses_clearly(generator, spec):
    batch, width, dtype, kind, seed = spec
    token_ids, padding_mask = _id_inputs(generator, batch, width, dtype, kind, seed)
    causal = isinstance(generator, CausalLM)
    names = ("token_ids", "padding_mask") if causal else ("encoder_token_ids", "encoder_padding_mask")
    inputs = dict(zip(names, (token_ids, padding_mask)))
    vocabulary_size = generator.vocabulary_size if causal else generator.source_vocabulary_size
    too_wide = width >= MAX_LENGTH if causal else width > generator.source_length
    valid = (
        batch > 0
        and np.issubdtype(token_ids.dtype, np.integer)
        and not too_wide  # (a uint8 cast may wrap into range)
        and ((token_ids >= 0) & (token_ids < vocabulary_size)).all()
        and np.isin(padding_mask, (0, 1)).all()
        and (padding_mask.sum(axis=1) > 0).all()
    )
    if not valid:
        with pytest.raises(ValueError, match="token_ids|padding_mask|max_length|expected"):
            generator.generate(inputs, max_length=MAX_LENGTH)
        return
    generated = np.asarray(generator.generate(inputs, max_length=MAX_LENGTH))
    vocabulary_size = generator.vocabulary_size if causal else generator.target_vocabulary_size
    assert generated.shape == (batch, MAX_LENGTH)
    assert ((generated >= 0) & (generated < vocabulary_size)).all()


@pytest.mark.parametrize(
    "settings_, message",
    [
        (dict(max_length=0), "max_length must be an integer >= 2"),
        (dict(max_length=5.0), "max_length must be an integer >= 2"),
        (dict(max_length="5"), "max_length must be an integer >= 2"),
        (dict(max_length=10_000), "max_length must be"),
        (dict(sampler="beam", num_beams=0), "num_beams must be an integer >= 1"),
        (dict(sampler="nucleus"), "unknown sampler"),
        (dict(sampler="top_p", p=float("nan")), "p must be in"),
        (dict(sampler="top_k", k=3, temperature=0.0), "temperature must be positive"),
    ],
)
def test_bad_generation_settings_are_named(generator, settings_, message):
    with pytest.raises(ValueError, match=message):
        generator.generate(["to be"], **settings_)


# Regression tests: each of these crashed inside TensorFlow or NumPy (or ran on garbage) before.


@pytest.mark.parametrize(
    "inputs, message",
    [
        (None, "received a NoneType"),
        ([3], "text 0 is a int"),
        (["to", 3], "text 1 is a int"),
        ([["to"]], "text 0 is a list"),
        (np.array([["to"]]), "of shape"),
        (["to \ud800 be"], "text 0 is not valid Unicode"),
    ],
)
def test_non_text_inputs_are_named(generator, inputs, message):
    with pytest.raises(ValueError, match=message):
        generator.generate(inputs, max_length=MAX_LENGTH)


def test_a_prompt_longer_than_max_length_is_named():
    model = CausalLM.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8))
    with pytest.raises(ValueError, match=r"max_length must be greater than the longest prompt \(6 tokens\)"):
        model.generate("0:0:0", max_length=6)


def test_a_string_array_is_generated_from(generator):
    generated = generator.generate(np.array(["to be", "or not"]), max_length=MAX_LENGTH)
    assert len(generated) == 2


def test_out_of_vocabulary_prompt_ids_are_refused_by_range():
    model = CausalLM.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8))
    with pytest.raises(ValueError, match=r"token_ids must be in \[0, 18\).*from 2 to 500"):
        model.generate({"token_ids": np.array([[2, 500]]), "padding_mask": np.ones((1, 2))}, max_length=MAX_LENGTH)
    with pytest.raises(ValueError, match="token_ids must hold integers; received dtype float64"):
        model.generate({"token_ids": np.array([[2.0, 5.5]]), "padding_mask": np.ones((1, 2))}, max_length=MAX_LENGTH)
    with pytest.raises(ValueError, match=r"expected at least one row of token_ids"):
        model.generate({"token_ids": np.zeros((0, 2), "int32"), "padding_mask": np.zeros((0, 2))})
