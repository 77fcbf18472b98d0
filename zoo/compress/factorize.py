"""Low-rank (SVD) factorization of the trained projections and token tables of a task model.

    from zoo.compress import factorize, singular_values  # re-exported from zoo.compress.factorize
    small, report = factorize(model, energy=0.9, include=("*/feedforward/*",))
    small, report = factorize(model, rank=64, include=("*",))   # + the token embedding table(s)
    print(report.summary())

Each selected projection's kernel `W` (reshaped to `(in, out)`) is replaced
by its truncated SVD `W ~= (U_r sqrt(S_r)) (sqrt(S_r) V_r^T)`, held by a
`zoo.layers.LowRankDense` in a new model of the same class built with
`low_rank` (one exact path per factorized projection); every other
weight is copied unchanged. A selected token
embedding table `T` `(V, D)` (path `"<embedding layer>/token_embedding"`,
e.g. `"embedding/token_embedding"`, `"decoder_embedding/token_embedding"`)
becomes ALBERT's factorized embedding: a `(V, r)` table
`U_r S_r` followed by the bias-free projection `V_r^T` `(r, D)`. The new
model saves, loads and exports like any other (its config carries the
ranks).
"""

import dataclasses
import fnmatch
import inspect

import numpy as np

from zoo._keras_compat import sublayers
from zoo.layers import FeedForward, LowRankDense, MultiHeadAttention, TokenAndPositionEmbedding

# (attribute, name) of the dense projections of each layer type, in model order.
_ATTENTION_PROJECTIONS = (
    ("query_dense", "query"),
    ("key_dense", "key"),
    ("value_dense", "value"),
    ("output_dense", "attention_output"),
)
_FEEDFORWARD_PROJECTIONS = (("intermediate_dense", "intermediate"), ("gate_dense", "gate"), ("output_dense", "output"))
# Path patterns `include` selects by default: every attention and feed-forward projection, no token table.
PROJECTION_PATTERNS = ("*attention/*", "*/feedforward/*")
EMBEDDING_PATTERN = "*token_embedding"


@dataclasses.dataclass
class Projection:
    """One dense projection (or token table) of a model: its path, layer and kernel as an `(in, out)` matrix.

    A token embedding's "kernel" is its `(vocabulary_size, D)` table (the
    product table @ projection when already factorized).
    """

    path: str
    layer: object
    kernel: np.ndarray  # (in, out), float64
    bias_parameters: int
    rank: int | None = None  # the inner dimension when already factorized

    @property
    def is_low_rank(self):
        return self.rank is not None

    @property
    def is_embedding(self):
        return isinstance(self.layer, TokenAndPositionEmbedding)

    @property
    def kernel_parameters(self):
        """Weights of the kernel as stored now (`in * out`, or `rank * (in + out)` when already factorized)."""
        rows, columns = self.kernel.shape
        return self.rank * (rows + columns) if self.is_low_rank else rows * columns


@dataclasses.dataclass
class FactorizationReport:
    """What `factorize` did, one entry per selected projection.

    Attributes:
        layers: list of dicts `{"path", "shape": [in, out], "rank", "energy"
            (fraction of the sum of squared singular values kept),
            "parameters_before", "parameters_after" (the projection's
            weights incl. bias), "factorized" (False: kept as it was, the
            rank would not make it smaller)}`.
        parameters_before, parameters_after: `count_params()` of the whole
            model before and after.
    """

    layers: list
    parameters_before: int
    parameters_after: int

    def to_dict(self):
        return dataclasses.asdict(self)

    def summary(self):
        """A plain-text table of the projections and the totals."""
        lines = [f"{'projection':48} {'shape':>11} {'rank':>5} {'energy':>7} {'params':>17}"]
        for entry in self.layers:
            shape = "x".join(str(size) for size in entry["shape"])
            params = f"{entry['parameters_before']}->{entry['parameters_after']}"
            kept = "" if entry["factorized"] else " (kept)"
            lines.append(
                f"{entry['path']:48} {shape:>11} {entry['rank']:>5} {entry['energy']:>7.4f} {params:>17}{kept}"
            )
        ratio = self.parameters_after / max(self.parameters_before, 1)
        lines.append(f"model parameters: {self.parameters_before} -> {self.parameters_after} ({ratio:.1%})")
        return "\n".join(lines)


