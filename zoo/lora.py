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

import contextlib
import dataclasses
import fnmatch
import functools
import hashlib
import json
import os
import pathlib

import keras
import numpy as np

from zoo._keras_compat import replace_sublayer, sublayers
from zoo.layers import FeedForward, LowRankDense, MultiHeadAttention, TokenAndPositionEmbedding
from zoo.layers.lora import LoRAAdapter

ADAPTER_FORMAT = "zoo-lora/1"

DEFAULT_TARGETS = ("query", "value")
# (attribute, name) of the projections of each layer type that can carry an adapter.
_PROJECTION_ATTRIBUTES = (
    (MultiHeadAttention, ("query_dense", "key_dense", "value_dense", "output_dense")),
    (FeedForward, ("intermediate_dense", "gate_dense", "output_dense")),
    (TokenAndPositionEmbedding, ("token_embedding",)),
)


@dataclasses.dataclass
class Site:
    """One projection that can carry an adapter: its path, the layer there now, and `(parent, attribute)`s."""

    path: str
    layer: keras.layers.Layer
    parents: list

    @property
    def base(self):
        return self.layer.layer if isinstance(self.layer, LoRAAdapter) else self.layer


@dataclasses.dataclass
class LoRAState:
    """What `enable_lora` did to a model: its settings, adapters by path, and the variables it froze."""

    rank: int
    alpha: float
    targets: tuple
    train_head: bool
    adapters: dict  # path -> LoRAAdapter
    frozen: list  # the variables enable_lora made non-trainable

    def config(self):
        return {"rank": self.rank, "alpha": self.alpha, "targets": list(self.targets), "train_head": self.train_head}


def projection_sites(model):
    """`{path: Site}` for every projection of `model` that LoRA can target, in model order.

    Paths are the projections' weight paths (`"encoder_0/self_attention/query"`,
    `"decoder_1/feedforward/output"`, `"embedding/token_embedding"`), as in
    `zoo.compress.projections` and `low_rank`. A token table shared by two
    embeddings (a `Seq2SeqLM` with `share_token_embeddings`) is one site
    with two parents.
    """
    sites = {}
    for parent in sublayers(model):
        attributes = next((names for kind, names in _PROJECTION_ATTRIBUTES if isinstance(parent, kind)), ())
        for attribute in attributes:
            layer = getattr(parent, attribute, None)
            if layer is None:
                continue
            base = layer.layer if isinstance(layer, LoRAAdapter) else layer
            path = base.weights[0].path.rsplit("/", 1)[0]
            sites.setdefault(path, Site(path, layer, [])).parents.append((parent, attribute))
    return sites


def _matches(path, target):
    if any(character in target for character in "*?[/"):
        return fnmatch.fnmatchcase(path, target)
    return path.rsplit("/", 1)[-1] == target


def select_sites(model, targets):
    """The sites the `targets` (names or path patterns) select; every target must select one."""
    if isinstance(targets, str) or not targets or not all(isinstance(t, str) for t in targets):
        raise ValueError(
            f"targets must be a non-empty list of projection names or path patterns. Received: {targets!r}"
        )
    sites = projection_sites(model)
    names = sorted({path.rsplit("/", 1)[-1] for path in sites})
    selected = {}
    for target in targets:
        matched = [path for path in sites if _matches(path, target)]
        if not matched:
            raise ValueError(
                f"LoRA target {target!r} matches no projection of {type(model).__name__}; "
                f"its projections are {names} (paths like {next(iter(sites), 'none')!r})"
            )
        selected.update({path: sites[path] for path in matched})
    backbone = getattr(model, "backbone", None)
    tied = [
        path for path in selected if path.endswith("token_embedding") and getattr(backbone, "tie_word_embeddings", 0)
    ]
    if tied:
        raise ValueError(
            f"LoRA on the token table {tied[0]!r} is not supported with tie_word_embeddings=True: the output "
            "projection reads the same table, and the update would reach the input lookup only"
        )
    return {path: selected[path] for path in sites if path in selected}  # model order


def head_variables(model):
    """The variables of a task's head: layers of the task that are not its backbone's."""
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        return []
    inside = {id(layer) for layer in backbone.layers}
    return [variable for layer in model.layers if id(layer) not in inside for variable in layer.weights]


def lora_state(model):
    """The model's `LoRAState`, or `None` when LoRA is not enabled."""
    return getattr(model, "_lora_state", None)


def enable(model, rank, targets=DEFAULT_TARGETS, alpha=None, train_head=True):
    """Freeze `model` and put a `LoRAAdapter` around each target projection (in place).

    Args:
        model: a built zoo task model.
        rank: int >= 1.
        targets: projection names or fnmatch path patterns (see the module).
        alpha: float, updates are scaled by `alpha / rank` (default `rank`: 1).
        train_head: bool, keep the task's head (the layers after the
            backbone: a classifier, an untied LM head) trainable.

    Raises:
        ValueError: LoRA already enabled, a bad rank, a target matching no
            projection, a tied token table, or a quantized projection.
    """
    if lora_state(model) is not None:
        raise ValueError(f"LoRA is already enabled on {model.name}; merge_lora() first to enable it again")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be a positive integer. Received: rank={rank!r}")
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0):
        raise ValueError(f"alpha must be a positive number. Received: alpha={alpha!r}")
    sites = select_sites(model, tuple(targets))
    keep = {id(v) for v in head_variables(model)} if train_head else set()
    frozen = [v for v in model.weights if v.trainable and id(v) not in keep]
    adapters = {}
    for path, site in sites.items():
        with _name_scopes(path.rsplit("/", 1)[0]):  # the adapter's weights sit next to the kernel's
            adapter = LoRAAdapter(site.layer, rank, alpha)
            adapter.build()
        for parent, attribute in site.parents:
            replace_sublayer(parent, attribute, site.layer, adapter)
        adapters[path] = adapter
    for variable in frozen:
        variable.trainable = False
    model._lora_state = LoRAState(
        rank, float(rank if alpha is None else alpha), tuple(targets), train_head, adapters, frozen
    )
    reset_compiled_functions(model)


