"""Token samplers: how the next token is picked from the model's logits.

A sampler maps logits `(B, V)` to token ids `(B,)`. Random samplers draw
from a `keras.random.SeedGenerator`, so a run is reproducible for a seed
(`reset(seed)` before each generation) and works inside a compiled loop.
Beam search is not a per-step choice; it has its own loop
(`zoo.generation.beam_search`) and is selected with `sampler="beam"`.
"""

import keras
import numpy as np
from keras import ops

SAMPLERS = ("greedy", "top_k", "top_p", "random", "beam")


def argmax(logits):
    """Index of the largest logit per row (lowest index on ties).

    `ops.top_k` rather than `ops.argmax`: on TensorFlow, Keras's float argmax
    adds a sign-bit test (BitwiseAnd) that TFLite's runtime lacks, which
    would break on-device decoding loops.
    """
    return ops.top_k(logits, k=1)[1][..., 0]


class Sampler:
    """Base class: `__call__(logits) -> token ids`, temperature applied first.

    Args:
        temperature: float > 0; below 1 sharpens, above 1 flattens the
            distribution (greedy decoding ignores it).
        seed: int, seed of the random draws.
    """

    def __init__(self, temperature=1.0, seed=None):
        if not temperature > 0:
            raise ValueError(f"temperature must be positive. Received: temperature={temperature}")
        self.temperature = temperature
        self.seed = seed
        # Random samplers draw from this; greedy decoding has none, so it
        # can be built inside a traced function (a SavedModel signature).
        self.seed_generator = keras.random.SeedGenerator(0 if seed is None else seed) if self.random else None

    random = True

    def reset(self, seed=None):
        """Restart the random stream at `seed` (default: the constructor's; if neither, a fresh random one).

        Assigns the existing generator's state, so compiled loops that
        captured it see the new stream.
        """
        if self.seed_generator is None:
            return
        seed = self.seed if seed is None else seed
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        fresh = keras.random.SeedGenerator(seed)
        self.seed_generator.state.assign(fresh.state.value)

    def __call__(self, logits):
        logits = ops.cast(logits, "float32") / self.temperature
        return ops.cast(self.sample(logits), "int32")

    def sample(self, logits):
        raise NotImplementedError

    def _draw(self, logits):
        """One categorical draw per row of (already masked) `logits` `(B, V)`."""
        return keras.random.categorical(logits, 1, seed=self.seed_generator)[:, 0]


class GreedySampler(Sampler):
    """The most likely token."""

    random = False

    def sample(self, logits):
        return argmax(logits)


class RandomSampler(Sampler):
    """A draw from the whole softmax distribution (with temperature)."""

    def sample(self, logits):
        return self._draw(logits)


class TopKSampler(Sampler):
    """A draw among the `k` most likely tokens (Fan et al. 2018)."""

    def __init__(self, k=10, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer. Received: k={k!r}")
        self.k = k

    def sample(self, logits):
        k = min(self.k, logits.shape[-1])
        top_logits, top_indices = ops.top_k(logits, k=k)  # (B, k)
        choice = self._draw(top_logits)  # index into the top k
        return ops.take_along_axis(top_indices, ops.expand_dims(choice, -1), axis=-1)[:, 0]


class TopPSampler(Sampler):
    """Nucleus sampling (Holtzman et al. 2020): a draw among the fewest tokens whose probability reaches `p`."""

    def __init__(self, p=0.9, **kwargs):
        super().__init__(**kwargs)
        if not 0 < p <= 1:
            raise ValueError(f"p must be in (0, 1]. Received: p={p}")
        self.p = p

    def sample(self, logits):
        sorted_logits, sorted_indices = ops.top_k(logits, k=logits.shape[-1])  # descending
        probabilities = ops.softmax(sorted_logits, axis=-1)
        before = ops.cumsum(probabilities, axis=-1) - probabilities  # mass of the more likely tokens
        keep = before < self.p  # always keeps the most likely token
        choice = self._draw(ops.where(keep, sorted_logits, -1e9))
        return ops.take_along_axis(sorted_indices, ops.expand_dims(choice, -1), axis=-1)[:, 0]


def get_sampler(sampler="greedy", **kwargs):
    """A `Sampler` from a name (`greedy`, `top_k`, `top_p`, `random`) and its arguments, or as given."""
    if isinstance(sampler, Sampler):
        if kwargs:
            raise ValueError(f"sampler arguments {sorted(kwargs)} given with a Sampler instance; set them on it")
        return sampler
    classes = {"greedy": GreedySampler, "top_k": TopKSampler, "top_p": TopPSampler, "random": RandomSampler}
    if sampler not in classes:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS} or a Sampler")
    if sampler == "greedy":
        kwargs.pop("temperature", None)
        kwargs.pop("seed", None)
    try:
        return classes[sampler](**kwargs)
    except TypeError as error:
        raise ValueError(f"bad arguments for sampler {sampler!r}: {error}") from None