def _as_matrix(layer, name):
    """The kernel of projection `layer` as an `(in, out)` float64 matrix."""
    if isinstance(layer, LowRankDense):
        u_kernel, v_kernel = (np.asarray(w.numpy(), "float64") for w in (layer.u_kernel, layer.v_kernel))
        return u_kernel @ v_kernel
    kernel = np.asarray(layer.kernel.numpy(), "float64")
    input_axes = 2 if name == "attention_output" else 1  # (N, H, D) vs (D, N, H) / (D, units)
    return kernel.reshape(int(np.prod(kernel.shape[:input_axes])), -1)


def _token_table(embedding):
    """The token table of a `TokenAndPositionEmbedding` as a `Projection` (path `<layer>/token_embedding`)."""
    table = np.asarray(embedding.token_embedding.embeddings.numpy(), "float64")  # (V, D) or (V, E)
    if embedding.token_projection is not None:
        table = table @ np.asarray(embedding.token_projection.kernel.numpy(), "float64")  # (V, D)
    path = embedding.token_embedding.embeddings.path.rsplit("/", 1)[0]
    return Projection(path, embedding, table, 0, embedding.embedding_rank)


def projections(model):
    """Every dense projection of `model` (attention query/key/value/output, feed-forward layers) and token table.

    Returns:
        list of `Projection`, in model order, with paths such as
        `"encoder_0/self_attention/query"` and, for each
        `TokenAndPositionEmbedding`, `"embedding/token_embedding"` (Seq2SeqLM:
        `"encoder_embedding/token_embedding"`, `"decoder_embedding/token_embedding"`).
    """
    found = []
    for layer in sublayers(model):
        if isinstance(layer, TokenAndPositionEmbedding):
            found.append(_token_table(layer))
            continue
        if isinstance(layer, MultiHeadAttention):
            names = _ATTENTION_PROJECTIONS
        elif isinstance(layer, FeedForward):
            names = _FEEDFORWARD_PROJECTIONS
        else:
            continue
        for attribute, name in names:
            dense = getattr(layer, attribute, None)
            if dense is None:
                continue
            path = dense.weights[0].path.rsplit("/", 1)[0]
            bias = getattr(dense, "bias", None)
            bias_parameters = 0 if bias is None else int(np.prod(bias.shape))
            rank = dense.rank if isinstance(dense, LowRankDense) else None
            found.append(Projection(path, dense, _as_matrix(dense, name), bias_parameters, rank))
    return found


def _patterns(name, value):
    value = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(pattern, str) for pattern in value):
        raise ValueError(f"{name} must be a string or a sequence of fnmatch patterns. Received: {name}={value!r}")
    return value


def _select(model, include, exclude):
    include, exclude = _patterns("include", include), _patterns("exclude", exclude)
    found = projections(model)
    if not found:
        raise ValueError(f"{type(model).__name__} has no Transformer projections to factorize")

    def matches(path, patterns):
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)

    included = [p for p in found if matches(p.path, include)]
    if not included:
        examples = [p.path for p in found[:4]]
        raise ValueError(
            f"include={include!r} matches no projection of {type(model).__name__}; paths look like {examples}"
        )
    selected = [p for p in included if not matches(p.path, exclude)]
    if not selected:
        raise ValueError(f"exclude={exclude!r} removes every projection matched by include={include!r}")
    return selected


def singular_values(model, include=PROJECTION_PATTERNS, exclude=()):
    """Singular values of each selected projection's kernel (as an `(in, out)` matrix), largest first.

    Args:
        model: a zoo task model (or any model with zoo attention /
            feed-forward layers).
        include, exclude: fnmatch patterns on projection paths, e.g.
            `"*/feedforward/*"`, `"encoder_0/*"`, `"*attention*"`,
            `"*token_embedding"` (the token tables), `"*"` (everything).
            Default: every attention and feed-forward projection.

    Returns:
        dict path -> 1-D float64 array of `min(in, out)` singular values.

    Raises:
        ValueError: the model has no projections, or `include` matches none.
    """
    return {p.path: np.linalg.svd(p.kernel, compute_uv=False) for p in _select(model, include, exclude)}


