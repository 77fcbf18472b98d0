"""The encoder throughput benchmark runs end to end at a tiny size and writes a complete JSON."""

import json
import pathlib
import shlex
import statistics
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import encoder_throughput  # noqa: E402

TINY = [
    "--layers",
    "1",
    "--hidden",
    "32",
    "--heads",
    "2",
    "--seq-len",
    "16",
    "--batch-size",
    "4",
    "--vocab-size",
    "50",
    "--steps",
    "2",
    "--repeats",
    "2",
    "--warmup",
    "1",
    "--attention-steps",
    "2",
    "--precisions",
    "float32",
]


def test_tiny_run_writes_complete_json(tmp_path, capsys):
    out = tmp_path / "results" / "encoder.json"
    returned = encoder_throughput.main(TINY + ["--out", str(out)])
    stored = json.loads(out.read_text())
    assert stored == json.loads(json.dumps(returned))
    for key in ("command", "date", "versions", "cpu_count", "config", "encoder", "attention", "ratios"):
        assert key in stored, key
    assert set(stored["versions"]) >= {"tensorflow", "keras", "keras_hub"}
    assert all(stored["versions"][name] for name in ("tensorflow", "keras", "keras_hub"))
    assert stored["command"] == shlex.join(["python", "-m", "benchmarks.encoder_throughput", *TINY, "--out", str(out)])
    assert stored["config"]["hidden"] == 32 and stored["config"]["intermediate"] == 128

    runs = stored["encoder"]["runs"]
    assert sorted((run["model"], run["round"]) for run in runs) == [
        ("keras-hub", 0),
        ("keras-hub", 1),
        ("zoo", 0),
        ("zoo", 1),
    ]
    assert all(len(run["step_seconds"]) == 2 and min(run["step_seconds"]) > 0 for run in runs)
    assert all(run["best_step_tokens_per_s"] >= run["tokens_per_s"] > 0 for run in runs)
    summary = stored["encoder"]["summary"]["float32"]
    assert summary["parameters"]["zoo"] == summary["parameters"]["keras-hub"]  # same architecture
    assert min(summary["median_tokens_per_s"].values()) > 0
    assert summary["best_ratio"] > 0
    assert len(summary["paired_ratios"]) == 2
    assert stored["ratios"]["float32"] == pytest.approx(statistics.median(summary["paired_ratios"]))

    attention = stored["attention"]["summary"]["float32"]
    assert set(attention["median_ms_per_call"]) == {"fused", "explicit"}
    assert min(attention["median_ms_per_call"].values()) > 0
    assert attention["ratio"] > 0
    assert attention["max_abs_output_difference"] < 1e-4  # both paths compute the same attention

    printed = capsys.readouterr().out
    assert "zoo/keras-hub" in printed and "explicit ms" in printed


def test_quick_defaults_yield_to_explicit_flags():
    args = encoder_throughput.parse_args(["--quick", "--steps", "7"])
    assert (args.steps, args.repeats, args.layers) == (7, 1, 2)
    args = encoder_throughput.parse_args([])
    assert (args.layers, args.hidden, args.intermediate, args.precisions) == (
        4,
        256,
        1024,
        ["float32", "mixed_bfloat16"],
    )


def test_rejects_heads_that_do_not_divide_hidden(capsys):
    with pytest.raises(SystemExit):
        encoder_throughput.parse_args(["--hidden", "30", "--heads", "4"])
    assert "hidden=30, heads=4" in capsys.readouterr().err
