"""Training callbacks.

`EpochLogger` prints one plain line per epoch, for logs that are not a
terminal (CI, `nohup`, files): Keras's progress bar writes carriage returns
there, which turn a log into one unreadable line.
"""

import sys
import time

import keras

_LEARNING_RATE_KEYS = ("learning_rate", "lr")


def format_metric(value):
    """Four decimals for ordinary magnitudes, scientific notation otherwise."""
    value = float(value)
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        return f"{value:.3e}"
    return f"{value:.4f}"


def ordered_logs(logs):
    """`logs` reordered: loss, other training metrics, val_loss, other val metrics.

    Keras reports metrics alphabetically (`accuracy` before `loss`); reading
    the loss first is easier. Ties keep their original order.
    """

    def rank(name):
        is_validation = name.startswith("val_")
        base = name[4:] if is_validation else name
        return (is_validation, base != "loss")

    return {name: logs[name] for name in sorted(logs, key=rank)}


def current_learning_rate(optimizer):
    """The optimizer's learning rate for its next step, as a float (None if unknown)."""
    if optimizer is None:
        return None
    try:
        # Keras 3 evaluates a schedule at `optimizer.iterations` here.
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return None


class EpochLogger(keras.callbacks.Callback):
    """Print one line per epoch and flush it at once.

    Example line:

        epoch 3/20  loss 0.1234  accuracy 0.9700  val_loss 0.2000  val_accuracy 0.9500  lr 9.5e-04  2.1s

    The epoch number is 1-based and counts epochs restored from a checkpoint.
    Metrics appear in the order Keras reports them; `lr` is the optimizer's
    learning rate for its next step (or the value a callback put in the logs).

    Args:
        stream: a text stream to write to; default `sys.stdout` at print time.
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        elapsed = time.perf_counter() - (self._epoch_start or time.perf_counter())
        parts = [f"epoch {epoch + 1}/{(self.params or {}).get('epochs', '?')}"]
        learning_rate = None
        for key in _LEARNING_RATE_KEYS:
            if key in logs:
                learning_rate = float(logs.pop(key))
        parts += [f"{name} {format_metric(value)}" for name, value in ordered_logs(logs).items()]
        if learning_rate is None:
            learning_rate = current_learning_rate(getattr(self.model, "optimizer", None))
        if learning_rate is not None:
            parts.append(f"lr {learning_rate:.1e}")
        parts.append(f"{elapsed:.1f}s")
        stream = self.stream if self.stream is not None else sys.stdout
        print("  ".join(parts), file=stream, flush=True)


class TrainingTimer(keras.callbacks.Callback):
    """Seconds spent in training epochs (validation excluded) and epochs run, for throughput.

    Example:
    >>> timer = TrainingTimer()
    >>> model.fit(..., callbacks=[timer])
    >>> examples_per_second = timer.epochs * num_examples / timer.seconds
    """

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self.epochs = 0
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_test_begin(self, logs=None):  # validation at the end of an epoch
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None

    def on_epoch_end(self, epoch, logs=None):
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None
        self.epochs += 1
