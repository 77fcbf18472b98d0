"""The language-model recipe end to end on a small text file; the corpus loader."""

import json

import numpy as np
import pytest
import tensorflow as tf

from recipes import generate
from zoo.data import DataError
from zoo.data.corpus import load_text_corpus
from zoo.export.causal_lm import tflite_generate

TEXT = "".join(
    f"To be, or not to be, that is the question {i}.\nWhether tis nobler in the mind to suffer.\n" for i in range(300)
)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_smoke_run_writes_every_artifact_and_exports_agree(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    generate.main(["--smoke", "--data", f"text:{corpus}", "--out", str(out), "--prompts", "To be, or|Whe"])
    for name in [
        "config.json",
        "characters.txt",
        "history.csv",
        "metrics.json",
        "model.keras",
        "generation.json",
        "saved_model/1/saved_model.pb",
        "model.tflite",
        "model_dynamic.tflite",
        "model_generate.tflite",
    ]:
        assert (out / name).is_file(), f"missing {name}"
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["validation_perplexity"] == pytest.approx(np.exp(stored["validation_loss"]))
    assert [s["text"][: len(s["prompt"])] for s in stored["samples"]] == ["To be, or", "Whe"]  # prompts kept
    assert set(stored["decode_tokens_per_second"]) == {"keras", "tflite float32", "tflite dynamic"}
    assert all(rate > 0 for rate in stored["decode_tokens_per_second"].values())
    assert stored["validation_characters"] == min(generate.SMOKE_CHARACTERS[1], len(TEXT) - int(len(TEXT) * 0.9))

    import keras

    model = keras.saving.load_model(out / "model.keras")
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    texts = [t.decode() for t in serve(prompt=tf.constant(["To be", "Whe"]))["generated_text"].numpy()]
    assert texts == model.generate(["To be", "Whe"])
    special = json.loads((out / "generation.json").read_text())
    prompt = model.pack_prompts(["To be"])[0]
    ids = tflite_generate(
        out / "model.tflite", prompt, end_token_id=special["end_token_id"], pad_token_id=special["pad_token_id"]
    )
    np.testing.assert_array_equal(ids, model.generate({"token_ids": prompt, "padding_mask": np.ones_like(prompt)}))
    assert "validation loss" in capsys.readouterr().out


def test_corpus_split_is_the_last_tenth(corpus):
    train, validation = load_text_corpus(f"text:{corpus}")
    assert train + validation == TEXT and len(validation) == len(TEXT) - int(len(TEXT) * 0.9)
    with pytest.raises(DataError, match="not a text corpus"):
        load_text_corpus(f"tsv:{corpus}")
    with pytest.raises(DataError, match="unknown builtin corpus"):
        load_text_corpus("builtin:nothing")


def test_builtin_python_docs_is_real_documentation():
    train, validation = load_text_corpus("builtin:python-docs")
    assert len(train) > 500_000 and "Return" in train and "def " in train
