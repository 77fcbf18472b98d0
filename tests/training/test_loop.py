"""zoo.training.fit: checkpoints, honest resume, history.csv and CI-friendly output."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.training import EpochLogger, InterruptedRunError, fit
from zoo.training import loop as loop_module

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS_PER_EPOCH = 4  # 64 samples, batch 16


def _make_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")
    return x, y


def _dataset(seed=0):
    """Unshuffled, so two runs over it take identical steps."""
    return tf.data.Dataset.from_tensor_slices(_arrays(seed)).batch(16)


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _read_state(run_dir):
    return json.loads((run_dir / "checkpoints" / "latest.json").read_text())


class StopAtEpoch(keras.callbacks.Callback):
    """Simulates a crash: raises as epoch `epoch` (0-based) begins."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"simulated crash before epoch {epoch + 1}")


class Probe(keras.callbacks.Callback):
    """Records the model's state when training begins (i.e. right after a restore)."""

    def on_train_begin(self, logs=None):
        self.iterations = int(self.model.optimizer.iterations)
        self.weights = [np.array(w) for w in self.model.get_weights()]
        self.epochs_seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_seen.append(epoch)


def test_fit_writes_history_csv_and_one_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    history = fit(_make_model(), _dataset(), epochs=3, run_dir=run_dir, validation_data=_dataset(1))
    assert list(history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(values) == 3 for values in history.values())
    rows = _read_csv(run_dir / "history.csv")
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert [float(row["val_loss"]) for row in rows] == pytest.approx(history["val_loss"])
    state = _read_state(run_dir)
    assert state["completed_epochs"] == 3 and state["finished"] is True
    assert state["history"] == history
    # Old per-epoch checkpoints are deleted; no temp files are left behind.
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["final.weights.h5", "latest.json"]


def test_non_tty_output_is_one_clean_line_per_epoch(tmp_path, capsys):
    fit(_make_model(), _dataset(), epochs=3, run_dir=tmp_path, validation_data=_dataset(1))
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    for number, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {number}/3  loss ")
        for key in ("  accuracy ", "  val_loss ", "  val_accuracy ", "  lr 1.0e-02  "):
            assert key in line
        assert line.endswith("s")


