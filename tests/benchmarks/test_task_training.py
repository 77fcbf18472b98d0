"""The task training benchmark runs in --quick mode and writes ratios, MFU and the command into its JSON."""

import json
import pathlib
import shlex
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import task_training  # noqa: E402
from benchmarks.task_pairs import tokens_per_example  # noqa: E402

# One task and one precision keep the test short; the quick sizes are used as they are.
ARGV = ["--quick", "--tasks", "text_classifier", "--precisions", "float32", "--repeats", "1"]


def test_quick_run_writes_ratios_and_mfu(tmp_path, capsys):
    out = tmp_path / "results" / "task_training.json"
    returned = task_training.main(ARGV + ["--out", str(out)])
    stored = json.loads(out.read_text())
    assert stored == json.loads(json.dumps(returned))
    assert stored["command"] == shlex.join(["python", "-m", "benchmarks.task_training", *ARGV, "--out", str(out)])
    for key in ("date", "versions", "cpu_count", "load_average_at_start", "load_average_at_end", "matmul_ceiling"):
        assert key in stored, key
    assert stored["matmul_ceiling"]["float32"]["best_gflops"] > 0
    assert set(stored["tasks"]) == {"text_classifier"}
    assert stored["tasks"]["text_classifier"]["tokens_per_step"] == 8 * 32
    for task, entry in stored["tasks"].items():
        assert sorted((run["model"], run["round"]) for run in entry["runs"]) == [("keras-hub", 0), ("zoo", 0)]
        summary = entry["summary"]["float32"]
        assert summary["ratio"] == pytest.approx(summary["paired_ratios"][0])
        assert stored["ratios"][task]["float32"] == summary["ratio"] > 0
        # Training FLOPs are 3x the forward pass of the whole batch.
        assert summary["training_flops_per_step"] == 3 * 8 * entry["forward_flops_per_example"]
        mfu = stored["mfu"][task]["float32"]
        assert set(mfu) == {"zoo", "keras-hub"} and all(0 < value < 1.5 for value in mfu.values())
        gflops = summary["achieved_gflops"]["zoo"]
        assert mfu["zoo"] == pytest.approx(gflops / stored["matmul_ceiling"]["float32"]["best_gflops"])
    # keras-hub's BERT has a pooler and segment embeddings that zoo's classifier does not.
    params = stored["tasks"]["text_classifier"]["summary"]["float32"]["parameters"]
    assert params["keras-hub"] - params["zoo"] == 64 * 64 + 64 + 2 * 64
    printed = capsys.readouterr().out
    assert "zoo/keras-hub" in printed and "keras-hub MFU" in printed and "matmul ceiling" in printed


def test_tokens_per_example_counts_what_the_blocks_run_over():
    args = task_training.parse_args(["--quick"])
    assert tokens_per_example("image_classifier", task_training.task_config(args, "image_classifier")) == 17
    assert tokens_per_example("seq2seq", task_training.task_config(args, "seq2seq")) == 64  # source + target


def test_explicit_flags_override_the_quick_sizes():
    args = task_training.parse_args(["--quick", "--layers", "3"])
    assert task_training.task_config(args, "seq2seq")["layers"] == 3
    full = task_training.parse_args([])
    assert task_training.task_config(full, "seq2seq")["seq_len"] == 64
    assert task_training.task_config(full, "causal_lm")["seq_len"] == 128


def test_rejects_unknown_tasks(capsys):
    with pytest.raises(SystemExit):
        task_training.parse_args(["--tasks", "text_classifier,speech"])
    assert "speech" in capsys.readouterr().err
