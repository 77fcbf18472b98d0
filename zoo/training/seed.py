"""Seeding for reproducible runs."""

import keras


def set_seed(seed):
    """Seed Python's `random`, NumPy and the Keras backend (TensorFlow) at once.

    Args:
        seed: a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int. Received: seed={seed!r}")
    keras.utils.set_random_seed(seed)
