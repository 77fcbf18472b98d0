"""What the generative task models share: compiled, cached generation functions per settings."""

import keras
import numpy as np

from zoo.generation import get_sampler
from zoo.models.task import check_integer


class CompiledGenerators:
    """Generation functions per (max_length, sampler, ...) settings, compiled once on TensorFlow.

    Kept outside Keras/TensorFlow tracking (a plain holder), so exports of
    the model ignore these functions.

    Args:
        make_run: `(max_length, sampler, num_beams, length_penalty) -> run`,
            where `sampler` is `"beam"` or a `Sampler` object and `run`
            takes the model's id inputs and returns generated ids.
    """

    def __init__(self, make_run):
        self._make_run = make_run
        self._functions = {}

    def get(self, max_length, sampler, num_beams, length_penalty, seed, sampler_args):
        """The function for these settings; a random sampler's seed is reset to `seed` on every call."""
        key = (
            max_length,
            sampler if isinstance(sampler, str) else id(sampler),
            num_beams,
            length_penalty,
            tuple(sorted(sampler_args.items())),
        )
        if key not in self._functions:
            if sampler == "beam":
                chosen = "beam"
            else:
                chosen = get_sampler(sampler, seed=seed, **sampler_args) if isinstance(sampler, str) else sampler
            run = self._make_run(max_length, chosen, num_beams, length_penalty)
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                run = tf.function(run, reduce_retracing=True)
            self._functions[key] = (run, chosen)
        run, chosen = self._functions[key]
        if chosen != "beam":
            chosen.reset(seed)
        return run


def is_text_batch(inputs):
    """Whether `inputs` is text (a string, a list/tuple or a 1-D array of them) rather than a dict of ids.

    Raises a `ValueError` for an empty batch and for anything else (e.g.
    `None`, a number, a 2-D array); `zoo.models.task.checked_texts` then
    checks each text.
    """
    if isinstance(inputs, dict):
        return False
    if isinstance(inputs, (str, bytes)):
        return True
    if isinstance(inputs, (list, tuple)) or (isinstance(inputs, np.ndarray) and inputs.ndim == 1):
        if len(inputs) == 0:
            raise ValueError("generate() got an empty list of inputs; expected strings")
        return True
    shape = f" of shape {inputs.shape}" if isinstance(inputs, np.ndarray) else ""
    raise ValueError(
        "generate() takes a string, a list of strings or a dict of token ids; "
        f"received a {type(inputs).__name__}{shape}"
    )


def check_generate_settings(max_length, sampler, num_beams):
    """Clear errors for settings that would otherwise fail inside the compiled loop."""
    if max_length is not None:
        check_integer("max_length", max_length, minimum=2)
    if sampler == "beam":
        check_integer("num_beams", num_beams)

