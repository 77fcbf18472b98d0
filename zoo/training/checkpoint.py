"""The on-disk state of a training run, crash-safe at every instant.

Layout inside `run_dir`:

    checkpoints/latest.json               the pointer: RunState as JSON
    checkpoints/epoch-0003.weights.h5     weights + optimizer state after epoch 3
    history.csv                           epoch + every metric, one row per epoch

A checkpoint is written in three steps: (1) the weights go atomically into a
*new* file, (2) `latest.json` is atomically replaced to point at it, (3)
older weight files are deleted. A SIGKILL between any two steps leaves
`latest.json` naming a complete file; leftovers are removed by the next save.
"""

import csv
import dataclasses
import io
import json
import pathlib

from zoo.io import atomic_file, atomic_write_json, atomic_write_text
from zoo.training.callbacks import ordered_logs

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "latest.json"
HISTORY_FILE = "history.csv"
_WEIGHTS_SUFFIX = ".weights.h5"


@dataclasses.dataclass
class RunState:
    """What `latest.json` records about a run.

    Attributes:
        completed_epochs: epochs whose weights are in `weights`.
        epochs: the epoch count the run was asked for.
        weights: file name (inside `checkpoints/`) of the weights to load.
        history: metric name -> one value per completed epoch.
        finished: True once `fit` returned normally (all epochs done or
            stopped early by a callback).
    """

    completed_epochs: int
    epochs: int
    weights: str | None = None
    history: dict = dataclasses.field(default_factory=dict)
    finished: bool = False

    def describe(self):
        return f"{self.completed_epochs} of {self.epochs} epochs done"


def checkpoint_dir(run_dir):
    return pathlib.Path(run_dir) / CHECKPOINT_DIR


def read_state(run_dir):
    """The `RunState` stored in `run_dir`, or None when there is no checkpoint."""
    path = checkpoint_dir(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = RunState(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise ValueError(f"checkpoint state {str(path)!r} is unreadable: {error}") from None
    weights_path = checkpoint_dir(run_dir) / state.weights
    if not weights_path.is_file():
        raise FileNotFoundError(f"checkpoint state {str(path)!r} names {state.weights!r}, which does not exist")
    return state


def save_checkpoint(model, run_dir, state, weights_name):
    """Save `model`'s weights and optimizer state, then point `latest.json` at them.

    Args:
        model: a compiled Keras model.
        run_dir: the run directory.
        state: the `RunState` to record; its `weights` is set to `weights_name`.
        weights_name: file name for the weights, ending in `.weights.h5`.
    """
    directory = checkpoint_dir(run_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_file(directory / weights_name) as temp_path:
        model.save_weights(str(temp_path))  # includes optimizer variables
    state.weights = weights_name
    write_state(run_dir, state)
    _delete_stale_files(directory, keep=weights_name)


def write_state(run_dir, state):
    """Atomically replace `latest.json` with `state`."""
    atomic_write_json(checkpoint_dir(run_dir) / STATE_FILE, dataclasses.asdict(state))


def _delete_stale_files(directory, keep):
    """Delete weight files other than `keep` and temp files left by a crash."""
    for path in directory.iterdir():
        stale_weights = path.name.endswith(_WEIGHTS_SUFFIX) and path.name != keep
        leftover_temp = path.name.startswith((".tmp-", ".old-"))
        if (stale_weights or leftover_temp) and path.is_file():
            path.unlink(missing_ok=True)


def restore_checkpoint(model, run_dir, state):
    """Load the weights and optimizer state named by `state` into `model`."""
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    model.load_weights(str(checkpoint_dir(run_dir) / state.weights))


def append_epoch(history, logs):
    """Add one epoch's `logs` to `history` (name -> list), in place.

    Keys missing this epoch get None; keys new this epoch are back-filled
    with None, so every list stays one value per epoch.
    """
    epochs_so_far = max((len(values) for values in history.values()), default=0)
    for name, value in ordered_logs(logs).items():
        history.setdefault(name, [None] * epochs_so_far).append(float(value))
    for values in history.values():
        if len(values) == epochs_so_far:
            values.append(None)
    return history


def history_to_csv(history):
    """CSV text: header `epoch,<metric>,...`, then one row per epoch (1-based)."""
    names = list(history)
    num_epochs = max((len(values) for values in history.values()), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *names])
    for epoch in range(num_epochs):
        row = [history[name][epoch] if epoch < len(history[name]) else None for name in names]
        writer.writerow([epoch + 1, *("" if value is None else repr(value) for value in row)])
    return buffer.getvalue()


def write_history_csv(history, run_dir):
    """Rewrite `run_dir/history.csv` atomically from the whole history."""
    atomic_write_text(pathlib.Path(run_dir) / HISTORY_FILE, history_to_csv(history))
