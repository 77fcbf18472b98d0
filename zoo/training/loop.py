"""`fit`: Keras `model.fit` with crash-safe checkpoints and honest resume.

    history = fit(model, train_ds, epochs=20, run_dir="saved_models/vit",
                  validation_data=val_ds, resume=args.resume)

Under `tf.distribute.MultiWorkerMirroredStrategy`, where Keras 3.15's
`model.fit` fails (keras-team/keras#20585), `fit` runs its own loop instead
(`loop="auto"`): each step is `strategy.run(model.train_step, ...)` on a
distributed dataset, so the loss, its per-replica scaling, the gradient
all-reduce and the metrics are Keras's own; the chief alone writes the
checkpoints, and every worker resumes from them. `loop="custom"` forces
that loop under any strategy (the tests compare it with `model.fit`).

Every epoch end saves weights *and optimizer state* (see `checkpoint.py` for
the layout and why a SIGKILL at any instant leaves a loadable checkpoint).
`resume=True` continues from the last completed epoch; the returned history
holds every epoch of the run, restored and new.

What a resume does not restore: the position inside an epoch (a killed run
repeats its unfinished epoch from the start), the input pipeline's shuffle
state, and the internal state of user callbacks (e.g. EarlyStopping's
patience counter).
"""

import contextlib
import itertools
import pathlib
import shutil
import sys

import keras

from zoo._keras_compat import symbolic_build
from zoo.errors import ZooUserError
from zoo.training import checkpoint, distribute
from zoo.training.callbacks import EpochLogger, ProgressLogger

_FINAL_WEIGHTS = "final.weights.h5"


class InterruptedRunError(RuntimeError, ZooUserError):
    """`run_dir` holds an unfinished run and `resume` was not requested."""


class _Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint and rewrites history.csv at every epoch end."""

    def __init__(self, run_dir, state, writes=True):
        super().__init__()
        self.run_dir = run_dir
        self.state = state
        self.writes = writes  # False on multi-worker processes other than the chief

    def on_epoch_end(self, epoch, logs=None):
        checkpoint.append_epoch(self.state.history, logs or {})
        self.state.completed_epochs = epoch + 1
        if not self.writes:
            return
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


def _start_state(model, run_dir, epochs, resume, writes=True):
    """The `RunState` to continue from: restored, or fresh (clearing old files unless `writes` is False)."""
    try:
        state = checkpoint.read_state(run_dir)
    except (FileNotFoundError, ValueError):
        if writes or resume:
            raise
        state = None  # the chief is replacing a finished run's files right now
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
    if not writes:
        return checkpoint.RunState(completed_epochs=0, epochs=epochs)
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


_LOOPS = ("auto", "keras", "custom")


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
    strategy=None,
    loop="auto",
    progress_interval=60.0,
    examples_per_step=None,
):
    """Train a compiled `model` for `epochs`, checkpointing into `run_dir`.

    Args:
        model: a compiled, built Keras model (built and compiled inside
            `strategy.scope()` when a strategy is given).
        train_data: a `tf.data.Dataset` (or anything `model.fit` takes as
            `x`), or an `(x, y)` / `(x, y, sample_weight)` tuple of arrays.
            Under a distribution strategy its batches are global batches.
        epochs: total epochs of the run, counting any already completed.
        run_dir: run directory; checkpoints go to `run_dir/checkpoints/`,
            the per-epoch metrics to `run_dir/history.csv`. In a multi-worker
            run every worker must see the chief's `run_dir` (a shared
            filesystem) to resume.
        validation_data: passed to `model.fit` (a dataset, or an `(x, y)`
            tuple, under zoo's own loop).
        resume: continue the run saved in `run_dir` (from scratch when there
            is none). Without it, an unfinished run there is an error and a
            finished one is replaced.
        callbacks: extra Keras callbacks; they run before the checkpoint.
        steps_per_epoch, validation_steps: passed to `model.fit`.
        strategy: the `tf.distribute.Strategy` the model was built under
            (see `zoo.training.distribute.make_strategy`); None for none.
        loop: "auto" (Keras `model.fit`, or zoo's own loop under
            `MultiWorkerMirroredStrategy`), "keras" or "custom".
        progress_interval: when stdout is not a terminal, seconds between
            the progress lines printed inside an epoch (`ProgressLogger`);
            None for none. A terminal shows Keras's progress bar instead.
        examples_per_step: examples in one (global) batch of `train_data`,
            for the progress lines' examples/s; None takes Keras's batch
            of 32 for arrays, or a dataset's static batch size (steps/s
            when it has none).

    Returns:
        The run's whole history: metric name -> one float per epoch.

    Raises:
        InterruptedRunError: `run_dir` holds an unfinished run, `resume=False`.
    """
    _check_epochs(epochs)
    _check_model(model)
    if loop not in _LOOPS:
        raise ValueError(f"loop must be one of {_LOOPS}. Received: loop={loop!r}")
    custom = loop == "custom" or (loop == "auto" and distribute.is_multi_worker(strategy))
    writes = distribute.is_chief(strategy)
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        state = _start_state(model, run_dir, epochs, resume, writes)  # builds the optimizer
    if state.finished or state.completed_epochs >= epochs:
        _say(f"run in {run_dir} already finished ({state.describe()}); nothing to train")
        if writes:
            if not state.finished:
                state.finished = True
                checkpoint.write_state(run_dir, state)
            checkpoint.write_history_csv(state.history, run_dir)
        return state.history
    if state.completed_epochs:
        _say(f"resuming {run_dir} after epoch {state.completed_epochs} of {epochs}")
    state.epochs = epochs

    tty = _stdout_is_tty() and not custom
    all_callbacks = [*callbacks, _Checkpointer(run_dir, state, writes)]
    if not tty:
        if progress_interval is not None:
            examples_per_step = examples_per_step or _examples_per_step(train_data)
            all_callbacks.append(ProgressLogger(progress_interval, examples_per_step))
        all_callbacks.append(EpochLogger())
    if custom:
        _custom_fit(
            model,
            train_data,
            strategy=strategy or _tensorflow().distribute.get_strategy(),
            epochs=epochs,
            initial_epoch=state.completed_epochs,
            validation_data=validation_data,
            callbacks=all_callbacks,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
        )
    else:
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
    # Save again after training: callbacks such as EarlyStopping may have
    # restored other weights at the end of training.
    state.finished = True
    if writes:
        checkpoint.save_checkpoint(model, run_dir, state, _FINAL_WEIGHTS)
    return state.history


def _examples_per_step(train_data):
    """Examples in one batch of `train_data` when it says so itself, else None."""
    if isinstance(train_data, tuple) and len(train_data) in (2, 3):
        return min(32, len(train_data[0])) or None  # model.fit's default batch_size
    element_spec = getattr(train_data, "element_spec", None)
    shapes = [spec.shape for spec in _tensorflow().nest.flatten(element_spec) if hasattr(spec, "shape")]
    sizes = {shape[0] for shape in shapes if shape.rank}
    return sizes.pop() if len(sizes) == 1 and None not in sizes else None


def _tensorflow():
    import tensorflow as tf

    return tf


def _as_dataset(data, batch_size=32, shuffle=False, seed=None):
    """`data` as a batched `tf.data.Dataset` (tuples of arrays are batched like `model.fit` does)."""
    tf = _tensorflow()
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, tuple) and len(data) in (2, 3):
        dataset = tf.data.Dataset.from_tensor_slices(data)
        if shuffle:
            dataset = dataset.shuffle(len(data[0]), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size)
    raise TypeError(
        "zoo's distributed loop needs a tf.data.Dataset or an (x, y[, sample_weight]) tuple of arrays. "
        f"Received: {type(data).__name__}"
    )


def _metric_logs(model, prefix=""):
    """The model's loss and compiled metrics, aggregated over every replica and worker."""
    return {prefix + name: float(value) for name, value in model.get_metrics_result().items()}


