"""Property tests: every SavedModel serving signature on messy requests, as TF Serving would send them.

The string-in TFLite files (classifier, embedder, translator) get the same
strings and must answer as the SavedModel does: an app on a phone sees
what the server would have said.

Each tiny model is exported once per module (`export_saved_model`, which
also checks parity) and reloaded with `tf.saved_model.load`; hypothesis
then sends string batches (any Unicode, invalid UTF-8 bytes, empty and
whitespace-only strings, very long texts, batches of 0 to many) or images
of any size. A signature must return well-formed outputs for every row,
or fail with a TensorFlow error whose message names the problem; a
request of the wrong dtype or rank is refused at the signature.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.export import export_saved_model, export_tflite
from zoo.export.runtime import run_signature, tflite_interpreter
from zoo.models import CausalLM, ImageClassifier, QuestionAnswerer, Seq2SeqLM, TextClassifier, TextEmbedder
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VOCABULARY = list(SPECIAL_TOKENS) + "who wrote the letter ada to be or not , . ? ##s".split()

strings = st.one_of(
    st.text(max_size=120).map(lambda t: t.encode("utf-8")),
    st.binary(max_size=40),  # often invalid UTF-8
    st.text(alphabet=st.sampled_from(" \t\n\u00a0\u3000"), max_size=8).map(lambda t: t.encode("utf-8")),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=10).map(lambda t: (t * 500).encode("utf-8")),
    st.sampled_from(["ada wrote the letter", "Ада 写 ٱلْ", "\x00\x1b[31m", "e\u0301" * 50]).map(str.encode),
)
batches = st.lists(strings, min_size=0, max_size=5)


def _export(model, tmp_path_factory, name):
    path, _ = export_saved_model(model, tmp_path_factory.mktemp(name))
    return tf.saved_model.load(str(path)).signatures


@pytest.fixture(scope="module")
def classifier_model():
    return TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, num_classes=3)


@pytest.fixture(scope="module")
def classifier(classifier_model, tmp_path_factory):
    return _export(classifier_model, tmp_path_factory, "cls")


@pytest.fixture(scope="module")
def embedder_model():
    return TextEmbedder.from_preset("tiny", vocabulary=VOCABULARY)


@pytest.fixture(scope="module")
def embedder(embedder_model, tmp_path_factory):
    return _export(embedder_model, tmp_path_factory, "embed")


@pytest.fixture(scope="module")
def answerer(tmp_path_factory):
    model = QuestionAnswerer.from_preset(
        "tiny", vocabulary=VOCABULARY, sequence_length=32, max_question_length=6, stride=8
    )
    return _export(model, tmp_path_factory, "qa")


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    model = Seq2SeqLM.from_preset(
        "tiny",
        source_preprocessor=TextPreprocessor(VOCABULARY, 10),
        target_preprocessor=TextPreprocessor(VOCABULARY, 9),
    )
    return _export(model, tmp_path_factory, "seq2seq"), model


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    model = CausalLM.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8))
    return _export(model, tmp_path_factory, "lm"), model


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    return _export(ImageClassifier.from_preset("tiny"), tmp_path_factory, "vit")


def _run(signature, **inputs):
    return {name: value.numpy() for name, value in signature(**inputs).items()}


@FUZZ
@given(batch=batches)
def test_classifier_signature_gives_a_distribution_per_string(classifier, batch):
    out = _run(classifier["serving_default"], text=tf.constant(batch, tf.string, shape=[len(batch)]))
    assert out["probabilities"].shape == (len(batch), 3) and np.isfinite(out["probabilities"]).all()
    np.testing.assert_allclose(out["probabilities"].sum(-1), 1.0, atol=1e-5)
    assert out["label"].shape == (len(batch),)
    preprocess = _run(classifier["preprocess"], text=tf.constant(batch, tf.string, shape=[len(batch)]))
    assert preprocess["token_ids"].shape == (len(batch), 32)
    assert ((preprocess["token_ids"] >= 0) & (preprocess["token_ids"] < len(VOCABULARY))).all()


@FUZZ
@given(batch=batches)
def test_embedder_signature_gives_a_unit_vector_per_string(embedder, batch):
    out = _run(embedder["serving_default"], text=tf.constant(batch, tf.string, shape=[len(batch)]))
    assert out["embeddings"].shape == (len(batch), 16) and np.isfinite(out["embeddings"]).all()
    np.testing.assert_allclose(np.linalg.norm(out["embeddings"], axis=1), 1.0, atol=1e-5)


@FUZZ
@given(pairs=st.lists(st.tuples(strings, st.text(max_size=200)), max_size=4))
def test_qa_signature_gives_a_span_of_each_context(answerer, pairs):
    questions = [q for q, _ in pairs]
    contexts = [c for _, c in pairs]
    out = _run(
        answerer["serving_default"],
        question=tf.constant(questions, tf.string, shape=[len(pairs)]),
        context=tf.constant([c.encode("utf-8") for c in contexts], tf.string, shape=[len(pairs)]),
    )
    assert out["answer"].shape == out["score"].shape == (len(pairs),)
    for i, context in enumerate(contexts):
        start, end = int(out["start"][i]), int(out["end"][i])
        assert 0 <= start <= end <= len(context)
        assert out["answer"][i].decode("utf-8") == context[start:end]
        assert np.isfinite(out["score"][i]) or (out["score"][i] == -np.inf and start == end)


@FUZZ
@given(pairs=st.lists(st.tuples(strings, st.binary(min_size=1, max_size=60)), min_size=1, max_size=3))
def test_qa_signature_survives_invalid_utf8_contexts(answerer, pairs):
    out = _run(
        answerer["serving_default"],
        question=tf.constant([q for q, _ in pairs], tf.string),
        context=tf.constant([c for _, c in pairs], tf.string),
    )
    assert out["answer"].shape == (len(pairs),)
    assert not np.isnan(out["score"]).any()


def test_qa_signature_names_mismatched_batches(answerer):
    # Was: "ConcatOp : Dimension 0 in both shapes must be equal" from deep inside the packing.
    with pytest.raises(tf.errors.InvalidArgumentError, match="same number of strings"):
        answerer["serving_default"](question=tf.constant(["who", "what"]), context=tf.constant(["ada"]))


@FUZZ
@given(batch=batches)
def test_translator_signature_gives_text_per_string(translator, batch):
    signatures, model = translator
    out = _run(signatures["serving_default"], text=tf.constant(batch, tf.string, shape=[len(batch)]))
    assert out["token_ids"].shape == (len(batch), model.target_length)
    assert ((out["token_ids"] >= 0) & (out["token_ids"] < model.target_vocabulary_size)).all()
    assert (out["token_ids"][:, 0] == model.bos_token_id).all()
    assert [text.decode("utf-8") for text in out["generated_text"]] == model.detokenize(out["token_ids"])


@FUZZ
@given(batch=batches, max_length=st.integers(-3, 40))
def test_language_model_signatures_give_text_per_prompt(language_model, batch, max_length):
    signatures, model = language_model
    prompts = tf.constant(batch, tf.string, shape=[len(batch)])
    for out in (
        _run(signatures["serving_default"], prompt=prompts),
        _run(signatures["generate"], prompt=prompts, max_length=tf.constant(max_length, tf.int32)),
    ):
        assert out["token_ids"].shape == (len(batch), model.sequence_length)
        assert ((out["token_ids"] >= 0) & (out["token_ids"] < model.vocabulary_size)).all()
        assert out["generated_text"].shape == (len(batch),)
        for text in out["generated_text"]:
            text.decode("utf-8")  # valid UTF-8 back, whatever came in


@FUZZ
@given(
    shape=st.tuples(st.integers(0, 2), st.integers(0, 40), st.integers(0, 40)),
    seed=st.integers(0, 2**16),
)
def test_image_signature_classifies_any_size_or_names_the_problem(vit, shape, seed):
    images = np.random.default_rng(seed).integers(0, 256, size=(*shape, 1), dtype=np.uint8)
    if shape[1] == 0 or shape[2] == 0:
        with pytest.raises(tf.errors.InvalidArgumentError, match="at least 1 pixel high and wide"):
            vit["serving_default"](images=tf.constant(images))
        return
    out = _run(vit["serving_default"], images=tf.constant(images))
    assert out["probabilities"].shape == (shape[0], 10) and np.isfinite(out["probabilities"]).all()
    np.testing.assert_allclose(out["probabilities"].sum(-1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def tflite_text(classifier_model, embedder_model, translator, tmp_path_factory):
    """Interpreters of the string-in TFLite files (tensorflow-text ops inside), by fixture name."""
    folder = tmp_path_factory.mktemp("tflite")
    interpreters = {}
    for name, model, variant in (
        ("classifier", classifier_model, "text"),
        ("embedder", embedder_model, "text"),
        ("translator", translator[1], "generate"),
    ):
        path, _ = export_tflite(model, folder / f"{name}.tflite", variant=variant)
        interpreters[name] = tflite_interpreter(path.read_bytes())
    return interpreters


@FUZZ
@given(batch=st.lists(strings, min_size=1, max_size=4))
def test_tflite_text_files_answer_any_string_as_the_saved_model_does(
    classifier, embedder, translator, tflite_text, batch
):
    for name, signature in (
        ("classifier", classifier["serving_default"]),
        ("embedder", embedder["serving_default"]),
        ("translator", translator[0]["serving_default"]),
    ):
        on_device = run_signature(tflite_text[name], "serving_default", {"text": np.array(batch, dtype=object)})
        served = _run(signature, text=tf.constant(batch, tf.string, shape=[len(batch)]))
        for output, value in on_device.items():
            assert value.shape[0] == len(batch), (name, output)
            if value.dtype.kind == "f":
                assert np.isfinite(value).all(), (name, output)
                np.testing.assert_allclose(value, served[output], atol=1e-5, err_msg=f"{name} {output}")
            else:  # the translator's greedy token ids and their text
                assert value.tolist() == served[output].tolist(), (name, output)


WRONG_TEXT_REQUESTS = {
    "numbers": lambda name: {name: tf.constant([1, 2])},
    "matrix": lambda name: {name: tf.constant([["a", "b"]])},  # (1, 2): was read as one row, silently
    "scalar": lambda name: {name: tf.constant("a")},  # (): crashed the whole process in the tokenizer
    "nothing": lambda name: {},
    "extra": lambda name: {name: tf.constant(["a"]), "extra": tf.constant(["b"])},
}


@pytest.mark.parametrize("request_kind", list(WRONG_TEXT_REQUESTS))
@pytest.mark.parametrize(
    "signatures, signature, input_name",
    [
        ("classifier", "serving_default", "text"),
        ("classifier", "preprocess", "text"),
        ("embedder", "serving_default", "text"),
        ("translator", "serving_default", "text"),
        ("language_model", "serving_default", "prompt"),
    ],
)
def test_text_signatures_refuse_wrong_dtypes_and_shapes(request, signatures, signature, input_name, request_kind):
    loaded = request.getfixturevalue(signatures)
    loaded = loaded[0] if isinstance(loaded, tuple) else loaded
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="shape|string|argument"):
        loaded[signature](**WRONG_TEXT_REQUESTS[request_kind](input_name))


def test_qa_signature_refuses_a_scalar_question(answerer):
    with pytest.raises(tf.errors.InvalidArgumentError, match="shape"):
        answerer["serving_default"](question=tf.constant("who"), context=tf.constant(["ada"]))


def test_language_model_signature_refuses_a_vector_max_length(language_model):
    signatures, _ = language_model
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="shape"):
        signatures["generate"](prompt=tf.constant(["to be"]), max_length=tf.constant([4, 5]))


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((1, 8, 8, 1), "float32"),  # float, not uint8
        np.zeros((8, 8, 1), np.uint8),  # no batch axis
        np.zeros((1, 8, 8, 3), np.uint8),  # RGB for a grayscale model
    ],
)
def test_image_signature_refuses_wrong_dtypes_and_shapes(vit, images):
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="shape|uint8|expected"):
        vit["serving_default"](images=tf.constant(images))
