"""The extractive QA recipe end to end on a small SQuAD-format file."""

import gzip
import json

import numpy as np
import pytest
import tensorflow as tf

from recipes import qa
from zoo.training.cli import run_main

WORDS = "red green blue amber violet silver golden purple orange yellow".split()
FILLER = [
    "The weather was mild that year.",
    "Many people visited the town.",
    "Nobody wrote it down.",
    "It rained in the spring.",
    "The market opened early.",
]


def squad_file(path, articles=6, paragraphs=8, seed=0):
    """A SQuAD v1.1 file whose answer is the word after "code is": learnable by a tiny model."""
    rng = np.random.default_rng(seed)
    data = []
    for a in range(articles):
        items = []
        for p in range(paragraphs):
            word = str(rng.choice(WORDS))
            sentences = list(rng.choice(FILLER, size=rng.integers(1, 4)))
            sentences.insert(int(rng.integers(0, len(sentences) + 1)), f"The secret code is {word} today.")
            context = " ".join(sentences)
            qas = [
                {
                    "id": f"{a}-{p}-{k}",
                    "question": question,
                    "answers": [{"text": word, "answer_start": context.index(f"is {word}") + 3}],
                }
                for k, question in enumerate(["What is the secret code?", "Which code is it?"])
            ]
            items.append({"context": context, "qas": qas})
        data.append({"title": f"Article {a}", "paragraphs": items})
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"version": "1.1", "data": data}, handle)
    return path


def test_smoke_run_learns_spans_and_exports_agree(tmp_path, capsys):
    data = squad_file(tmp_path / "toy.json.gz")
    out = tmp_path / "run"
    metrics = qa.main(
        [
            "--smoke",
            "--data",
            f"squad:{data}",
            "--out",
            str(out),
            "--epochs",
            "8",
            "--learning-rate",
            "3e-3",
            "--test-fraction",
            "0.34",
        ]
    )
    for name in [
        "config.json",
        "vocabulary.txt",
        "qa.json",
        "history.csv",
        "metrics.json",
        "predictions.json",
        "model.keras",
        "saved_model/1/saved_model.pb",
        "model.tflite",
        "model_dynamic.tflite",
    ]:
        assert (out / name).is_file(), f"missing {name}"
    # Held-out articles: the model has learned where the answer is, not memorized it.
    assert metrics["train_articles"] == 4 and metrics["test_articles"] == 2
    assert metrics["f1"] > 60, metrics["f1"]
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["exact_match"] == metrics["exact_match"]
    float_file = stored["exports"]["tflite"]["token_ids/float32"]
    assert float_file["tflite_f1"] == pytest.approx(float_file["keras_f1"])
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    context = "Nobody wrote it down. The secret code is violet today."
    answer = serve(question=tf.constant(["What is the secret code?"]), context=tf.constant([context]))
    import keras

    model = keras.saving.load_model(out / "model.keras")
    assert answer["answer"].numpy()[0].decode() == model.answer("What is the secret code?", context)["text"]
    layout = json.loads((out / "qa.json").read_text())
    assert layout["sequence_length"] == 64 and layout["stride"] == 24
    assert "exact match" in capsys.readouterr().out


@pytest.mark.parametrize(
    "data, message", [("squad:{tmp}/missing.json", "file does not exist"), ("tsv:x.tsv", "--data must be squad:FILE")]
)
def test_missing_file_and_bad_source_are_one_line_errors(tmp_path, capsys, data, message):
    with pytest.raises(SystemExit):
        run_main(qa.main, ["--smoke", "--data", data.format(tmp=tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert "error: " in err and message in err and "Traceback" not in err
