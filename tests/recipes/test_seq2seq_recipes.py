"""The translation and summarization recipes end to end on small files (and the builtin sources)."""

import json

import keras
import numpy as np
import polib
import pytest
import tensorflow as tf

from recipes import summarize, translate, translate_po
from zoo.export.seq2seq import tflite_generate
from zoo.training.cli import run_main

ARTIFACTS = [
    "config.json",
    "source.model",
    "target.model",
    "source_vocabulary.txt",
    "target_vocabulary.txt",
    "history.csv",
    "history.png",
    "metrics.json",
    "model.keras",
    "generation.json",
    "saved_model/1/saved_model.pb",
    "model.tflite",
    "model_encode_decode.tflite",
    "model_encode_decode_ids.tflite",
]
WORDS = {"cat": "gato", "dog": "perro", "house": "casa", "red": "rojo", "big": "grande", "small": "pequeño"}


@pytest.fixture
def pairs_tsv(tmp_path):
    rng = np.random.default_rng(0)
    english, spanish = list(WORDS), list(WORDS.values())
    lines = set()
    while len(lines) < 300:
        picks = rng.integers(0, len(WORDS), size=rng.integers(1, 5))
        lines.add(" ".join(english[i] for i in picks) + "\t" + " ".join(spanish[i] for i in picks))
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return path


def test_translate_smoke_writes_every_artifact_and_exports_agree(pairs_tsv, tmp_path, capsys):
    out = tmp_path / "run"
    metrics = translate.main(["--smoke", "--data", f"tsv:{pairs_tsv}", "--out", str(out), "--test-size", "16"])
    for name in ARTIFACTS:
        assert (out / name).is_file(), f"missing {name}"
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["bleu"] == pytest.approx(metrics["bleu"]) and 0 <= stored["bleu"] <= 100
    assert stored["bleu_signature"].startswith("nrefs:") and "chrf" in stored
    assert stored["test_sources"] == 16 and len(stored["samples"]) == 5
    assert stored["exports"]["tflite"]["generate/float32"]["equal_to_keras_greedy"] == 1.0

    model = keras.saving.load_model(out / "model.keras")
    sources = [sample["source"] for sample in stored["samples"]]
    expected = model.generate(sources)
    assert [sample["output"] for sample in stored["samples"]] == expected

    # TF Serving-style request: raw strings in, generated strings out.
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    got = [text.decode("utf-8") for text in serve(text=tf.constant(sources))["generated_text"].numpy()]
    assert got == expected

    # An app's loop over the encode/decode file, with the ids from generation.json.
    special = json.loads((out / "generation.json").read_text())
    ids = tflite_generate(
        out / "model_encode_decode.tflite",
        {"text": sources},
        bos_token_id=special["bos_token_id"],
        end_token_id=special["end_token_id"],
        pad_token_id=special["pad_token_id"],
    )
    assert model.detokenize(ids) == expected
    printed = capsys.readouterr().out
    assert "held-out BLEU" in printed and "serve: docker run" in printed

    # The run translates a gettext catalog: machine translations fuzzy, the human one kept, msgfmt-clean.
    pot = tmp_path / "words.pot"
    pot.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "red cat"\nmsgstr ""\n\n#, c-format\nmsgid "big dog %s"\nmsgstr ""\n\n'
        'msgid "house"\nmsgstr "casa"\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit):  # a tsv run does not say its target language
        run_main(translate_po.main, ["--model", str(out), str(pot), "--out", str(tmp_path / "x.po")])
    assert "pass --language CODE" in capsys.readouterr().err
    report = translate_po.main(["--model", str(out), str(pot), "--out", str(tmp_path / "es.po"), "--language", "es"])
    assert report["entries"] == 3 and report["kept_human_translations"] == 1
    assert report["machine_translated_fuzzy"] + report["left_untranslated"] == 2
    entries = {entry.msgid: entry for entry in polib.pofile(str(tmp_path / "es.po"))}
    assert entries["house"].msgstr == "casa" and entries["red cat"].msgstr == model.generate(["red cat"])[0]
    assert "fuzzy" in entries["red cat"].flags
    if report["msgfmt"] is not None:
        assert report["msgfmt"]["passed"], report["msgfmt"]


def test_translate_learns_a_word_for_word_language(pairs_tsv, tmp_path):
    # More than a smoke run: a small model learns the toy language (BLEU far above chance).
    metrics = translate.main(
        [
            "--smoke",
            "--data",
            f"tsv:{pairs_tsv}",
            "--out",
            str(tmp_path),
            "--test-size",
            "30",
            "--epochs",
            "30",
            "--learning-rate",
            "1e-2",
            "--label-smoothing",
            "0",
        ]
    )
    assert metrics["bleu"] > 50, metrics["samples"]


def test_summarize_smoke_reports_rouge_and_the_lead_baseline(tmp_path):
    rng = np.random.default_rng(1)
    topics = ["a file archiver", "a web browser", "a text editor", "an image viewer", "a music player"]
    rows = []
    for i in range(200):
        topic = topics[i % len(topics)]
        source = f"Package{i} is {topic}. It supports {rng.integers(2, 9)} formats and plugins. Written in C."
        rows.append({"source": source, "target": f"{topic} number {i}"})
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    metrics = summarize.main(["--smoke", "--data", f"jsonl:{path}", "--out", str(tmp_path / "run")])
    for key in ("rouge1", "rouge2", "rougeL"):
        assert 0 <= metrics[key] <= 100
    lead = metrics["lead_baseline"]
    assert lead["max_words"] == 5 and lead["rouge1"] > 0  # every target, e.g. "a file archiver number 7", has 5 words
    assert (tmp_path / "run" / "model.tflite").is_file()