@contextlib.contextmanager
def _name_scopes(path):
    with contextlib.ExitStack() as stack:
        for part in path.split("/"):
            stack.enter_context(keras.name_scope(part))
        yield


def reset_compiled_functions(model):
    """Drop the traced predict/train/evaluate and generate functions, which hold the old layers."""
    model.predict_function = model.train_function = model.test_function = None
    if hasattr(model, "compiled_generators"):
        model._compiled_generators = None


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
        with _name_scopes(path):
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
    state = _checked_state(model)
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


def _checked_state(model):
    state = lora_state(model)
    if state is None:
        raise ValueError(f"LoRA is not enabled on {model.name}; call enable_lora(rank, targets) first")
    return state


# Keys that name, place or build a layer but do not change what it computes: left out of the identity.
_IDENTITY_SKIPPED_KEYS = frozenset({"name", "trainable", "dtype", "build_config", "compile_config", "lora"})


def _without_skipped_keys(value):
    if isinstance(value, dict):
        return {k: _without_skipped_keys(v) for k, v in value.items() if k not in _IDENTITY_SKIPPED_KEYS}
    if isinstance(value, (list, tuple)):
        return [_without_skipped_keys(v) for v in value]
    return value


def config_hash(model):
    """SHA-256 of the model's config without names, dtypes or LoRA: the base model's identity."""
    config = _without_skipped_keys({"class": type(model).__name__, "config": model.get_config()})
    text = json.dumps(config, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save(model, path):
    """Write the adapter (A and B of each target, the trained head) and the base's identity to `path`.

    The file is an `.npz` archive (NumPy, no pickle): `"<path>/lora_a"`,
    `"<path>/lora_b"` per target, `"head/<weight path>"` per head weight
    when the head trains, and `"metadata"`: JSON with the format, the model
    class, `config_hash(model)`, rank, alpha, targets and the target paths.
    Written to a temporary file next to `path`, then renamed into place.

    Returns:
        the `pathlib.Path` written.
    """
    state = _checked_state(model)
    path = pathlib.Path(path)
    arrays = {}
    for target, adapter in state.adapters.items():
        arrays[f"{target}/lora_a"] = _numpy(adapter.lora_a)
        arrays[f"{target}/lora_b"] = _numpy(adapter.lora_b)
    if state.train_head:
        arrays.update({f"head/{variable.path}": _numpy(variable) for variable in head_variables(model)})
    metadata = {
        "format": ADAPTER_FORMAT,
        "model_class": type(model).__name__,
        "base_config_sha256": config_hash(model),
        **state.config(),
        "paths": list(state.adapters),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            np.savez(file, metadata=np.array(json.dumps(metadata)), **arrays)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def load(model, path):
    """Put the adapter saved at `path` onto `model` (enabling LoRA with its settings if needed).

    Raises:
        ValueError: not an adapter file, made for another base model (class
            or config hash), a target path or head weight the model lacks,
            a shape that differs, or LoRA enabled with other settings.
    """
    path = pathlib.Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        metadata = json.loads(str(arrays.pop("metadata")))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a zoo LoRA adapter file ({error})") from None
    if metadata.get("format") != ADAPTER_FORMAT:
        raise ValueError(
            f"{path} is not a zoo LoRA adapter ({ADAPTER_FORMAT}); its format is {metadata.get('format')!r}"
        )
    if metadata["model_class"] != type(model).__name__:
        raise ValueError(f"{path} is an adapter for a {metadata['model_class']}, not a {type(model).__name__}")
    expected = metadata["base_config_sha256"]
    if config_hash(model) != expected:
        raise ValueError(
            f"{path} was made for another base model: config sha256 {expected[:12]}..., this model's "
            f"{config_hash(model)[:12]}... (different sizes, options or vocabulary)"
        )
    missing = sorted(set(metadata["paths"]) - set(projection_sites(model)))
    if missing:
        raise ValueError(f"{path} adapts {missing[0]!r}, which this model does not have")
    state = lora_state(model)
    if state is None:
        enable(model, metadata["rank"], metadata["targets"], metadata["alpha"], metadata["train_head"])
        state = lora_state(model)
    elif state.config() != {k: metadata[k] for k in state.config()} or list(state.adapters) != metadata["paths"]:
        raise ValueError(
            f"{path} holds rank {metadata['rank']} on {metadata['targets']}; the model has {state.config()}"
        )
    values = []  # (variable, value): Keras variables are not hashable
    for target, adapter in state.adapters.items():
        values += [(adapter.lora_a, arrays[f"{target}/lora_a"]), (adapter.lora_b, arrays[f"{target}/lora_b"])]
    if state.train_head:
        head = {variable.path: variable for variable in head_variables(model)}
        for name in [name for name in arrays if name.startswith("head/")]:
            if name[len("head/") :] not in head:
                raise ValueError(f"{path} holds head weight {name[5:]!r}, which this model does not have")
            values.append((head[name[5:]], arrays[name]))
    for variable, value in values:
        if tuple(variable.shape) != value.shape:
            raise ValueError(f"{path}: {variable.path} has shape {value.shape}; the model's is {tuple(variable.shape)}")
    for variable, value in values:
        variable.assign(value)
    reset_compiled_functions(model)


def trainable_share(model):
    """`(trainable, total)` parameter counts of `model` (with LoRA: A and B, plus the head if it trains)."""
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return trainable, sum(int(np.prod(v.shape)) for v in model.weights)
