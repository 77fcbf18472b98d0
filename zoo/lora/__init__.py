"""LoRA (Hu et al. 2021): a frozen model's projections plus trainable low-rank updates, found by path.

    model.enable_lora(rank=8, targets=("query", "value"))  # the `Task` methods call the functions here
    model.fit(...)                  # trains A and B of each target (and the task's head)
    model.save_lora("sentiment.lora")   # the adapter only, with the base model's identity
    model.merge_lora()              # W + (alpha / rank) A B written into the kernels: a plain model again

Each target projection `W` (`D_in -> D_out`, its kernel flattened to a
matrix) gets `A` `(D_in, rank)` (He-uniform) and `B` `(rank, D_out)`
(zeros, so enabling changes no output); the layer computes
`W x + (alpha / rank) B^T A^T x`. Targets are projection names or fnmatch
patterns over projection paths (`zoo.compress.projections`' paths): a bare
name matches the last part of a path (`"query"`, `"key"`, `"value"`,
`"attention_output"`; the feed-forward `"intermediate"`, `"gate"`,
`"output"`; the token table `"token_embedding"`), a pattern the whole path
(`"decoder_*/cross_attention/*"`). It works on `Dense`, `EinsumDense`,
`Embedding` and zoo's `LowRankDense` projections.

Why not Keras 3.15's own `enable_lora`: on an `EinsumDense` of kernel `(D, heads,
head_dim)` it factorizes per head (`A` `(D, heads, rank)`), 6x the
parameters of the paper's LoRA at MiniLM's sizes and not the matrix update
other libraries' adapters hold; it does not cover `LowRankDense`; and its
`.keras` saving writes the merged kernel and zeroes `A` and `B` on load, so a
reloaded model has lost its adapter and, with both factors zero, cannot train
it again. Here the adapter is its own layer (`LoRAAdapter`) around the
untouched projection, and a task's config records the LoRA settings, so
`.keras` files round-trip with the adapter still active.
"""

from zoo.lora.files import config_hash, load, save
from zoo.lora.merging import merge, merged, merged_during
from zoo.lora.sites import (
    ADAPTER_FORMAT,
    DEFAULT_TARGETS,
    LoRAState,
    Site,
    enable,
    head_variables,
    lora_state,
    projection_sites,
    select_sites,
    trainable_share,
)

__all__ = [
    "ADAPTER_FORMAT",
    "DEFAULT_TARGETS",
    "LoRAState",
    "Site",
    "config_hash",
    "enable",
    "head_variables",
    "load",
    "lora_state",
    "merge",
    "merged",
    "merged_during",
    "projection_sites",
    "save",
    "select_sites",
    "trainable_share",
]
