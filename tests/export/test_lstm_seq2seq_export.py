"""LSTMSeq2Seq exports: string-to-string SavedModel, single-call and encode/decode TFLite, reference loop."""

import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import TRANSLATION_PAIRS, memorizing_translator
from zoo.export import ExportParityError, export_run, export_saved_model, export_tflite, run_tflite, tflite_variants
from zoo.export.lstm_seq2seq import tflite_endpoints, tflite_generate
from zoo.models import LSTMSeq2Seq
from zoo.tokenizers import SPECIAL_TOKENS

PAIRS = TRANSLATION_PAIRS
SOURCE_VOCABULARY = list(SPECIAL_TOKENS) + sorted({w for s, _ in PAIRS for w in s.split()})
TARGET_VOCABULARY = list(SPECIAL_TOKENS) + sorted({w for _, t in PAIRS for w in t.split()})
SOURCES = [source for source, _ in PAIRS]
EDGE_CASES = [*SOURCES, "", "the " * 500, "Ça 😀"]


@pytest.fixture(scope="module")
def model():
    """A tiny model trained to memorize PAIRS (so outputs are real sentences that end with EOS)."""
    return memorizing_translator(LSTMSeq2Seq, learning_rate=2e-2, epochs=100, hidden_dim=32, lstm_units=32)


def model_inputs(model, texts):
    packed = model.source_preprocessor(texts)
    return {"encoder_token_ids": packed["token_ids"].numpy(), "encoder_padding_mask": packed["padding_mask"].numpy()}


def test_the_fixture_model_learned_the_pairs(model):
    # Guards the tests below: they compare real sentences that end with EOS.
    assert model.generate(SOURCES) == [target for _, target in PAIRS]


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    path, report = export_saved_model(model, tmp_path_factory.mktemp("lstm_seq2seq") / "translator")
    assert report.batch_sizes == [5, 1]  # the export checks its own samples and a batch of one
    return tf.saved_model.load(str(path))


@pytest.mark.parametrize("batch", [EDGE_CASES, SOURCES[:3], SOURCES[2:3], [""]])
def test_saved_model_maps_strings_to_strings(model, saved_model, batch):
    outputs = saved_model.signatures["serving_default"](text=tf.constant(batch))
    texts = [text.decode("utf-8") for text in outputs["generated_text"].numpy()]
    assert texts == model.generate(batch)
    np.testing.assert_array_equal(outputs["token_ids"].numpy(), model.generate(model_inputs(model, batch)))


def test_tflite_variants(model):
    assert tflite_variants(model) == ["generate", "encode_decode"]


def test_single_call_tflite_generates_like_keras_greedy(model, tmp_path):
    path, _ = export_tflite(model, tmp_path / "model.tflite")
    content = path.read_bytes()
    for batch in (EDGE_CASES, EDGE_CASES[:1], SOURCES[:3]):
        outputs = run_tflite(content, {"text": batch})
        np.testing.assert_array_equal(outputs["token_ids"], model.generate(model_inputs(model, batch)))
        assert [text.decode("utf-8") for text in outputs["generated_text"]] == model.generate(batch)


def test_reference_loop_over_encode_decode_equals_keras_greedy(model, tmp_path):
    path, report = export_tflite(model, tmp_path / "encode_decode.tflite", variant="encode_decode")
    assert report.extra == {"greedy_sequences_equal": 1.0, "greedy_tokens_equal": 1.0}
    special = dict(bos_token_id=model.bos_token_id, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id)
    for max_length in (model.target_length, 5):
        got = tflite_generate(path, EDGE_CASES, max_length=max_length, **special)
        np.testing.assert_array_equal(got, model.generate(model_inputs(model, EDGE_CASES), max_length=max_length))
    got = tflite_generate(path, EDGE_CASES, max_length=model.target_length, **special)
    assert model.detokenize(got)[: len(PAIRS)] == [t for _, t in PAIRS]


def test_reference_loop_rejects_other_files(model, tmp_path):
    path, _ = export_tflite(model, tmp_path / "model.tflite")
    with pytest.raises(ValueError, match="'encode' and 'decode' signatures"):
        tflite_generate(path, ["a"], bos_token_id=2, end_token_id=3, pad_token_id=0, max_length=5)


def test_loop_check_fails_when_a_step_is_wrong(model):
    # The export check is not vacuous: a decode step that answers a wrong token is caught.
    endpoint = tflite_endpoints(model)["encode_decode"]
    steps = []

    def run(signature, inputs):
        fn = endpoint.function if signature == "encode" else endpoint.extra_signatures["decode"].function
        outputs = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        if signature == "decode":
            steps.append(signature)
            if len(steps) == 3:
                outputs["next_token"] = (outputs["next_token"] + 1) % model.target_vocabulary_size
        return outputs

    with pytest.raises(ExportParityError, match="differs from Keras greedy generation"):
        endpoint.check(run, True)


def test_export_run_writes_every_file_with_parity(model, tmp_path):
    summary = export_run(
        model, tmp_path, sample_inputs={"text": np.array(EDGE_CASES, dtype=object)}, quantizations=(None,)
    )
    names = sorted(p.name for p in tmp_path.glob("*.tflite"))
    assert names == ["model.tflite", "model_encode_decode.tflite"]
    assert (tmp_path / "saved_model" / "1" / "saved_model.pb").exists()
    assert summary["tflite"]["encode_decode/float32"]["greedy_sequences_equal"] == 1.0
    json.dumps(summary)  # JSON-ready
