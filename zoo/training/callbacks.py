"""Training callbacks.

`EpochLogger` prints one plain line per epoch, for logs that are not a
terminal (CI, `nohup`, files): Keras's progress bar writes carriage returns
there, which turn a log into one unreadable line. `ProgressLogger` adds a
line about once a minute inside long epochs there, so a log never stays
silent for the length of an epoch.
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


def format_duration(seconds):
    """`45s`, `13m20s` or `2h05m`: a duration rounded to the second (to the minute past an hour)."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressLogger(keras.callbacks.Callback):
    """A line about every `interval` seconds inside an epoch, for logs that are not a terminal.

    Example line (`steps` known, `examples_per_step` given):

        step 1200/5400  loss 2.3141  312 examples/s  ETA 13m20s

    `loss` is the epoch's running mean as Keras reports it (left out when
    the batch logs have none). The rate is measured from the end of the
    epoch's first step, which includes tracing, and it is examples/s when
    `examples_per_step` is known, steps/s otherwise. The ETA is for the rest
    of this epoch's training steps (validation excluded), shown when the
    number of steps is known. No line is printed for an epoch's last step:
    the epoch line follows at once.

    Args:
        interval: seconds between lines, counted from the epoch's start; 0
            prints a line after every step.
        examples_per_step: examples in one (global) batch, or None.
        stream: a text stream to write to; default `sys.stdout` at print time.
        clock: a function returning seconds (default `time.monotonic`);
            tests inject a fake one.

    Raises:
        ValueError: `interval` is negative or `examples_per_step` is not a
            positive int.
    """

    def __init__(self, interval=60.0, examples_per_step=None, stream=None, clock=time.monotonic):
        super().__init__()
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"interval must be a number of seconds >= 0. Received: interval={interval!r}")
        count = examples_per_step
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(
                f"examples_per_step must be a positive int or None. Received: examples_per_step={examples_per_step!r}"
            )
        self.interval = interval
        self.examples_per_step = examples_per_step
        self.stream = stream
        self.clock = clock
        self._last_line = None  # when the last line (or the epoch) started the interval
        self._origin = None  # (time, steps done) the rate is measured from
        self._printed_step = 0

    def on_epoch_begin(self, epoch, logs=None):
        now = self.clock()
        self._last_line = now
        self._origin = (now, 0)
        self._printed_step = 0

    def on_train_batch_end(self, batch, logs=None):
        if self._origin is None:  # called outside an epoch
            return
        now, done = self.clock(), batch + 1
        if done == 1:  # the first step traces the train function: the rate starts at its end
            self._origin = (now, 1)
        steps = (self.params or {}).get("steps")
        if done <= self._printed_step or (steps is not None and done >= steps):
            return
        if now - self._last_line < self.interval:
            return
        self._last_line, self._printed_step = now, done
        line = self._line(done, steps, now, logs or {})
        print(line, file=self.stream or sys.stdout, flush=True)

    def _line(self, done, steps, now, logs):
        parts = [f"step {done}/{steps}" if steps is not None else f"step {done}"]
        if "loss" in logs:
            parts.append(f"loss {format_metric(logs['loss'])}")
        origin_time, origin_step = self._origin
        if done > origin_step and now > origin_time:
            steps_per_second = (done - origin_step) / (now - origin_time)
            if self.examples_per_step is not None:
                parts.append(f"{steps_per_second * self.examples_per_step:.0f} examples/s")
            else:
                parts.append(f"{steps_per_second:.2f} steps/s")
            if steps is not None:
                parts.append(f"ETA {format_duration((steps - done) / steps_per_second)}")
        return "  " + "  ".join(parts)


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
