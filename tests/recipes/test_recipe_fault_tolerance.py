"""A recipe as users run it: two local workers (--strategy multi_worker), and a SIGKILL mid-epoch then --resume.

Both compare with the same recipe run uninterrupted in one process
(`recipes.vit --smoke`, no augmentation so the data are the same in every
process).
"""

import csv
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from recipes import vit

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ARGV = ["--smoke", "--epochs", "4", "--augment", "none", "--quantize", "float32", "--attention-maps", "0"]

# Runs recipes.vit with a callback that SIGKILLs the process after the 2nd
# batch of epoch 3 (checkpoints of epochs 1-2 on disk, epoch 3 half done).
KILLED_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    from recipes import vit
    from recipes.common import lifecycle  # Run.fit calls lifecycle.fit (zoo.training.fit)

    class KillMidEpochThree(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 1:
                print("killing mid-epoch 3", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

    real_fit = lifecycle.fit
    lifecycle.fit = lambda *a, **k: real_fit(*a, **{**k, "callbacks": [*k.get("callbacks", ()), KillMidEpochThree()]})
    vit.main(sys.argv[1:])
    """
)


def _env(**extra):
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
        KERAS_BACKEND="tensorflow",
        CUDA_VISIBLE_DEVICES="",
    )
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _history(out):
    with open(pathlib.Path(out) / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _column(rows, name):
    return np.array([float(row[name]) for row in rows])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    metrics = vit.main([*ARGV, "--out", str(out)])
    return out, metrics


def test_two_local_workers_run_the_recipe_like_one_process(uninterrupted, tmp_path):
    reference_out, reference = uninterrupted
    out = tmp_path / "run"
    sockets = [socket.socket() for _ in range(2)]
    for handle in sockets:
        handle.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{handle.getsockname()[1]}" for handle in sockets]}
    for handle in sockets:
        handle.close()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "recipes.vit", *ARGV, "--strategy", "multi_worker", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            env=_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})),
        )
        for index in range(2)
    ]
    try:
        (chief_out, chief_err), (worker_out, worker_err) = (child.communicate(timeout=400) for child in children)
    finally:
        for child in children:
            child.kill()
    assert children[0].returncode == 0, chief_err[-3000:]
    assert children[1].returncode == 0, worker_err[-3000:]
    assert "2 replica(s) in sync; this is worker 0 (chief)" in chief_out
    assert "worker 1: training done; the chief evaluates and exports" in worker_out
    assert "=== results ===" in chief_out and "=== results ===" not in worker_out

    # Each worker took half of every global batch, so epoch 1 (the same batches in the same
    # order) is the single process's epoch 1; later epochs reshuffle in another order
    # (zoo's loop and Keras fit iterate the seeded dataset differently): close, not equal.
    rows, reference_rows = _history(out), _history(reference_out)
    assert len(rows) == 4
    for name in ("loss", "val_loss"):
        np.testing.assert_allclose(_column(rows, name)[0], _column(reference_rows, name)[0], rtol=1e-4)
        np.testing.assert_allclose(_column(rows, name), _column(reference_rows, name), rtol=0.02)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(reference["accuracy"], abs=4 / 64)  # 64 test images
    # The chief's exports load and agree with its Keras model (export_run checks parity) in the usual places.
    assert (out / "saved_model" / "1" / "saved_model.pb").is_file()
    assert (out / "model.tflite").is_file() and (out / "model.keras").is_file()
    assert metrics["exports"]["tflite"]["images/float32"]["accuracy"] == pytest.approx(metrics["accuracy"], abs=0.02)
    # model.keras keeps the optimizer state as after a one-process run: training can go on from it.
    saved, single = keras.saving.load_model(out / "model.keras"), keras.saving.load_model(reference_out / "model.keras")
    assert saved.optimizer is not None and int(saved.optimizer.iterations) == int(single.optimizer.iterations) > 0


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(uninterrupted, tmp_path):
    reference_out, reference = uninterrupted
    out = tmp_path / "run"
    script = tmp_path / "killed_child.py"
    script.write_text(KILLED_CHILD)
    child = subprocess.run(
        [sys.executable, str(script), *ARGV, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=_env(),
        timeout=400,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
    assert "killing mid-epoch 3" in child.stdout
    state = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert state["completed_epochs"] == 2
    assert not (out / "metrics.json").exists() and not (out / "model.keras").exists()

    metrics = vit.main([*ARGV, "--out", str(out), "--resume"])
    rows, reference_rows = _history(out), _history(reference_out)
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4"]
    # Epochs 1-2 are the killed process's own (same seed, same data as the reference run) ...
    np.testing.assert_allclose(_column(rows, "val_loss")[:2], _column(reference_rows, "val_loss")[:2], rtol=1e-5)
    # ... and epochs 3-4 continue from them: the resumed pass sees its batches in another
    # shuffled order (tf.data's shuffle state is not checkpointed), so equal within noise.
    np.testing.assert_allclose(_column(rows, "val_loss")[2:], _column(reference_rows, "val_loss")[2:], rtol=0.02)
    assert metrics["epochs"] == 4
    assert metrics["accuracy"] == pytest.approx(reference["accuracy"], abs=4 / 64)  # 64 test images
    assert sorted(os.listdir(out / "checkpoints")) == ["final.weights.h5", "latest.json"]