def _custom_fit(
    model, train_data, *, strategy, epochs, initial_epoch, validation_data, callbacks, steps_per_epoch, validation_steps
):
    """Keras's train/test steps under `strategy.run`, one epoch after another.

    Each step runs `model.train_step` on every replica: the compiled loss
    (divided by the number of replicas, as Keras does), the gradient
    all-reduce inside the optimizer, and the metric updates are exactly those
    of `model.fit`. Metrics are read in cross-replica context, so they are
    summed over all replicas and workers before the division.
    """
    tf = _tensorflow()
    # Arrays are shuffled with a fixed seed: every worker must see the same order.
    train_dataset = _as_dataset(train_data, shuffle=True, seed=0)
    train = strategy.experimental_distribute_dataset(train_dataset)
    validation = None
    if validation_data is not None:
        validation = strategy.experimental_distribute_dataset(_as_dataset(validation_data))

    @tf.function(reduce_retracing=True)
    def train_step(batch):
        # The first local replica's metrics, read in replica context: no collective op, so a
        # callback may read them on one worker alone (e.g. ProgressLogger's loss).
        logs = strategy.run(model.train_step, args=(batch,))
        return tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], logs)

    @tf.function(reduce_retracing=True)
    def test_step(batch):
        strategy.run(model.test_step, args=(batch,))

    steps = steps_per_epoch
    if steps is None and int(train_dataset.cardinality()) >= 0:  # finite and known
        steps = int(train_dataset.cardinality())
    callback_list = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=False,
        add_progbar=False,
        model=model,
        epochs=epochs,
        steps=steps,
        verbose=0,
    )
    # Variables are created in cross-replica context, before the first step, as model.fit does:
    # one symbolic pass builds the compiled loss and metrics' state, then the optimizer's slots.
    with strategy.scope():
        symbolic_build(model, train_dataset.element_spec)
    model.stop_training = False
    logs = {}
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for step, batch in enumerate(itertools.islice(train, steps_per_epoch)):
            callback_list.on_train_batch_begin(step)
            step_logs = train_step(batch)
            callback_list.on_train_batch_end(step, step_logs)
        logs = _metric_logs(model)
        if validation is not None:
            model.reset_metrics()
            callback_list.on_test_begin()
            for batch in itertools.islice(validation, validation_steps):
                test_step(batch)
            logs.update(_metric_logs(model, prefix="val_"))
            callback_list.on_test_end()
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