def _check_rank_and_energy(rank, energy):
    if (rank is None) == (energy is None):
        raise ValueError(f"pass exactly one of rank= and energy=. Received: rank={rank!r}, energy={energy!r}")
    if rank is not None and (not isinstance(rank, (int, np.integer)) or isinstance(rank, bool) or rank <= 0):
        raise ValueError(f"rank must be a positive integer. Received: rank={rank!r}")
    numeric = isinstance(energy, (int, float, np.floating)) and not isinstance(energy, bool)
    if energy is not None and not (numeric and 0.0 < energy <= 1.0):
        raise ValueError(f"energy must be a number in (0, 1]. Received: energy={energy!r}")


def choose_rank(singular, rank=None, energy=None):
    """The rank to keep for one kernel, and the fraction of energy it keeps.

    Args:
        singular: 1-D array of singular values, largest first.
        rank: int, capped at `len(singular)`; or
        energy: float in (0, 1], the smallest rank whose kept energy
            (sum of the first `r` squared singular values over the total) is
            at least `energy`.

    Returns:
        `(rank, kept_energy)`.
    """
    _check_rank_and_energy(rank, energy)
    squares = np.asarray(singular, "float64") ** 2
    total = squares.sum()
    kept = np.cumsum(squares) / total if total > 0 else np.ones_like(squares)
    if rank is not None:
        chosen = min(int(rank), len(squares))
    else:
        chosen = int(np.searchsorted(kept, energy, side="left")) + 1
        chosen = min(chosen, len(squares))
    return chosen, float(kept[chosen - 1])


def _factor_weights(projection, u, s, vt, rank):
    """The new model's weights for one factorized projection, and the old weights they replace.

    A projection `W ~= U_r S_r V_r^T` becomes `u_kernel = U_r sqrt(S_r)` and
    `v_kernel = sqrt(S_r) V_r^T`; a token table becomes the `(V, r)` table
    `U_r S_r` and the `(r, D)` projection `V_r^T` (ALBERT's layout).

    Returns:
        `({new weight path: array}, {old weight paths})`.
    """
    if projection.is_embedding:
        base = projection.path.rpartition("/")[0]  # the TokenAndPositionEmbedding
        weights = {
            f"{projection.path}/embeddings": u[:, :rank] * s[:rank],
            f"{base}/token_projection/kernel": vt[:rank],
        }
        return weights, set(weights)
    root = np.sqrt(s[:rank])
    weights = {
        f"{projection.path}/u_kernel": u[:, :rank] * root,
        f"{projection.path}/v_kernel": root[:, None] * vt[:rank],
    }
    return weights, {f"{projection.path}/{leaf}" for leaf in ("kernel", "u_kernel", "v_kernel")}