def test_builtin_gettext_smoke(tmp_path):
    # The `make demo` data path. Skipped only where no Spanish catalog is installed (found as
    # the loader finds them); any other DataError of builtin:gettext-es is a failure.
    from zoo.data.gettext_catalogs import DEFAULT_LOCALE_DIR, catalog_paths

    if not catalog_paths("es"):
        pytest.skip(f"no Spanish gettext catalogs (*.mo) under {DEFAULT_LOCALE_DIR}")
    metrics = translate.main(["--smoke", "--out", str(tmp_path), "--quantize", "float32"])
    assert metrics["data"] == "builtin:gettext-es" and metrics["train_pairs"] > 0


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_main(translate.main, ["--preset", "huge", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown --preset 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run_main(translate.main, ["--smoke", "--data", f"tsv:{tmp_path / 'missing.tsv'}", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.tsv" in err and "Traceback" not in err


def test_cap_test_split_moves_whole_source_groups_to_train():
    from recipes.seq2seq_data import cap_test_split
    from zoo.data import PairDataset

    sources = [f"s{i // 2}" for i in range(40)]  # every source has two targets
    test = PairDataset(sources, [f"t{i}" for i in range(40)], "toy/test")
    train = PairDataset(["x"], ["y"], "toy/train")
    new_train, new_test = cap_test_split(train, test, 9, seed=0)
    assert len(new_test) == 8 and len(new_train) == 1 + 32
    assert not set(new_test.sources) & set(new_train.sources)
    assert sorted(zip(new_train.sources[1:] + new_test.sources, new_train.targets[1:] + new_test.targets)) == sorted(
        zip(sources, test.targets)
    )
    assert new_test.sources != sources[:8]  # drawn at random, not the file's first groups
    assert cap_test_split(train, test, 100) == (train, test)


def test_translate_smoke_with_the_lstm_architecture(pairs_tsv, tmp_path, capsys):
    # The same data, tokenizers, training, evaluation and exports with an LSTMSeq2Seq.
    from zoo.export.lstm_seq2seq import tflite_generate as lstm_tflite_generate
    from zoo.models import LSTMSeq2Seq

    out = tmp_path / "run"
    metrics = translate.main(
        ["--smoke", "--architecture", "lstm", "--data", f"tsv:{pairs_tsv}", "--out", str(out), "--test-size", "16"]
    )
    for name in ARTIFACTS:
        if name != "model_encode_decode_ids.tflite":  # the LSTM has no ids-in encode/decode file
            assert (out / name).is_file(), f"missing {name}"
    assert not (out / "model_encode_decode_ids.tflite").exists()
    stored = json.loads((out / "metrics.json").read_text())
    assert (stored["architecture"], stored["model"], stored["preset"]) == ("lstm", "LSTMSeq2Seq", "tiny")
    assert json.loads((out / "config.json").read_text())["architecture"] == "lstm"
    assert stored["bleu"] == pytest.approx(metrics["bleu"]) and 0 <= stored["bleu"] <= 100
    assert stored["exports"]["tflite"]["generate/float32"]["equal_to_keras_greedy"] == 1.0
    assert stored["exports"]["tflite"]["encode_decode/float32"]["greedy_sequences_equal"] == 1.0

    model = keras.saving.load_model(out / "model.keras")
    assert isinstance(model, LSTMSeq2Seq)
    sources = [sample["source"] for sample in stored["samples"]]
    expected = model.generate(sources)
    assert [sample["output"] for sample in stored["samples"]] == expected
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    assert [text.decode("utf-8") for text in serve(text=tf.constant(sources))["generated_text"].numpy()] == expected
    special = json.loads((out / "generation.json").read_text())
    ids = lstm_tflite_generate(
        out / "model_encode_decode.tflite",
        sources,
        bos_token_id=special["bos_token_id"],
        end_token_id=special["end_token_id"],
        pad_token_id=special["pad_token_id"],
        max_length=special["max_length"],
    )
    assert model.detokenize(ids) == expected
    printed = capsys.readouterr().out
    assert "architecture lstm (LSTMSeq2Seq 'tiny'" in printed and "held-out BLEU" in printed


def test_architecture_and_its_presets_are_checked(tmp_path, capsys):
    for argv, message in (
        (["--architecture", "rnn"], "unknown --architecture 'rnn'; expected one of ['transformer', 'lstm']"),
        (["--architecture", "lstm", "--preset", "base"], "unknown --preset 'base' for --architecture lstm"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            run_main(translate.main, [*argv, "--out", str(tmp_path)])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_summarize_smoke_on_its_default_data(tmp_path):
    # The default source (docstrings of the installed Python code) is there on every machine after `make`.
    metrics = summarize.main(["--smoke", "--out", str(tmp_path), "--quantize", "float32"])
    assert metrics["data"] == "builtin:python-docstrings" and metrics["train_pairs"] > 0
    assert metrics["lead_baseline"]["rouge1"] > 0 and 0 <= metrics["rouge1"] <= 100


def test_translate_reports_placeholder_exactness_in_its_headline():
    sources = ["Could not open %s", "Delete {name}?", "Hello"]
    metrics = translate.evaluate(["No se pudo abrir %s", "¿Borrar?", "Hola"], sources, [["x"], ["y"], ["Hola"]])
    assert metrics["exactness"]["placeholders"] == {"messages": 2, "exact": 1, "share": 50.0}
    assert "exact: placeholders 50.0% of 2" in translate.headline(metrics)
    assert "exact:" not in translate.headline({**metrics, "exactness": {}})