def test_tty_output_uses_keras_progress_bar(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(loop_module, "_stdout_is_tty", lambda: True)
    fit(_make_model(), _dataset(), epochs=2, run_dir=tmp_path)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "epoch 2/2  loss" not in out


def test_fit_accepts_array_tuple(tmp_path):
    history = fit(_make_model(), _arrays(), epochs=2, run_dir=tmp_path, steps_per_epoch=2)
    assert len(history["loss"]) == 2


def test_interrupted_run_resumes_exactly(tmp_path, capsys):
    reference_model = _make_model()
    initial_weights = reference_model.get_weights()
    reference = fit(reference_model, _dataset(), epochs=5, run_dir=tmp_path / "reference")

    run_dir = tmp_path / "run"
    interrupted_model = _make_model()
    interrupted_model.set_weights(initial_weights)
    with pytest.raises(KeyboardInterrupt):
        fit(interrupted_model, _dataset(), epochs=5, run_dir=run_dir, callbacks=[StopAtEpoch(3)])
    state = _read_state(run_dir)
    assert (state["completed_epochs"], state["finished"]) == (3, False)
    assert len(_read_csv(run_dir / "history.csv")) == 3
    capsys.readouterr()

    resumed_model, probe = _make_model(), Probe()  # fresh weights, unbuilt optimizer
    history = fit(resumed_model, _dataset(), epochs=5, run_dir=run_dir, resume=True, callbacks=[probe])
    assert "resuming" in capsys.readouterr().out
    assert probe.epochs_seen == [3, 4]  # continues after the saved epoch
    assert probe.iterations == 3 * STEPS_PER_EPOCH  # Adam's step counter restored
    assert int(resumed_model.optimizer.iterations) == 5 * STEPS_PER_EPOCH
    # Restored Adam moments make the resumed run identical to the uninterrupted one.
    for got, want in zip(resumed_model.get_weights(), reference_model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert history["loss"] == pytest.approx(reference["loss"], rel=1e-5)
    rows = _read_csv(run_dir / "history.csv")
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4", "5"]  # no duplicates
    assert [float(row["loss"]) for row in rows] == pytest.approx(history["loss"])


@pytest.fixture
def interrupted_run_dir(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        fit(_make_model(), _dataset(), epochs=4, run_dir=tmp_path, callbacks=[StopAtEpoch(1)])
    return tmp_path


def test_unfinished_run_without_resume_is_an_error(interrupted_run_dir):
    before = _read_state(interrupted_run_dir)
    with pytest.raises(InterruptedRunError) as error:
        fit(_make_model(), _dataset(), epochs=4, run_dir=interrupted_run_dir)
    assert str(error.value) == (
        f"run_dir {interrupted_run_dir} holds an interrupted run (1 of 4 epochs done); "
        "pass --resume to continue it, or choose another --out"
    )
    assert _read_state(interrupted_run_dir) == before  # nothing was touched


def test_finished_run_rerun_starts_over(tmp_path, capsys):
    first = fit(_make_model(), _dataset(), epochs=2, run_dir=tmp_path)
    capsys.readouterr()
    model, probe = _make_model(), Probe()
    second = fit(model, _dataset(0), epochs=3, run_dir=tmp_path, callbacks=[probe])
    assert probe.epochs_seen == [0, 1, 2] and probe.iterations == 0
    assert len(second["loss"]) == 3 and second["loss"][:2] != first["loss"]
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert len(_read_csv(tmp_path / "history.csv")) == 3


def test_resume_of_finished_run_trains_nothing(tmp_path, capsys):
    trained = _make_model()
    first = fit(trained, _dataset(), epochs=2, run_dir=tmp_path)
    capsys.readouterr()
    model, probe = _make_model(), Probe()
    history = fit(model, _dataset(), epochs=2, run_dir=tmp_path, resume=True, callbacks=[probe])
    assert history == first
    assert not hasattr(probe, "iterations")  # model.fit was never called
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "already finished (2 of 2 epochs done)" in out[0]
    # The model now holds the finished run's weights and optimizer state.
    for got, want in zip(model.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert int(model.optimizer.iterations) == 2 * STEPS_PER_EPOCH


def test_resume_without_checkpoint_starts_from_scratch(tmp_path, capsys):
    history = fit(_make_model(), _dataset(), epochs=2, run_dir=tmp_path / "new", resume=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"no checkpoint in {tmp_path / 'new'}; starting from scratch"
    assert len(lines) == 3 and len(history["loss"]) == 2


def test_fit_rejects_uncompiled_model_and_bad_epochs(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="needs a compiled model"):
        fit(model, _dataset(), epochs=1, run_dir=tmp_path)
    with pytest.raises(ValueError, match="Received: epochs=0"):
        fit(_make_model(), _dataset(), epochs=0, run_dir=tmp_path)


def test_epoch_logger_formats_logs_and_learning_rate():
    import io

    stream = io.StringIO()
    logger = EpochLogger(stream=stream)
    logger.set_params({"epochs": 20})
    logger.on_epoch_begin(2)
    logger.on_epoch_end(2, {"loss": 0.12341, "accuracy": 0.97, "learning_rate": 9.5e-4, "val_loss": 2e-5})
    line = stream.getvalue()
    assert line.startswith("epoch 3/20  loss 0.1234  accuracy 0.9700  val_loss 2.000e-05  lr 9.5e-04  ")
    assert line.endswith("s\n") and line.count("\n") == 1


# --------------------------------------------------------- real SIGKILL

CHILD_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import keras, numpy as np, tensorflow as tf
    from zoo.training import checkpoint, fit

    mode, run_dir, side_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class Record(keras.callbacks.Callback):
        # Runs before fit's checkpoint: saves what epoch N's checkpoint will hold.
        def on_epoch_end(self, epoch, logs=None):
            np.savez(os.path.join(side_dir, f"epoch-{epoch + 1}.npz"), *self.model.get_weights())

    class KillMidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if mode == "mid_epoch" and self.epoch == 2 and batch == 1:
                die()
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    saves = []
    original_save_weights = model.save_weights
    def save_weights(path, *args, **kwargs):
        original_save_weights(path, *args, **kwargs)
        saves.append(path)
        if mode == "mid_weights_write" and len(saves) == 3:
            with open(path, "r+b") as handle:  # leave a half-written file, then die
                handle.truncate(os.path.getsize(path) // 2)
            die()
    model.save_weights = save_weights

    original_write_state = checkpoint.write_state
    def write_state(run_dir, state):
        if mode == "before_pointer_update" and state.completed_epochs == 3:
            die()  # epoch-0003 weights are complete on disk; latest.json still says 2
        original_write_state(run_dir, state)
    checkpoint.write_state = write_state

    fit(model, data, epochs=4, run_dir=run_dir, callbacks=[Record(), KillMidEpoch()])
    """
)

KILL_MODES = ("mid_epoch", "mid_weights_write", "before_pointer_update")


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """Start one child per kill mode (in parallel), each SIGKILLed during epoch 3."""
    root = tmp_path_factory.mktemp("killed")
    script = root / "child.py"
    script.write_text(CHILD_SCRIPT)
    env = dict(
        os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES=""
    )
    children = {}
    for mode in KILL_MODES:
        run_dir, side_dir = root / mode / "run", root / mode / "side"
        side_dir.mkdir(parents=True)
        children[mode] = (
            run_dir,
            side_dir,
            subprocess.Popen(
                [sys.executable, str(script), mode, str(run_dir), str(side_dir)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=REPO_ROOT,
            ),
        )
    results = {}
    for mode, (run_dir, side_dir, child) in children.items():
        stdout, stderr = child.communicate(timeout=120)
        results[mode] = (run_dir, side_dir, child.returncode, stdout, stderr)
    return results


@pytest.mark.parametrize("mode", KILL_MODES)
def test_sigkill_at_any_instant_leaves_a_resumable_checkpoint(killed_runs, mode, capsys):
    run_dir, side_dir, returncode, stdout, stderr = killed_runs[mode]
    assert returncode == -signal.SIGKILL, stderr[-2000:]
    # The child logged (and checkpointed) epochs 1 and 2 only, then died in epoch 3.
    assert [line.split()[:2] for line in stdout.splitlines()] == [["epoch", "1/4"], ["epoch", "2/4"]]
    assert _read_state(run_dir)["completed_epochs"] == 2

    model, probe = _make_model(), Probe()
    history = fit(model, _dataset(), epochs=4, run_dir=run_dir, resume=True, callbacks=[probe])
    # The restored state is exactly what the child had after epoch 2.
    saved = np.load(side_dir / "epoch-2.npz")
    for got, want in zip(probe.weights, [saved[f"arr_{i}"] for i in range(len(saved.files))]):
        np.testing.assert_array_equal(got, want)
    assert probe.iterations == 2 * STEPS_PER_EPOCH
    assert probe.epochs_seen == [2, 3]
    assert len(history["loss"]) == 4
    assert [row["epoch"] for row in _read_csv(run_dir / "history.csv")] == ["1", "2", "3", "4"]
    # Leftovers of the killed save (temp or orphan weight files) are cleaned up.
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["final.weights.h5", "latest.json"]


def test_training_timer_counts_epochs_and_excludes_validation(tmp_path):
    import keras
    import numpy as np

    from zoo.training import TrainingTimer

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = TrainingTimer()
    x, y = np.zeros((8, 3)), np.zeros((8, 1))
    model.fit(x, y, epochs=3, validation_data=(x, y), callbacks=[timer], verbose=0)
    assert timer.epochs == 3
    assert 0 < timer.seconds < 60