def factorize(model, rank=None, energy=None, include=PROJECTION_PATTERNS, exclude=(), only_if_smaller=True):
    """A copy of `model` whose selected projections (and token tables) are truncated SVDs of the trained ones.

    Args:
        model: a zoo task model (`TextClassifier`, `Seq2SeqLM`, `CausalLM`,
            `ImageClassifier`, `QuestionAnswerer`, `TextEmbedder`), trained.
        rank: int, the rank of every selected projection (capped at
            `min(in, out)`); or
        energy: float in (0, 1], per projection the smallest rank keeping
            at least this fraction of the sum of squared singular values.
        include: fnmatch patterns; a projection is selected when its path
            (`"encoder_0/self_attention/query"`, `"decoder_1/feedforward/output"`,
            ...) matches one of them. The default selects every attention
            and feed-forward projection (`PROJECTION_PATTERNS`). Token
            embedding tables have paths `"<embedding layer>/token_embedding"`
            (`"embedding/token_embedding"`; Seq2SeqLM
            `"encoder_embedding/token_embedding"` and
            `"decoder_embedding/token_embedding"`) and are factorized only
            when selected: e.g. `include="*"` (everything) or
            `include=(*PROJECTION_PATTERNS, "*token_embedding")`.
        exclude: fnmatch patterns removing projections from the selection.
        only_if_smaller: keep a projection as it is (reported with
            `factorized: False`) when the rank would not reduce its weights,
            i.e. `rank * (in + out) >= in * out` (or `>=` its current
            factorized size); a `(V, D)` token table counts the same way
            (`rank * (V + D)` for the `(V, r)` table and `(r, D)` projection).
            `False` factorizes every selected projection (e.g. to check that
            a full-rank SVD reproduces the model).

    Returns:
        `(new_model, FactorizationReport)`. The new model has the same class
        and config, its `low_rank` extended by one exact path per factorized
        projection or token table (`"<embedding layer>/token_embedding"`),
        which wins over the model's own patterns; it is not compiled. Token
        tables in the report have `parameters_*` of table plus projection.

    Raises:
        ValueError: not exactly one of `rank` / `energy`, `rank <= 0`,
            `energy` outside (0, 1], patterns matching nothing, or a model
            class without a `low_rank` argument.
        RuntimeError: a weight of the new model has no source in the old one
            (a bug, never silently left at its initial value).
    """
    _check_rank_and_energy(rank, energy)
    model_class = type(model)
    if "low_rank" not in inspect.signature(model_class.__init__).parameters and not _has_backbone_low_rank(model):
        raise ValueError(f"{model_class.__name__} has no low_rank argument, so it cannot hold factorized projections")
    entries, values, replaced = [], {}, set()
    for projection in _select(model, include, exclude):
        rows, columns = projection.kernel.shape
        u, s, vt = np.linalg.svd(projection.kernel, full_matrices=False)
        chosen, kept = choose_rank(s, rank, energy)
        before = projection.kernel_parameters
        factorized = not only_if_smaller or chosen * (rows + columns) < before
        if factorized:
            new_values, old_paths = _factor_weights(projection, u, s, vt, chosen)
            values.update(new_values)
            replaced.update(old_paths)
        entries.append(
            {
                "path": projection.path,
                "shape": [rows, columns],
                "rank": chosen,
                "energy": kept,
                "parameters_before": before + projection.bias_parameters,
                "parameters_after": (chosen * (rows + columns) if factorized else before) + projection.bias_parameters,
                "factorized": factorized,
            }
        )
    config = model.get_config()
    # A task built on a backbone holds `low_rank` in its backbone's config.
    holder = config["backbone"]["config"] if _has_backbone_low_rank(model) else config
    low_rank = dict(holder.get("low_rank") or {})
    for entry in entries:
        if entry["factorized"]:
            low_rank.pop(entry["path"], None)  # re-inserted last, so the exact path wins
            low_rank[entry["path"]] = entry["rank"]
    holder["low_rank"] = low_rank or None
    new_model = model_class.from_config(config)
    _copy_weights(model, new_model, values, replaced)
    report = FactorizationReport(entries, int(model.count_params()), int(new_model.count_params()))
    return new_model, report


def _has_backbone_low_rank(model):
    backbone = getattr(model, "backbone", None)
    return backbone is not None and "low_rank" in inspect.signature(type(backbone).__init__).parameters


def _weights_by_path(model):
    weights = {}
    for weight in model.weights:
        if weight.path in weights:
            raise RuntimeError(f"two weights of {model.name} share the path {weight.path!r}; cannot match them")
        weights[weight.path] = weight
    return weights


def _copy_weights(source, target, values, replaced):
    """Copy every weight of `source` into `target` by path; `values` (path -> array) replace the paths `replaced`."""
    old, new = _weights_by_path(source), _weights_by_path(target)
    unassigned, used = [], set()
    for path, weight in new.items():
        if path in values:
            value = values[path]
        elif path in old and path not in replaced:
            value = old[path].numpy()
            used.add(path)
        else:
            unassigned.append(path)
            continue
        if tuple(value.shape) != tuple(weight.shape):
            raise RuntimeError(f"weight {path!r}: new shape {tuple(weight.shape)}, source shape {value.shape}")
        weight.assign(value.astype(weight.dtype))
    if unassigned:
        raise RuntimeError(f"no source for the new model's weights {unassigned}")
    left = sorted(set(old) - used - replaced)
    if left:
        raise RuntimeError(f"weights of the old model not copied: {left}")
