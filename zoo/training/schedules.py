"""Learning-rate schedules: linear warmup, then cosine decay.

    lr(step) = peak * step / warmup_steps                      step < warmup_steps
             = min + (peak - min) * 0.5 * (1 + cos(pi * p))     warmup_steps <= step < total_steps
             = min                                              step >= total_steps
    where p = (step - warmup_steps) / (total_steps - warmup_steps)

`warmup_cosine` is the pure-Python reference (handy for plots and tests);
`WarmupCosineDecay` is the same formula in `keras.ops`, for optimizers.
"""

import math
import numbers

import keras
from keras import ops


def _validate(peak_learning_rate, warmup_steps, total_steps, min_learning_rate):
    """Raise ValueError naming the first bad argument."""
    if not peak_learning_rate > 0:
        raise ValueError(f"peak_learning_rate must be positive. Received: peak_learning_rate={peak_learning_rate}")
    for name, value in (("warmup_steps", warmup_steps), ("total_steps", total_steps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative int. Received: {name}={value!r}")
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1. Received: total_steps={total_steps}")
    if warmup_steps > total_steps:
        raise ValueError(
            f"warmup_steps must be <= total_steps. Received: warmup_steps={warmup_steps}, total_steps={total_steps}"
        )
    if not 0 <= min_learning_rate <= peak_learning_rate:
        raise ValueError(
            "min_learning_rate must be in [0, peak_learning_rate]. "
            f"Received: min_learning_rate={min_learning_rate}, "
            f"peak_learning_rate={peak_learning_rate}"
        )


def warmup_cosine(step, *, peak_learning_rate, warmup_steps, total_steps, min_learning_rate=0.0):
    """Learning rate at `step` (a Python/NumPy number): linear warmup, cosine decay.

    Args:
        step: optimizer step, counted from 0.
        peak_learning_rate: the rate reached at the end of warmup.
        warmup_steps: steps of linear warmup from 0 to the peak (0 for none).
        total_steps: step at which the cosine reaches `min_learning_rate`;
            the rate stays there afterwards.
        min_learning_rate: the floor of the decay.

    Returns:
        A Python float.
    """
    _validate(peak_learning_rate, warmup_steps, total_steps, min_learning_rate)
    step = float(step)
    if step < warmup_steps:
        return peak_learning_rate * step / warmup_steps
    if step >= total_steps:
        return float(min_learning_rate)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return min_learning_rate + (peak_learning_rate - min_learning_rate) * cosine


@keras.saving.register_keras_serializable(package="zoo")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak_learning_rate`, then cosine decay to `min_learning_rate`.

    Same formula as `warmup_cosine`, written in `keras.ops` so it runs inside
    compiled train steps on any backend.

    Args:
        peak_learning_rate: positive float, the rate at the end of warmup.
        warmup_steps: int >= 0, steps of linear warmup starting from 0.
        total_steps: int >= warmup_steps and >= 1; the rate is
            `min_learning_rate` from this step on.
        min_learning_rate: float in `[0, peak_learning_rate]`.
        name: optional name.

    Example:

    ```python
    schedule = WarmupCosineDecay(1e-3, warmup_steps=100, total_steps=10_000)
    model.compile(optimizer=keras.optimizers.AdamW(schedule), ...)
    ```
    """

    def __init__(self, peak_learning_rate, warmup_steps, total_steps, min_learning_rate=0.0, name=None):
        super().__init__()
        _validate(peak_learning_rate, warmup_steps, total_steps, min_learning_rate)
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.min_learning_rate = min_learning_rate
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        floor = ops.cast(self.min_learning_rate, "float32")
        warmup_steps = float(self.warmup_steps)
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))

        warmup = peak * step / max(warmup_steps, 1.0)
        progress = ops.clip((step - warmup_steps) / decay_steps, 0.0, 1.0)
        cosine = floor + (peak - floor) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        decayed = ops.where(step >= float(self.total_steps), floor, cosine)
        return ops.where(step < warmup_steps, warmup, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "min_learning_rate": self.min_learning_rate,
            "name": self.name,
        }
