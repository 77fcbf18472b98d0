"""QuestionAnswerer exports: a (question, context) strings -> answers SavedModel; token-id TFLite, app-side loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_saved_model, export_tflite, tflite_variants
from zoo.export.question_answerer import tflite_answer
from zoo.models import QuestionAnswerer
from zoo.tokenizers import SPECIAL_TOKENS

LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
VOCABULARY = (
    list(SPECIAL_TOKENS)
    + list(LETTERS)
    + ["##" + c for c in LETTERS]
    + list(".,;:!?'\"()-“”’")
    + ["the", "who", "where", "letter", "written", "by", "in", "london", "was"]
)
LONG_CONTEXT = "The letter was written in London by Ada. " * 6 + "Then it went to São Paulo, “far away”."


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    return QuestionAnswerer.from_preset(
        "tiny", vocabulary=VOCABULARY, sequence_length=32, max_question_length=6, stride=8
    )


def test_saved_model_answers_string_pairs_like_keras(model, tmp_path):
    path, _ = export_saved_model(model, tmp_path / "qa")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    questions = ["who wrote the letter?", "where did it go?", "what?"]
    contexts = [LONG_CONTEXT, "It went to São Paulo.", "Nothing answers it here."]
    for count in (3, 1):  # two batch sizes, long contexts windowed inside the graph
        out = serve(question=tf.constant(questions[:count]), context=tf.constant(contexts[:count]))
        expected = model.answer(questions[:count], contexts[:count])
        assert [a.decode() for a in out["answer"].numpy()] == [e["text"] for e in expected]
        assert out["start"].numpy().tolist() == [e["start"] for e in expected]
        assert out["end"].numpy().tolist() == [e["end"] for e in expected]
        np.testing.assert_allclose(out["score"].numpy(), [e["score"] for e in expected], atol=1e-4)
    # An empty context has no span: an empty answer with score -inf, not an error.
    empty = serve(question=tf.constant(["who?"]), context=tf.constant([""]))
    assert empty["answer"].numpy()[0] == b"" and empty["score"].numpy()[0] == -np.inf


def test_token_id_tflite_and_the_app_loop_reproduce_answer(model, tmp_path):
    assert tflite_variants(model) == ["token_ids"]
    path, report = export_tflite(model, tmp_path / "qa.tflite")
    assert report.max_abs_diff["start_logits"] < 1e-3
    questions = ["who wrote the letter?", "where did it go?"]
    contexts = [LONG_CONTEXT, "It went to São Paulo."]
    for got, want in zip(tflite_answer(model, path, questions, contexts), model.answer(questions, contexts)):
        assert (got["text"], got["start"], got["end"]) == (want["text"], want["start"], want["end"])
        assert got["score"] == pytest.approx(want["score"], abs=1e-4)
    dynamic, _ = export_tflite(model, tmp_path / "qa_dynamic.tflite", quantize="dynamic")
    for result, context in zip(tflite_answer(model, dynamic, questions, contexts), contexts):
        assert context[result["start"] : result["end"]] == result["text"]


def test_answers_do_not_depend_on_the_rest_of_the_batch(model):
    # The export's sample pairs once came back empty (score -inf) in a batch but not alone:
    # a window starting inside a word widened the span into the question, and a short context
    # was given the extra windows of the longest one in the batch.
    from zoo.export.question_answerer import SAMPLE_PAIRS

    questions = [q for q, _ in SAMPLE_PAIRS] + ["who?"]
    contexts = [c for _, c in SAMPLE_PAIRS] + [LONG_CONTEXT]
    together = model.answer(questions, contexts)
    for question, context, batched in zip(questions, contexts, together):
        alone = model.answer(question, context)
        assert batched["text"] != "" and context[batched["start"] : batched["end"]] == batched["text"]
        assert (batched["text"], batched["start"], batched["end"]) == (alone["text"], alone["start"], alone["end"])
        assert batched["score"] == pytest.approx(alone["score"], abs=1e-4)
