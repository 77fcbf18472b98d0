"""Seq2SeqLM exports: string-to-string SavedModel, single-call and encode/decode TFLite, reference loop."""

import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import TRANSLATION_PAIRS, memorizing_translator
from zoo.export import ExportParityError, export_run, export_saved_model, export_tflite, run_tflite, tflite_variants
from zoo.export.seq2seq import tflite_endpoints, tflite_generate
from zoo.models import Seq2SeqLM
from zoo.tokenizers import SPECIAL_TOKENS

PAIRS = TRANSLATION_PAIRS
SOURCE_VOCABULARY = list(SPECIAL_TOKENS) + sorted({w for s, _ in PAIRS for w in s.split()})
TARGET_VOCABULARY = list(SPECIAL_TOKENS) + sorted({w for _, t in PAIRS for w in t.split()})
SOURCES = [source for source, _ in PAIRS]
EDGE_CASES = [*SOURCES, "", "the " * 500, "Ça 😀"]


@pytest.fixture(scope="module")
def model():
    """A tiny model trained to memorize PAIRS (so outputs are real sentences that end with EOS)."""
    return memorizing_translator(Seq2SeqLM, learning_rate=1e-2, epochs=150, hidden_dim=32, intermediate_dim=64)


def test_the_fixture_model_learned_the_pairs(model):
    # Guards the tests below: they compare real sentences that end with EOS.
    assert model.generate(SOURCES) == [target for _, target in PAIRS]


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    path, report = export_saved_model(model, tmp_path_factory.mktemp("seq2seq") / "translator")
    assert report.batch_sizes == [5, 1]  # the export checks its own samples and a batch of one
    return tf.saved_model.load(str(path))


@pytest.mark.parametrize("batch", [EDGE_CASES, EDGE_CASES[2:3], [""]])
def test_saved_model_maps_strings_to_strings(model, saved_model, batch):
    outputs = saved_model.signatures["serving_default"](text=tf.constant(batch))
    texts = [text.decode("utf-8") for text in outputs["generated_text"].numpy()]
    assert texts == model.generate(batch)
    np.testing.assert_array_equal(outputs["token_ids"].numpy(), model.generate(model_inputs(model, batch)))


def model_inputs(model, texts):
    packed = model.source_preprocessor(texts)
    return {"encoder_token_ids": packed["token_ids"].numpy(), "encoder_padding_mask": packed["padding_mask"].numpy()}


def test_tflite_variants(model):
    assert tflite_variants(model) == ["generate", "encode_decode", "encode_decode_ids"]


def test_single_call_tflite_generates_text_like_keras(model, tmp_path):
    path, _ = export_tflite(model, tmp_path / "model.tflite")
    content = path.read_bytes()
    for batch in (EDGE_CASES, EDGE_CASES[:1]):
        outputs = run_tflite(content, {"text": batch})
        assert [text.decode("utf-8") for text in outputs["generated_text"]] == model.generate(batch)


@pytest.mark.parametrize("variant", ["encode_decode", "encode_decode_ids"])
def test_reference_loop_over_encode_decode_equals_keras_greedy(model, tmp_path, variant):
    path, report = export_tflite(model, tmp_path / f"{variant}.tflite", variant=variant)
    assert report.extra == {"greedy_sequences_equal": 1.0, "greedy_tokens_equal": 1.0}
    ids = model_inputs(model, EDGE_CASES)
    inputs = (
        {"text": EDGE_CASES}
        if variant == "encode_decode"
        else {"token_ids": ids["encoder_token_ids"], "padding_mask": ids["encoder_padding_mask"]}
    )
    special = dict(bos_token_id=model.bos_token_id, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id)
    for max_length in (None, 5):
        got = tflite_generate(path, inputs, max_length=max_length, **special)
        np.testing.assert_array_equal(got, model.generate(ids, max_length=max_length))
    assert model.detokenize(tflite_generate(path, inputs, **special))[: len(PAIRS)] == [t for _, t in PAIRS]
    with pytest.raises(ValueError, match=r"max_length must be in \[2, 12\]"):
        tflite_generate(path, inputs, max_length=13, **special)


def test_reference_loop_rejects_other_files(model, tmp_path):
    path, _ = export_tflite(model, tmp_path / "model.tflite")
    with pytest.raises(ValueError, match="'encode' and 'decode' signatures"):
        tflite_generate(path, {"text": ["a"]}, bos_token_id=2, end_token_id=3, pad_token_id=0)


def test_loop_check_fails_when_a_step_is_wrong(model):
    # The export check is not vacuous: a decode step that answers a wrong token is caught.
    endpoint = tflite_endpoints(model)["encode_decode_ids"]

    def run(signature, inputs):
        fn = endpoint.function if signature == "encode" else endpoint.extra_signatures["decode"].function
        outputs = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        if signature == "decode" and int(inputs["index"]) == 2:
            outputs["next_token"] = (outputs["next_token"] + 1) % model.target_vocabulary_size
        return outputs

    with pytest.raises(ExportParityError, match="differs from Keras greedy generation"):
        endpoint.check(run, True)
    measured = endpoint.check(run, False)  # quantized exports: measured, not enforced
    assert measured["greedy_sequences_equal"] < 1.0


def test_export_run_writes_every_file_with_parity(model, tmp_path):
    summary = export_run(
        model, tmp_path, sample_inputs={"text": np.array(EDGE_CASES, dtype=object)}, quantizations=(None,)
    )
    names = sorted(p.name for p in tmp_path.glob("*.tflite"))
    assert names == ["model.tflite", "model_encode_decode.tflite", "model_encode_decode_ids.tflite"]
    assert (tmp_path / "saved_model" / "1" / "saved_model.pb").exists()
    json.dumps(summary)  # JSON-ready
