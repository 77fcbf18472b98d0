"""`fit`: Keras `model.fit` with crash-safe checkpoints and honest resume.

    history = fit(model, train_ds, epochs=20, run_dir="saved_models/vit",
                  validation_data=val_ds, resume=args.resume)

Every epoch end saves weights *and optimizer state* (see `checkpoint.py` for
the layout and why a SIGKILL at any instant leaves a loadable checkpoint).
`resume=True` continues from the last completed epoch; the returned history
holds every epoch of the run, restored and new.

What a resume does not restore: the position inside an epoch (a killed run
repeats its unfinished epoch from the start), the input pipeline's shuffle
state, and the internal state of user callbacks (e.g. EarlyStopping's
patience counter).
"""

import pathlib
import shutil
import sys

import keras

from zoo.training import checkpoint
from zoo.training.callbacks import EpochLogger

_FINAL_WEIGHTS = "final.weights.h5"


class InterruptedRunError(RuntimeError):
    """`run_dir` holds an unfinished run and `resume` was not requested."""


class _Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint and rewrites history.csv at every epoch end."""

    def __init__(self, run_dir, state):
        super().__init__()
        self.run_dir = run_dir
        self.state = state

    def on_epoch_end(self, epoch, logs=None):
        checkpoint.append_epoch(self.state.history, logs or {})
        self.state.completed_epochs = epoch + 1
        weights_name = f"epoch-{epoch + 1:04d}.weights.h5"
        checkpoint.save_checkpoint(self.model, self.run_dir, self.state, weights_name)
        checkpoint.write_history_csv(self.state.history, self.run_dir)


def _stdout_is_tty():
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _say(message):
    print(message, flush=True)


def _check_model(model):
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(f"fit() needs a compiled model; call model.compile(...) first on {model.name!r}")
    if not model.built:
        raise ValueError(
            f"fit() needs a built model so it can save and restore weights; "
            f"model {model.name!r} is not built (call it on a batch or use keras.Input)"
        )


def _check_epochs(epochs):
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int. Received: epochs={epochs!r}")


def _start_state(model, run_dir, epochs, resume):
    """The `RunState` to continue from: restored, or fresh (clearing old files)."""
    state = checkpoint.read_state(run_dir)
    if resume and state is not None:
        checkpoint.restore_checkpoint(model, run_dir, state)
        return state
    if resume:
        _say(f"no checkpoint in {run_dir}; starting from scratch")
    elif state is not None and not state.finished:
        raise InterruptedRunError(
            f"run_dir {run_dir} holds an interrupted run ({state.describe()}); "
            "pass --resume to continue it, or choose another --out"
        )
    # A fresh start: a finished previous run is replaced, not appended to.
    shutil.rmtree(checkpoint.checkpoint_dir(run_dir), ignore_errors=True)
    (pathlib.Path(run_dir) / checkpoint.HISTORY_FILE).unlink(missing_ok=True)
    return checkpoint.RunState(completed_epochs=0, epochs=epochs)


def _split_data(train_data):
    """`model.fit` keywords for `train_data`.

    `(x, y)` / `(x, y, sample_weight)` tuples of arrays are split and shuffled
    each epoch; a `tf.data.Dataset` is used as is (it shuffles itself, and
    Keras warns when asked to shuffle one).
    """
    if isinstance(train_data, tuple) and len(train_data) in (2, 3):
        return dict(zip(("x", "y", "sample_weight"), train_data), shuffle=True)
    tensorflow = sys.modules.get("tensorflow")
    is_dataset = tensorflow is not None and isinstance(train_data, tensorflow.data.Dataset)
    return {"x": train_data, "shuffle": not is_dataset}


def fit(
    model,
    train_data,
    *,
    epochs,
    run_dir,
    validation_data=None,
    resume=False,
    callbacks=(),
    steps_per_epoch=None,
    validation_steps=None,
):
    """Train a compiled `model` for `epochs`, checkpointing into `run_dir`.

    Args:
        model: a compiled, built Keras model.
        train_data: a `tf.data.Dataset` (or anything `model.fit` takes as
            `x`), or an `(x, y)` / `(x, y, sample_weight)` tuple of arrays.
        epochs: total epochs of the run, counting any already completed.
        run_dir: run directory; checkpoints go to `run_dir/checkpoints/`,
            the per-epoch metrics to `run_dir/history.csv`.
        validation_data: passed to `model.fit`.
        resume: continue the run saved in `run_dir` (from scratch when there
            is none). Without it, an unfinished run there is an error and a
            finished one is replaced.
        callbacks: extra Keras callbacks; they run before the checkpoint.
        steps_per_epoch, validation_steps: passed to `model.fit`.

    Returns:
        The run's whole history: metric name -> one float per epoch.

    Raises:
        InterruptedRunError: `run_dir` holds an unfinished run, `resume=False`.
    """
    _check_epochs(epochs)
    _check_model(model)
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = _start_state(model, run_dir, epochs, resume)
    if state.finished or state.completed_epochs >= epochs:
        _say(f"run in {run_dir} already finished ({state.describe()}); nothing to train")
        if not state.finished:
            state.finished = True
            checkpoint.write_state(run_dir, state)
        checkpoint.write_history_csv(state.history, run_dir)
        return state.history
    if state.completed_epochs:
        _say(f"resuming {run_dir} after epoch {state.completed_epochs} of {epochs}")
    state.epochs = epochs

    tty = _stdout_is_tty()
    all_callbacks = [*callbacks, _Checkpointer(run_dir, state)]
    if not tty:
        all_callbacks.append(EpochLogger())
    model.fit(
        **_split_data(train_data),
        epochs=epochs,
        initial_epoch=state.completed_epochs,
        validation_data=validation_data,
        callbacks=all_callbacks,
        steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps,
        verbose=1 if tty else 0,
    )
    # Save again after fit returns: callbacks such as EarlyStopping may have
    # restored other weights at the end of training.
    state.finished = True
    checkpoint.save_checkpoint(model, run_dir, state, _FINAL_WEIGHTS)
    return state.history
