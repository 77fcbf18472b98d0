"""Merging LoRA updates into the projections: for good (`merge`) or for the length of an export (`merged`)."""

import contextlib
import functools

import keras
import numpy as np

from zoo._keras_compat import replace_sublayer
from zoo.layers import LowRankDense
from zoo.lora.sites import checked_state, lora_state, name_scopes, projection_sites, reset_compiled_functions


def _merged_layer(adapter):
    """`(layer, undo)`: a plain layer computing what `adapter` does, and how to put the base back as it was.

    A dense, einsum or embedding kernel takes the update in place; a
    `LowRankDense` `U V` becomes a new one of rank `rank + lora_rank`,
    `[U | s A] [V; B]` (exact: the sum of two rank-limited products).
    """
    base, delta = adapter.layer, adapter.delta()
    if isinstance(base, LowRankDense):
        merged = LowRankDense.from_config({**base.get_config(), "rank": base.rank + adapter.rank})
        path = base.u_kernel.path.rsplit("/", 2)[0]
        with name_scopes(path):
            merged.build((1,) * base.input_axes + (base.u_kernel.shape[0],))  # trailing axes multiply to D_in
        scale = np.float32(adapter.scale)
        u = np.concatenate([keras.ops.convert_to_numpy(base.u_kernel), scale * _numpy(adapter.lora_a)], axis=1)
        v = np.concatenate([keras.ops.convert_to_numpy(base.v_kernel), _numpy(adapter.lora_b)], axis=0)
        merged.u_kernel.assign(u)
        merged.v_kernel.assign(v)
        if base.bias is not None:
            merged.bias.assign(base.bias)
        return merged, lambda: None
    kernel = base.embeddings if isinstance(base, keras.layers.Embedding) else base.kernel
    original = keras.ops.convert_to_numpy(kernel)
    kernel.assign(original + delta.reshape(original.shape).astype(original.dtype))
    return base, lambda: kernel.assign(original)


def _numpy(variable):
    return keras.ops.convert_to_numpy(variable)


def _swap(model, old, new):
    """Put the projection `new` wherever `old` is now (every parent of its site)."""
    for site in projection_sites(model).values():
        if site.layer is old:
            for parent, attribute in site.parents:
                replace_sublayer(parent, attribute, old, new)


def merge(model):
    """Write every update into its projection and remove the adapters: a plain model again (in place).

    Outputs equal the LoRA model's within float rounding; the variables
    `enable` froze are trainable again; `get_config` no longer carries
    LoRA, and a merged `LowRankDense` projection's higher rank is written
    into the backbone's `low_rank` (its exact path), so the model saves,
    loads and exports as an ordinary one.

    Raises:
        ValueError: LoRA is not enabled.
    """
    state = checked_state(model)
    for path, adapter in state.adapters.items():
        merged, _ = _merged_layer(adapter)
        if merged is not adapter.layer:  # a LowRankDense of a higher rank: the config says so
            low_rank = {key: value for key, value in (model.backbone.low_rank or {}).items() if key != path}
            model.backbone.low_rank = {**low_rank, path: merged.rank}
        _swap(model, adapter, merged)
    for variable in state.frozen:
        variable.trainable = True
    model._lora_state = None
    reset_compiled_functions(model)


@contextlib.contextmanager
def merged(model):
    """Within the block `model` is merged (`merge`); after it, exactly as before (kernels restored, adapters back).

    How exports write a LoRA model: plain projections in the graph, no
    copy of the model. Does nothing for a model without LoRA.
    """
    state = lora_state(model)
    if state is None:
        yield model
        return
    undo = []
    try:
        for adapter in state.adapters.values():
            layer, restore = _merged_layer(adapter)
            _swap(model, adapter, layer)
            undo.append((adapter, layer, restore))
        reset_compiled_functions(model)
        yield model
    finally:
        for adapter, layer, restore in reversed(undo):
            restore()
            _swap(model, layer, adapter)
        reset_compiled_functions(model)


def merged_during(function):
    """Decorate an export function `f(model, ...)` so it sees `model` merged (see `merged`)."""

    @functools.wraps(function)
    def wrapper(model, *args, **kwargs):
        with merged(model):
            return function(model, *args, **kwargs)

    return wrapper
