"""`make bench`'s suite: the commands it plans, and the summary table built from real benchmark JSON files."""

import json
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import generation_speed, suite, task_training  # noqa: E402
from benchmarks.summary import summary_table, verdict  # noqa: E402

TINY_GENERATION = [
    "--new-tokens",
    "4",
    "--repeats",
    "2",
    "--batch-sizes",
    "1",
    "--hidden-dim",
    "16",
    "--num-layers",
    "1",
    "--num-heads",
    "2",
    "--intermediate-dim",
    "32",
    "--vocabulary-size",
    "50",
    "--source-length",
    "8",
]


def test_quick_plan_runs_every_benchmark_in_quick_mode_into_one_folder(tmp_path):
    args = suite.parse_args(["--quick", "--results", str(tmp_path)])
    plan = suite.commands(args, tmp_path / "no-run-yet")
    assert list(plan) == list(suite.STEPS)
    for step, argvs in plan.items():
        *before, benchmark = argvs
        assert benchmark[:2] == ["-m", "benchmarks." + step.replace("_causal_lm", "")]
        assert benchmark[-2:] == ["--out", str(tmp_path / f"{step}.json")]
        if step != "text_inference":  # text_inference has no --quick: it is given few examples instead
            assert "--quick" in benchmark
    # No sentiment run there: the suite trains a --smoke one first.
    (recipe,) = plan["text_inference"][:-1]
    assert recipe[:2] == ["-m", "recipes.sentiment"] and "--smoke" in recipe
    assert suite.parse_args([]).results == "benchmarks/results"


def test_summary_table_of_real_results_marks_every_ratio(tmp_path):
    task_training.main(
        [
            "--quick",
            "--tasks",
            "text_classifier",
            "--precisions",
            "float32",
            "--repeats",
            "1",
            "--steps",
            "1",
            "--out",
            str(tmp_path / "task_training.json"),
        ]
    )
    generation_speed.main(
        ["--model", "causal_lm", *TINY_GENERATION, "--out", str(tmp_path / "generation_speed_causal_lm.json")]
    )
    table = summary_table(tmp_path, quick=True, failed={"encoder_throughput": 1})
    assert "QUICK RUN" in table
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ")][1:]
    by_source = {}
    for row in rows:
        by_source.setdefault(row[0].strip("| "), []).append(row)
    assert len(by_source["task_training"]) == 1 and len(by_source["generation_speed_causal_lm"]) == 1
    assert "FAILED" in by_source["encoder_throughput"][0][1]
    assert by_source["generation_speed"][0][1] == "not run"
    stored = json.loads((tmp_path / "task_training.json").read_text())
    ratio = stored["ratios"]["text_classifier"]["float32"]
    (row,) = by_source["task_training"]
    assert row[4].startswith(f"{ratio:.2f}") and row[5] == verdict(ratio)
    assert row[6].count("%") == 2  # MFU of both models
    assert "python -m benchmarks.task_training --quick" in table and "GFLOP/s" in table


def test_verdicts_show_ratios_below_one():
    assert verdict(0.97) == "**BELOW 1.0x**"
    assert verdict(1.05) == "meets 1.0x, not 1.2x"
    assert verdict(1.2) == "meets 1.2x"
