"""A CausalLM loaded from a Hugging Face directory, with its own BPE tokenizer, exported and checked.

The reference llama checkpoint (tests/checkpoints/reference/decoder/) gets the
Llama-3-style tokenizer of tests/tokenizers/reference/llama3_320 (BOS 1, EOS 2,
ids < 320) beside it, as a user's directory holds both; the gpt2 one gets the
GPT-2-style vocab.json + merges.txt of gpt2_320 (no BOS: an empty prompt is the
end-of-text token 2). Hugging Face's `tokenizers` package plays the app that
tokenizes with the files shipped beside the token-id TFLite files.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_run, export_tflite
from zoo.export.causal_lm import tflite_generate
from zoo.export.tokenizer_files import ship_tokenizer
from zoo.models import CausalLM

HERE = pathlib.Path(__file__).parent
REFERENCE = HERE / "reference" / "decoder"
TOKENIZERS = HERE.parent / "tokenizers" / "reference"
PROMPTS = ["To be, or not to be", "ROMEO:\n", "123 4567 'll"]


def checkpoint(tmp_path_factory, name, tokenizer, files):
    directory = tmp_path_factory.mktemp("checkpoint") / name
    shutil.copytree(REFERENCE / name, directory)
    for file in files:
        shutil.copy(TOKENIZERS / tokenizer / file, directory / file)
    return directory


@pytest.fixture(scope="module")
def llama_directory(tmp_path_factory):
    return checkpoint(tmp_path_factory, "llama_gqa_llama3", "llama3_320", ["tokenizer.json", "tokenizer_config.json"])


@pytest.fixture(scope="module")
def model(llama_directory):
    return CausalLM.from_checkpoint(llama_directory, sequence_length=24)


@pytest.fixture(scope="module")
def run(model, tmp_path_factory):
    """`export_run` of the loaded model: SavedModel, float and dynamic-range `prefill_decode` files."""
    out = tmp_path_factory.mktemp("run")
    prompts = {"prompt": np.array(PROMPTS[:2], dtype=object)}
    summary = export_run(
        model, out, sample_inputs=prompts, quantizations=(None, "dynamic"), variants=["prefill_decode"]
    )
    return out, summary


def test_string_in_saved_model_generates_like_keras(model, run):
    _, summary = run
    loaded = tf.saved_model.load(summary["saved_model"]["path"])
    out = loaded.signatures["serving_default"](prompt=tf.constant(PROMPTS))
    assert [text.decode() for text in out["generated_text"].numpy()] == model.generate(PROMPTS)


def test_token_id_tflite_loop_equals_keras_greedy(model, run):
    out, summary = run
    float_entry = summary["tflite"]["prefill_decode/float32"]
    assert float_entry["greedy_sequences_equal"] == float_entry["greedy_tokens_equal"] == 1.0
    assert float_entry["path_logits_max_abs_error"] < 1e-3  # the float tolerance
    token_ids, _ = model.pack_prompts(PROMPTS[:1])
    assert token_ids[0, 0] == 1  # the checkpoint's BOS starts the prompt
    got = tflite_generate(
        out / "model.tflite", token_ids, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id
    )
    expected = model.generate({"token_ids": token_ids, "padding_mask": np.ones_like(token_ids)})
    np.testing.assert_array_equal(got, expected)


def test_dynamic_range_file_reports_its_logit_error_and_greedy_agreement(model, run):
    out, summary = run
    dynamic, float_entry = summary["tflite"]["prefill_decode/dynamic"], summary["tflite"]["prefill_decode/float32"]
    assert dynamic["bytes"] == (out / "model_dynamic.tflite").stat().st_size < 0.5 * float_entry["bytes"]
    error, spread = dynamic["path_logits_max_abs_error"], dynamic["path_logits_range"]
    assert float_entry["path_logits_max_abs_error"] < error < 1.0  # int8 weights move the logits, not wildly
    assert dynamic["path_logits_relative_error"] == pytest.approx(error / spread)
    assert 0 < spread == pytest.approx(float_entry["path_logits_range"], rel=1e-4)  # both against Keras's logits
    for name in ("greedy_sequences_equal", "greedy_tokens_equal", "greedy_prefix_equal"):
        assert 0.0 <= dynamic[name] <= 1.0
    assert dynamic["greedy_prefix_equal"] <= dynamic["greedy_tokens_equal"]
    assert dynamic["greedy_sequences_equal"] < 1.0 or dynamic["greedy_tokens_equal"] == 1.0


def test_tokenizer_files_ship_beside_the_token_id_tflite_files(model, run, llama_directory):
    tokenizers = pytest.importorskip("tokenizers")
    out, summary = run
    shipped = out / "tflite_tokenizer"
    assert summary["tflite_tokenizer"]["path"] == str(shipped)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (shipped / name).read_bytes() == (llama_directory / name).read_bytes()
    manifest = json.loads((shipped / "tokenization.json").read_text())
    assert (manifest["prepend_bos"], manifest["bos_token_id"], manifest["end_token_id"]) == (True, 1, 2)
    assert manifest["empty_prompt_token_ids"] == [1] and manifest["cache_length"] == 24
    assert "put the BOS id 1 first" in (shipped / "README.md").read_text()
    # An app: the shipped tokenizer.json, the README's rule, model.tflite, and back to text.
    app_tokenizer = tokenizers.Tokenizer.from_file(str(shipped / "tokenizer.json"))
    ids = [1, *app_tokenizer.encode(PROMPTS[0], add_special_tokens=False).ids]
    assert manifest["example"]["token_ids"] == ids
    np.testing.assert_array_equal(model.pack_prompts(PROMPTS[:1])[0], [ids])
    generated = tflite_generate(out / "model.tflite", np.array([ids]), end_token_id=2, pad_token_id=2)[0].tolist()
    assert app_tokenizer.decode(generated, skip_special_tokens=True) == model.generate(PROMPTS[:1])[0]


def test_gpt2_prompts_have_no_bos_and_an_empty_one_is_end_of_text(tmp_path_factory, tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    files = ["vocab.json", "merges.txt", "tokenizer_config.json"]
    directory = checkpoint(tmp_path_factory, "gpt2_tied", "gpt2_320", files)
    gpt2 = CausalLM.from_checkpoint(directory, sequence_length=16)
    manifest = ship_tokenizer(gpt2, tmp_path)
    assert sorted(manifest["tokenizer_files"]) == sorted([*files, "generation_config.json"])
    assert (manifest["prepend_bos"], manifest["bos_token_id"], manifest["empty_prompt_token_ids"]) == (False, None, [2])
    assert "put no BOS first" in (tmp_path / "tflite_tokenizer" / "README.md").read_text()
    app_tokenizer = tokenizers.ByteLevelBPETokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"))
    assert manifest["example"]["token_ids"] == app_tokenizer.encode(PROMPTS[0]).ids
    path, report = export_tflite(gpt2, tmp_path / "model.tflite")  # its parity prompts start with no BOS
    assert report.extra["greedy_sequences_equal"] == 1.0
    for prompt in (PROMPTS[0], ""):
        token_ids, _ = gpt2.pack_prompts([prompt])
        got = tflite_generate(path, token_ids, end_token_id=gpt2.end_token_id, pad_token_id=gpt2.pad_token_id)
        expected = gpt2.generate({"token_ids": token_ids, "padding_mask": np.ones_like(token_ids)})
        np.testing.assert_array_equal(got, expected)
