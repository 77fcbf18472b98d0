"""CausalLM exports: prompt-string SavedModel (with a run-time max_length), TFLite prefill/decode and one-call loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.export import ExportParityError, export_saved_model, export_tflite, run_tflite, tflite_variants
from zoo.export.causal_lm import tflite_endpoints, tflite_generate
from zoo.models import CausalLM
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "to be or not that is the question , .".split()
PROMPTS = ["to be , or not", "", "that is the question"]


@pytest.fixture(scope="module", params=["tiny", "tiny_rotary"])
def model(request):
    keras.utils.set_random_seed(3)
    return CausalLM.from_preset(request.param, preprocessor=TextPreprocessor(VOCABULARY, sequence_length=8))


def test_saved_model_continues_prompts_with_an_optional_max_length(model, tmp_path):
    path, _ = export_saved_model(model, tmp_path / "lm")
    loaded = tf.saved_model.load(str(path))
    for batch in (PROMPTS, PROMPTS[:1]):
        out = loaded.signatures["serving_default"](prompt=tf.constant(batch))
        assert [t.decode() for t in out["generated_text"].numpy()] == model.generate(batch)
        short = loaded.signatures["generate"](prompt=tf.constant(batch), max_length=tf.constant(9, tf.int32))
        assert [t.decode() for t in short["generated_text"].numpy()] == model.generate(batch, max_length=9)
        assert (short["token_ids"].numpy()[:, 9:] == model.pad_token_id).all()


def test_tflite_variants(model):
    assert tflite_variants(model) == ["prefill_decode", "generate"]


@pytest.mark.parametrize("quantize", [None, "dynamic"])
def test_prefill_decode_loop_reproduces_keras_greedy(model, tmp_path, quantize):
    path, report = export_tflite(model, tmp_path / "lm.tflite", quantize=quantize)
    assert report.extra["greedy_sequences_equal"] == 1.0 or quantize  # float: enforced by the export itself
    error, spread = report.extra["path_logits_max_abs_error"], report.extra["path_logits_range"]
    assert error < (1e-3 if quantize is None else 1.0) and spread > 0  # the per-signature logit tolerances
    assert report.extra["path_logits_relative_error"] == pytest.approx(error / spread)
    prompts = np.array([[2, 5, 9], [2, 7, 7]], "int32")
    for max_length in (None, 10):
        got = tflite_generate(
            path, prompts, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id, max_length=max_length
        )
        expected = model.generate({"token_ids": prompts, "padding_mask": np.ones_like(prompts)}, max_length=max_length)
        if quantize is None:
            np.testing.assert_array_equal(got, expected)
        else:
            assert got.shape == expected.shape and (got[:, :3] == prompts).all()
    with pytest.raises(ValueError, match="max_length must be in"):
        tflite_generate(path, prompts, end_token_id=3, pad_token_id=0, max_length=3)


def test_one_call_tflite_generates_like_keras(model, tmp_path):
    path, _ = export_tflite(model, tmp_path / "gen.tflite", variant="generate")
    token_ids, padding_mask = model.pack_prompts(PROMPTS)
    width = model.sequence_length - 1
    pad = ((0, 0), (0, width - token_ids.shape[1]))
    inputs = {"token_ids": np.pad(token_ids, pad), "padding_mask": np.pad(padding_mask, pad)}
    got = run_tflite(path.read_bytes(), inputs)["token_ids"]
    np.testing.assert_array_equal(got, model.generate({"token_ids": token_ids, "padding_mask": padding_mask}))


def test_loop_check_catches_a_wrong_step(model):
    endpoint = tflite_endpoints(model)["prefill_decode"]

    def run(signature, inputs):
        fn = endpoint.function if signature == "prefill" else endpoint.extra_signatures["decode"].function
        outputs = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        if signature == "decode":
            outputs["next_token"] = (outputs["next_token"] + 1) % model.vocabulary_size
        return outputs

    with pytest.raises(ExportParityError, match="differs from Keras greedy generation"):
        endpoint.check(run, True)


def test_quantized_generation_may_differ_but_float_may_not():
    """A quantized one-call loop can take another path after one flipped token:
    its token agreement is measured; a float export must still agree exactly."""
    from zoo.export.endpoint import Endpoint
    from zoo.export.parity import check_parity

    expected = np.array([[2, 5, 6, 7], [2, 5, 5, 5]], "int32")
    endpoint = Endpoint(
        function=None,
        input_signature={},
        reference=lambda inputs: {"token_ids": expected[: len(inputs["x"])]},
        sample_inputs={"x": np.zeros(2)},
        tolerances={},
        quantized_free=("token_ids",),
    )

    def run(inputs):
        got = expected[: len(inputs["x"])].copy()
        got[:, -1] = 9  # the last token of every row differs
        return {"token_ids": got}

    with pytest.raises(ExportParityError, match="'token_ids' differs from Keras in 2 entries"):
        check_parity(run, endpoint, None, {}, "float")
    report = check_parity(run, endpoint, None, {}, "quantized", free=endpoint.quantized_free)
    assert report.extra == {"token_ids_equal": 0.75}


def test_greedy_agreement_counts_generated_tokens_up_to_the_end_token():
    """Hand-counted: prompts of length 1, end token 2; positions after Keras's end are padding, not counted."""
    from zoo.export.parity import compare_greedy

    expected = np.array([[1, 5, 6, 2, 0], [1, 5, 5, 5, 5]])
    got = np.array([[1, 5, 7, 2, 0], [1, 5, 5, 5, 9]])
    # Row 0 counts 5, 6, 2 (2 equal, 1 before the first difference); row 1 counts 5, 5, 5, 5 (3 equal, 3 before).
    measured = compare_greedy(got, expected, strict=False, generated_from=1, end_token_id=2)
    assert measured == {"greedy_sequences_equal": 0.0, "greedy_tokens_equal": 5 / 7, "greedy_prefix_equal": 4 / 7}
    with pytest.raises(ExportParityError, match=r"differs from Keras greedy generation in rows \[0, 1\]"):
        compare_greedy(got, expected, strict=True, generated_from=1, end_token_id=2)
