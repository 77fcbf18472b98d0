"""ProgressLogger: a line about once a minute inside long epochs when stdout is not a terminal."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.training import ProgressLogger, fit
from zoo.training import loop as loop_module
from zoo.training.callbacks import format_duration


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _logger(steps=100, interval=60, examples_per_step=16):
    clock, stream = FakeClock(), io.StringIO()
    logger = ProgressLogger(interval, examples_per_step, stream=stream, clock=clock)
    logger.set_params({"epochs": 1, "steps": steps})
    return logger, clock, stream


def _run_epoch(logger, clock, steps, first_step_seconds=10.0, step_seconds=2.0, loss=2.31412):
    """Steps 0..steps-1: the first (tracing) takes `first_step_seconds`, the others `step_seconds`."""
    logger.on_epoch_begin(0)
    for batch in range(steps):
        clock.now += first_step_seconds if batch == 0 else step_seconds
        logger.on_train_batch_end(batch, {"loss": loss})


def test_one_line_per_interval_with_rate_and_eta():
    logger, clock, stream = _logger(steps=100)
    _run_epoch(logger, clock, 100)
    # The rate is measured from the end of the first step (t=10s): 0.5 steps/s, 16 examples each.
    # t=60s after step 26: (100 - 26) / 0.5 = 148s left; t=120s after step 56: 88s left; ...
    lines = stream.getvalue().splitlines()
    assert lines[:2] == [
        "  step 26/100  loss 2.3141  8 examples/s  ETA 2m28s",
        "  step 56/100  loss 2.3141  8 examples/s  ETA 1m28s",
    ]
    assert [line.split()[1] for line in lines] == ["26/100", "56/100", "86/100"]


def test_steps_per_second_without_batch_size_and_no_eta_without_steps():
    logger, clock, stream = _logger(steps=None, examples_per_step=None)
    _run_epoch(logger, clock, 40, loss=1e-5)
    assert stream.getvalue().splitlines() == ["  step 26  loss 1.000e-05  0.50 steps/s"]


def test_no_line_for_the_last_step_nor_for_short_epochs():
    logger, clock, stream = _logger(steps=5, interval=0)
    _run_epoch(logger, clock, 5)
    # Interval 0: every step but the last (the epoch line follows it); step 1 has no rate yet.
    assert [line.split()[1] for line in stream.getvalue().splitlines()] == ["1/5", "2/5", "3/5", "4/5"]
    assert stream.getvalue().splitlines()[0] == "  step 1/5  loss 2.3141"
    logger, clock, stream = _logger(steps=20, interval=60)
    _run_epoch(logger, clock, 20)  # 48s in all
    assert stream.getvalue() == ""


def test_each_epoch_starts_its_own_interval_and_rate():
    logger, clock, stream = _logger(steps=100)
    _run_epoch(logger, clock, 100)
    stream.truncate(0)
    stream.seek(0)
    _run_epoch(logger, clock, 30, first_step_seconds=30.0, step_seconds=1.0)
    # Its 30 steps end 59s after it began: no line.
    assert stream.getvalue() == ""
    _run_epoch(logger, clock, 100, first_step_seconds=4.0, step_seconds=4.0)
    assert stream.getvalue().splitlines()[0] == "  step 15/100  loss 2.3141  4 examples/s  ETA 5m40s"


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (44.6, "45s"), (60, "1m00s"), (800, "13m20s"), (7500, "2h05m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(interval=-1), "Received: interval=-1"),
        (dict(interval="60"), "Received: interval='60'"),
        (dict(examples_per_step=0), "Received: examples_per_step=0"),
        (dict(examples_per_step=True), "Received: examples_per_step=True"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProgressLogger(**kwargs)


# ------------------------------------------------------------------ fit


def _make_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _dataset():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("int32"))).batch(16)


@pytest.mark.parametrize("loop", ["keras", "custom"])
def test_fit_prints_progress_lines_when_stdout_is_not_a_terminal(tmp_path, capsys, loop):
    fit(_make_model(), _dataset(), epochs=2, run_dir=tmp_path, loop=loop, progress_interval=0, examples_per_step=16)
    lines = capsys.readouterr().out.splitlines()
    # Four steps per epoch: lines after steps 1-3, then the epoch line; 16 examples per step.
    steps = [["step", "1/4"], ["step", "2/4"], ["step", "3/4"]]
    assert [line.split()[:2] for line in lines] == [*steps, ["epoch", "1/2"], *steps, ["epoch", "2/2"]]
    assert all(line.startswith("  step ") and "  loss " in line for line in lines if "step" in line)
    assert "examples/s  ETA " in lines[1] and "\r" not in "".join(lines)


def test_fit_with_a_terminal_prints_the_keras_bar_and_no_progress_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(loop_module, "_stdout_is_tty", lambda: True)
    fit(_make_model(), _dataset(), epochs=2, run_dir=tmp_path, progress_interval=0)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out
    assert "  step " not in out and "examples/s" not in out and "epoch 1/2" not in out


def test_fit_without_progress_lines_and_the_batch_size_it_reads(tmp_path, capsys):
    fit(_make_model(), _dataset(), epochs=1, run_dir=tmp_path, progress_interval=None)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["epoch"]
    assert loop_module._examples_per_step(_dataset()) is None  # the last batch may be smaller
    assert loop_module._examples_per_step(_dataset().unbatch().batch(8, drop_remainder=True)) == 8
    assert loop_module._examples_per_step((np.zeros((100, 4)), np.zeros(100))) == 32
