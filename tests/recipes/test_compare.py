"""recipes.compare end to end at toy size: every experiment, the report and the plots."""

import json

import numpy as np
import pytest

from recipes import compare
from zoo.training.cli import run_main

WORDS = {"cat": "gato", "dog": "perro", "house": "casa", "red": "rojo", "big": "grande", "small": "pequeño"}
POSITIVE = ["a gorgeous , witty film", "warm and funny", "a moving , beautiful story"]
NEGATIVE = ["a dull , lifeless mess", "boring and far too long", "the plot makes no sense"]


@pytest.fixture
def data_files(tmp_path):
    reviews = tmp_path / "reviews.tsv"
    lines = [f"{text} {i}\tpos" for i in range(30) for text in POSITIVE]
    reviews.write_text("\n".join(lines + [f"{text} {i}\tneg" for i in range(30) for text in NEGATIVE]) + "\n")
    rng = np.random.default_rng(0)
    english, spanish = list(WORDS), list(WORDS.values())
    pairs = set()
    while len(pairs) < 200:
        picks = rng.integers(0, len(WORDS), size=rng.integers(1, 5))
        pairs.add(" ".join(english[i] for i in picks) + "\t" + " ".join(spanish[i] for i in picks))
    pairs_path = tmp_path / "pairs.tsv"
    pairs_path.write_text("\n".join(sorted(pairs)) + "\n", encoding="utf-8")
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 800)
    return reviews, pairs_path, text


def assert_lstm_widths_are_the_closest(rows, out):
    """Each size's LSTM has the parameter count closest to that size's Transformer: its width's
    neighbours (counts grow with width) are no closer."""
    from zoo.comparison.matching import build_language_model
    from zoo.tokenizers import CharacterPreprocessor

    settings = compare.SETTINGS["smoke"]["scaling"]
    length = settings["sequence_length"]
    characters = CharacterPreprocessor(str(out / "scaling_characters.txt"), sequence_length=length)
    shape = dict(vocabulary_size=characters.vocabulary_size, sequence_length=length)
    transformers = [r for r in rows if r["architecture"] == "transformer"]
    lstms = [r for r in rows if r["architecture"] == "lstm"]
    assert [r["width"] for r in transformers] == list(settings["widths"]) and len(lstms) == len(transformers)
    for transformer, lstm in zip(transformers, lstms):  # rows run width by width
        target = transformer["parameters"]
        assert build_language_model("transformer", transformer["width"], **shape).count_params() == target
        assert build_language_model("lstm", lstm["width"], **shape).count_params() == lstm["parameters"]
        gap = abs(lstm["parameters"] - target)
        for neighbour in (lstm["width"] - 1, lstm["width"] + 1):
            neighbour_gap = abs(build_language_model("lstm", neighbour, **shape).count_params() - target)
            assert neighbour_gap >= gap, (transformer["width"], lstm["width"], neighbour)


def test_smoke_runs_every_experiment_and_writes_the_report(data_files, tmp_path, capsys):
    reviews, pairs, text = data_files
    out = tmp_path / "compare"
    compare.main(
        [
            "--smoke",
            "--architectures",
            "transformer,lstm",
            "--long-range-kinds",
            "copy,pair_sum",
            "--sentiment-data",
            f"tsv:{reviews}",
            "--translation-data",
            f"tsv:{pairs}",
            "--lm-data",
            f"text:{text}",
            "--out",
            str(out),
        ]
    )
    for name in [
        "report.md",
        "results.json",
        "throughput.png",
        "long_range_copy.png",
        "long_range_pair_sum.png",
        "real_data.png",
        "deployment.png",
        "scaling.png",
    ]:
        assert (out / name).is_file(), f"missing {name}"
    stored = json.loads((out / "results.json").read_text())
    results = stored["results"]
    assert stored["mode"] == "smoke"
    assert {(r["architecture"], r["sequence_length"]) for r in results["throughput"]} == {
        (a, n) for a in ("transformer", "lstm") for n in compare.SETTINGS["smoke"]["throughput"]["lengths"]
    }
    assert all(r["tokens_per_second"] > 0 for r in results["throughput"])
    assert {(r["kind"], r["architecture"]) for r in results["long_range"]} == {
        (k, a) for k in ("copy", "pair_sum") for a in ("transformer", "lstm")
    }
    assert all(0 <= r["accuracy"] <= 1 and r["chance"] == 0.25 for r in results["long_range"])
    real = {(r["task"], r["architecture"]): r for r in results["real_data"]}
    assert set(real) == {(t, a) for t in ("sentiment", "translation") for a in ("transformer", "lstm")}
    assert real["sentiment", "lstm"]["tflite_megabytes"] > 0 and real["sentiment", "lstm"]["keras_ms_per_example"] > 0
    assert real["sentiment", "transformer"]["tflite_ms_per_example"] > 0
    assert real["translation", "lstm"]["ms_per_token"] > 0 and "bleu" in real["translation", "lstm"]
    # Each real-data run went through its task's recipe with the architecture asked for.
    for (task, architecture), row in real.items():
        metrics = json.loads((out / "runs" / f"{task}-{architecture}" / "metrics.json").read_text())
        assert metrics["architecture"] == architecture and metrics["parameters"] == row["parameters"]
    assert {r["architecture"] for r in results["scaling"]} == {"transformer", "lstm"}
    # The LSTM of each size is the width whose parameter count is closest to the Transformer's.
    sizes = sorted(results["scaling"], key=lambda r: (r["architecture"], r["parameters"]))
    assert all(r["validation_loss"] > 0 for r in sizes)
    assert_lstm_widths_are_the_closest(results["scaling"], out)
    report = (out / "report.md").read_text()
    for heading in ["## 1. Training throughput", "## 2. Long-range", "## 3. Real data", "## 4. Scaling"]:
        assert heading in report
    assert "![throughput](throughput.png)" in report

    # --resume keeps what the run finished: nothing is trained again.
    capsys.readouterr()
    again = compare.main(
        [
            "--smoke",
            "--resume",
            "--architectures",
            "transformer,lstm",
            "--long-range-kinds",
            "copy,pair_sum",
            "--sentiment-data",
            f"tsv:{reviews}",
            "--translation-data",
            f"tsv:{pairs}",
            "--lm-data",
            f"text:{text}",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert printed.count("kept from the interrupted run") == 4 and "epoch 1/" not in printed
    assert again["results"] == results


def test_resume_refuses_a_run_of_another_mode(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps({"mode": "quick", "results": {}, "seconds": {}}))
    with pytest.raises(SystemExit) as exit_info:
        run_main(compare.main, ["--smoke", "--resume", "--experiments", "throughput", "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    assert "holds a quick run, not smoke" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--experiments", "speed"], "unknown --experiments"),
        (["--architectures", "gru"], "unknown --architectures"),
        (["--long-range-kinds", "brackets"], "unknown --long-range-kinds"),
    ],
)
def test_bad_options_are_one_line_usage_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        run_main(compare.main, [*argv, "--smoke", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
