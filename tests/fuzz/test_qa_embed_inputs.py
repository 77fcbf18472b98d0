"""Property tests: QuestionAnswerer.answer() and TextEmbedder.embed()/predict() on messy input.

Either a well-formed result (an answer that is exactly `context[start:end]`
with a finite or `-inf` score; unit-length finite embeddings, one per text)
or a `ValueError` naming the bad item; never a crash from inside
TensorFlow.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.models import QuestionAnswerer, TextEmbedder
from zoo.tokenizers import SPECIAL_TOKENS

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VOCABULARY = list(SPECIAL_TOKENS) + "who wrote the letter ada love ##lace in 1843 london , . ?".split()

texts = st.one_of(
    st.text(min_size=0, max_size=150),
    st.text(alphabet=st.sampled_from(" \t\n\r\u00a0\u3000"), max_size=10),  # whitespace only
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda t: t * 100),  # long
    st.sampled_from(["ada wrote the letter", "Ада Лавлейс 写 ٱلْ", "\x00\x01\x02", "\u200b\u200b", "e\u0301" * 30]),
)


def _blank(text):
    return not (text.decode("utf-8", "replace") if isinstance(text, bytes) else text).strip()


@pytest.fixture(scope="module")
def answerer():
    return QuestionAnswerer.from_preset(
        "tiny", vocabulary=VOCABULARY, sequence_length=32, max_question_length=6, stride=8
    )


@FUZZ
@given(pairs=st.lists(st.tuples(texts, st.one_of(texts, st.binary(min_size=1, max_size=40))), min_size=1, max_size=4))
def test_answer_is_a_span_of_its_context_or_a_clear_error(answerer, pairs):
    questions, contexts = [q for q, _ in pairs], [c for _, c in pairs]
    blank = [
        (what, i)
        for what, items in (("question", questions), ("context", contexts))
        for i, text in enumerate(items)
        if _blank(text)
    ]
    if blank:
        what, index = blank[0]
        with pytest.raises(ValueError, match=f"{what} {index} is empty"):
            answerer.answer(questions, contexts)
        return
    results = answerer.answer(questions, contexts)
    assert len(results) == len(pairs)
    for result, context in zip(results, contexts):
        context = context.decode("utf-8", "replace") if isinstance(context, bytes) else context
        assert 0 <= result["start"] <= result["end"] <= len(context)
        assert result["text"] == context[result["start"] : result["end"]]
        assert math.isfinite(result["score"]) or result["score"] == -math.inf
        if result["score"] == -math.inf:  # no context token to point at
            assert result["text"] == ""


@pytest.mark.parametrize(
    "question, context, kwargs, message",
    [
        (["who"], ["ada", "ada"], {}, "got 1 questions but 2 contexts"),
        ([], [], {}, "no questions given"),
        (None, "ada", {}, "question 0 is a NoneType"),
        ("who", "ada", {"batch_size": 0}, "batch_size must be an integer >= 1"),  # was: range() arg 3 must not be zero
        ("who", "ada \ud800 wrote", {}, "context 0 is not valid Unicode"),  # was: an unnamed conversion error
    ],
)
def test_bad_answer_calls_are_named(answerer, question, context, kwargs, message):
    with pytest.raises(ValueError, match=message):
        answerer.answer(question, context, **kwargs)


def test_a_large_batch_is_answered_pair_by_pair(answerer):
    results = answerer.answer(["who wrote"] * 70, ["ada wrote the letter in 1843"] * 70, batch_size=32)
    assert len({(r["text"], r["start"]) for r in results}) == 1


@pytest.fixture(scope="module")
def embedder():
    return TextEmbedder.from_preset("tiny", vocabulary=VOCABULARY)


@FUZZ
@given(
    batch=st.lists(st.one_of(texts, st.binary(min_size=1, max_size=40)), min_size=0, max_size=6),
    batch_size=st.sampled_from([1, 2, 64]),
)
def test_embed_gives_unit_vectors_or_a_clear_error(embedder, batch, batch_size):
    blank = [i for i, text in enumerate(batch) if _blank(text)]
    if blank or not batch:
        message = (
            f"text {blank[0]} is empty" if blank else "expected at least one text to embed; received an empty batch"
        )
        with pytest.raises(ValueError, match=message):
            embedder.embed(batch, batch_size=batch_size)
        return
    vectors = embedder.embed(batch, batch_size=batch_size)
    assert vectors.shape == (len(batch), embedder.embedding_dim)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@FUZZ
@given(
    batch=st.integers(0, 3),
    width=st.integers(1, 40),
    dtype=st.sampled_from(["int32", "int64", "float32"]),
    kind=st.sampled_from(["valid", "out_of_vocabulary", "negative", "empty_row"]),
    seed=st.integers(0, 2**16),
)
def test_embedder_predict_on_ids_gives_unit_vectors_or_a_clear_error(embedder, batch, width, dtype, kind, seed):
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(4, embedder.vocabulary_size, size=(batch, width))
    padding_mask = np.ones((batch, width), "int32")
    if batch and kind == "out_of_vocabulary":
        token_ids[rng.integers(batch), rng.integers(width)] = embedder.vocabulary_size + rng.integers(0, 100)
    elif batch and kind == "negative":
        token_ids[rng.integers(batch), rng.integers(width)] = -1
    elif batch and kind == "empty_row":
        padding_mask[rng.integers(batch)] = 0
    inputs = {"token_ids": token_ids.astype(dtype), "padding_mask": padding_mask}
    valid = batch > 0 and kind == "valid" and dtype != "float32" and width <= embedder.sequence_length
    if not valid:
        with pytest.raises(ValueError, match="token_ids|padding_mask"):
            embedder.predict(inputs, verbose=0)
        return
    vectors = embedder.predict(inputs, verbose=0)
    assert vectors.shape == (batch, embedder.embedding_dim) and np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "inputs, message",
    [
        # Each was an InvalidArgumentError from the embedding gather, or a silent all-zero vector.
        ({"token_ids": np.full((1, 8), 500), "padding_mask": np.ones((1, 8))}, r"token_ids must be in \[0, 18\)"),
        (
            {"token_ids": np.full((1, 8), 5), "padding_mask": np.zeros((1, 8))},
            "row 0 of padding_mask has no real token",
        ),
        ({"token_ids": np.full((1, 64), 5), "padding_mask": np.ones((1, 64))}, "width 64; expected at most 32"),
        ({"token_ids": np.full((1, 8), 5)}, "expected strings or a dict with 'token_ids' and 'padding_mask'"),
    ],
)
def test_bad_token_ids_are_named(embedder, inputs, message):
    with pytest.raises(ValueError, match=message):
        embedder.predict(inputs, verbose=0)
