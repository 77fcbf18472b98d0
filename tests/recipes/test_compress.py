"""recipes.compress: a --smoke sweep writes its report; bad --model files fail in one line."""

import json

import pytest

from recipes import compress
from zoo.models import CausalLM
from zoo.training.cli import run_main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_smoke_sweep_writes_the_report_json_and_plots(tmp_path, capsys):
    out = tmp_path / "compress"
    summary = compress.main(["--smoke", "--out", str(out)])
    for name in (
        "config.json",
        "compression.json",
        "metrics.json",
        "report.md",
        "spectra.png",
        "metric_vs_compression.png",
        "run/model.keras",
    ):
        assert (out / name).is_file(), f"missing {name}"
    for name in ("spectra.png", "metric_vs_compression.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    stored = json.loads((out / "compression.json").read_text())
    assert [row["label"] for row in stored["rows"]] == ["rank 2", "rank 4"]
    original = stored["original"]
    assert original["parameters"] == summary["original"]["parameters"] > 0
    # The unfactorized model scores what the run itself reported (same split, same model).
    assert stored["run_metric_check"]["within_tolerance"]
    for row in stored["rows"]:
        assert row["parameters"] < original["parameters"]
        assert row["parameter_ratio"] == pytest.approx(row["parameters"] / original["parameters"])
        assert row["tflite_bytes"] > 0 and row["tflite_ms_per_example"] > 0
        assert 0.0 <= row["metric"] <= 1.0 and 0.0 <= row["metric_recovered"] <= 1.0
        # --include all: the token table is factorized along with the projections.
        paths = {entry["path"] for entry in row["layers"] if entry["factorized"]}
        assert "embedding/token_embedding" in paths and any("feedforward" in path for path in paths)
    report = (out / "report.md").read_text()
    table = [line for line in report.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 1 + 2  # header, original, one row per rank
    assert table[2].startswith("| rank 2 |") and table[3].startswith("| rank 4 |")
    printed = capsys.readouterr().out
    assert "rank 2 after recovery: accuracy" in printed and "matches the run's metrics.json" in printed


def one_line_error(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        run_main(compress.main, argv)
    assert raised.value.code == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    return error


def test_a_missing_model_file_is_a_one_line_error(tmp_path, capsys):
    error = one_line_error(["--model", str(tmp_path / "nope" / "model.keras"), "--out", str(tmp_path / "c")], capsys)
    assert "nope/model.keras: no such file" in error


def test_a_model_without_its_run_config_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "model.keras"
    CausalLM.from_preset("tiny", vocabulary_size=30).save(path)
    error = one_line_error(["--model", str(path), "--out", str(tmp_path / "c")], capsys)
    assert "config.json: no such file" in error


def test_an_unsupported_model_type_names_the_supported_ones(tmp_path, capsys):
    path = tmp_path / "model.keras"
    CausalLM.from_preset("tiny", vocabulary_size=30).save(path)
    (tmp_path / "config.json").write_text("{}")
    error = one_line_error(["--model", str(path), "--out", str(tmp_path / "c")], capsys)
    assert "is a CausalLM; supported: TextClassifier (recipes.sentiment), Seq2SeqLM (recipes.translate)" in error


def test_a_file_that_is_not_a_keras_model_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "model.keras"
    path.write_bytes(b"not a zip")
    (tmp_path / "config.json").write_text("{}")
    assert "cannot load it as a Keras model" in one_line_error(
        ["--model", str(path), "--out", str(tmp_path / "c")], capsys
    )


def test_model_is_required_without_smoke(capsys):
    with pytest.raises(SystemExit) as raised:
        compress.main(["--ranks", "4"])
    assert raised.value.code == 2 and "--model RUN_DIR/model.keras is required" in capsys.readouterr().err
