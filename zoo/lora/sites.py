"""Where LoRA goes: the projections of a model by path, `enable` (adapters in, base frozen) and its state."""

import contextlib
import dataclasses
import fnmatch

import keras
import numpy as np

from zoo._keras_compat import replace_sublayer, sublayers
from zoo.layers import FeedForward, MultiHeadAttention, TokenAndPositionEmbedding
from zoo.layers.lora import LoRAAdapter

ADAPTER_FORMAT = "zoo-lora/1"  # the adapter file format (zoo.lora.files)

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
        with name_scopes(path.rsplit("/", 1)[0]):  # the adapter's weights sit next to the kernel's
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
def name_scopes(path):
    with contextlib.ExitStack() as stack:
        for part in path.split("/"):
            stack.enter_context(keras.name_scope(part))
        yield


def reset_compiled_functions(model):
    """Drop the traced predict/train/evaluate and generate functions, which hold the old layers."""
    model.predict_function = model.train_function = model.test_function = None
    if hasattr(model, "compiled_generators"):
        model._compiled_generators = None


def checked_state(model):
    state = lora_state(model)
    if state is None:
        raise ValueError(f"LoRA is not enabled on {model.name}; call enable_lora(rank, targets) first")
    return state


def trainable_share(model):
    """`(trainable, total)` parameter counts of `model` (with LoRA: A and B, plus the head if it trains)."""
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return trainable, sum(int(np.prod(v.shape)) for v in model.weights)
