"""A CausalLM loaded from a Hugging Face directory, with its own BPE tokenizer, exported and checked.

The reference llama checkpoint (tests/checkpoints/reference/decoder/) gets the
Llama-3-style tokenizer of tests/tokenizers/reference/llama3_320 (BOS 1, EOS 2,
ids < 320) beside it, as a user's directory holds both.
"""

import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_saved_model, export_tflite
from zoo.export.causal_lm import tflite_generate
from zoo.models import CausalLM

HERE = pathlib.Path(__file__).parent
CHECKPOINT = HERE / "reference" / "decoder" / "llama_gqa_llama3"
TOKENIZER = HERE.parent / "tokenizers" / "reference" / "llama3_320"
PROMPTS = ["To be, or not to be", "ROMEO:\n", "123 4567 'll"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("checkpoint") / "llama"
    shutil.copytree(CHECKPOINT, directory)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER / name, directory / name)
    return CausalLM.from_checkpoint(directory, sequence_length=24)


def test_string_in_saved_model_generates_like_keras(model, tmp_path):
    path, _ = export_saved_model(model, tmp_path / "lm")
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["serving_default"](prompt=tf.constant(PROMPTS))
    assert [text.decode() for text in out["generated_text"].numpy()] == model.generate(PROMPTS)


def test_token_id_tflite_loop_equals_keras_greedy(model, tmp_path):
    path, report = export_tflite(model, tmp_path / "lm.tflite")
    assert report.extra["greedy_sequences_equal"] == 1.0
    token_ids, _ = model.pack_prompts(PROMPTS[:1])
    assert token_ids[0, 0] == 1  # the checkpoint's BOS starts the prompt
    got = tflite_generate(path, token_ids, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id)
    expected = model.generate({"token_ids": token_ids, "padding_mask": np.ones_like(token_ids)})
    np.testing.assert_array_equal(got, expected)
