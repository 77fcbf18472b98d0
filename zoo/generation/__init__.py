"""Autoregressive generation: samplers and fixed-shape cached decoding loops.

One implementation serves every generative model (sequence-to-sequence and
decoder-only): a model provides `next_fn(token_ids, cache, index)` and the
loops here do the rest.
"""

from zoo.generation.loop import beam_search, sample_loop
from zoo.generation.samplers import (
    SAMPLERS,
    GreedySampler,
    RandomSampler,
    Sampler,
    TopKSampler,
    TopPSampler,
    get_sampler,
)

__all__ = [
    "SAMPLERS",
    "GreedySampler",
    "RandomSampler",
    "Sampler",
    "TopKSampler",
    "TopPSampler",
    "beam_search",
    "get_sampler",
    "sample_loop",
]
