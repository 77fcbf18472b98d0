"""The variants of a recipe's model, each with the recipe's own metric: LoRA training, int8 / int4 weights, a gate.

    @dataclasses.dataclass
    class Config(VariantsConfig): ...       # --lora-rank, --lora-targets, --quantize-weights, --max-metric-drop

    with run.scope():
        model = common.with_lora(build_model(cfg), cfg)    # before compile
    ...                                                    # fit, evaluate the trained model: `value`
    variants = run.variants(model, "accuracy", value, evaluate)   # before the exports
    exports = run.export(model, ...)
    run.write_json("metrics.json", {..., "variants": variants})

`run.variants` (`weight_variants`) merges LoRA adapters into the kernels
(the adapter is kept as `lora_adapter.npz`), quantizes a `.keras` copy of the
trained model with `--quantize-weights`, scores it with the recipe's
`evaluate`, and saves it as `model_<mode>.keras` only when its metric is
within `--max-metric-drop` of the float model's; otherwise the run fails
with one line (`MetricDropError`) before anything else is written.
"""

import dataclasses
import math
import pathlib
import tempfile

import keras
import numpy as np

from recipes.common.config import TrainConfig, option
from zoo.errors import ZooUserError
from zoo.io import atomic_file
from zoo.quantization import MODES


class MetricDropError(ZooUserError, ValueError):
    """A quantized variant's metric is worse than the float model's by more than `--max-metric-drop`."""


class VariantFlagError(ZooUserError, ValueError):
    """A bad --lora-rank / --lora-targets / --quantize-weights / --max-metric-drop (one line from `run_main`)."""


@dataclasses.dataclass
class VariantsConfig(TrainConfig):
    """`TrainConfig` with the variant flags of the recipes that report several (see the module docstring)."""

    lora_rank: int = option(0, "train LoRA adapters of this rank on --lora-targets, base frozen (0: no LoRA)")
    lora_targets: tuple[str, ...] = option(("query", "value"), "projections LoRA adapts (names or path patterns)")
    quantize_weights: str | None = option(None, "also quantize the trained weights: int8 or int4 (model_MODE.keras)")
    max_metric_drop: float | None = option(
        None, "fail the run if the --quantize-weights variant's metric is worse than float's by more (metric units)"
    )


def check_variants(cfg):
    """Raise VariantFlagError for a bad variant flag (`Run.start` calls it before anything is written)."""
    if not hasattr(cfg, "lora_rank"):
        return
    if not isinstance(cfg.lora_rank, int) or cfg.lora_rank < 0:
        raise VariantFlagError(f"--lora-rank must be a non-negative integer. Received: {cfg.lora_rank!r}")
    if cfg.lora_rank and not cfg.lora_targets:
        raise VariantFlagError("--lora-targets must name at least one projection with --lora-rank")
    if cfg.quantize_weights is not None and cfg.quantize_weights not in MODES:
        raise VariantFlagError(
            f"--quantize-weights must be one of {', '.join(MODES)}. Received: {cfg.quantize_weights!r}"
        )
    if cfg.max_metric_drop is not None:
        if cfg.quantize_weights is None:
            raise VariantFlagError(
                "--max-metric-drop gates the --quantize-weights variant; give --quantize-weights too"
            )
        if not math.isfinite(cfg.max_metric_drop) or cfg.max_metric_drop < 0:
            raise VariantFlagError(f"--max-metric-drop must be a number >= 0. Received: {cfg.max_metric_drop!r}")


def with_lora(model, cfg):
    """`model` with LoRA adapters of `--lora-rank` on `--lora-targets` (unchanged at rank 0); call before compile."""
    if getattr(cfg, "lora_rank", 0):
        model.enable_lora(rank=cfg.lora_rank, targets=tuple(cfg.lora_targets))
        trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
        total = model.count_params()
        print(
            f"LoRA rank {cfg.lora_rank} on {', '.join(cfg.lora_targets)}: {trainable:,} of {total:,} "
            f"parameters train ({trainable / total:.2%})",
            flush=True,
        )
    return model


def accuracy_on(inputs, labels):
    """`model -> accuracy` of `model.classify(inputs)` against `labels` (a classifier recipe's `evaluate`)."""
    return lambda model: float(np.mean(model.classify(inputs)["class_ids"] == np.asarray(labels)))


def metric_drop(value, variant_value, higher_is_better=True):
    """How much worse `variant_value` is than `value` (negative: better), in the metric's units."""
    return value - variant_value if higher_is_better else variant_value - value


def weight_variants(cfg, out, model, metric, value, evaluate, higher_is_better=True):
    """Merge LoRA, then score and gate the `--quantize-weights` copy; `{variant: {metric: ...}}` for metrics.json.

    Args:
        cfg: the run's config (`VariantsConfig` fields; a config without them has one variant).
        out: the run folder (`pathlib.Path`).
        model: the trained model, evaluated already; merged in place when it has LoRA adapters.
        metric: the metric's name, e.g. `"accuracy"`, `"bleu"`, `"validation_perplexity"`.
        value: the trained model's `metric`.
        evaluate: `model -> value` of `metric`, as the recipe computed `value`.
        higher_is_better: False for losses and perplexities.

    Returns:
        `{"float32": {metric: value}, MODE: {metric, "drop", "path", "bytes"}}`, plus `"lora"`
        (rank, targets, trainable parameters, adapter file) when LoRA trained.

    Raises:
        MetricDropError: the quantized variant's drop exceeds `--max-metric-drop` (nothing more is written).
    """
    out = pathlib.Path(out)
    variants = {"float32": {metric: value}}
    if getattr(model, "lora_enabled", False):
        trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
        adapter = model.save_lora(out / "lora_adapter.npz")
        model.merge_lora()  # plain kernels: what the exports and the quantized copy hold
        variants["lora"] = {"rank": cfg.lora_rank, "targets": list(cfg.lora_targets), "trainable": trainable}
        variants["lora"]["adapter"] = str(adapter)
    mode = getattr(cfg, "quantize_weights", None)
    if mode is None:
        return variants
    quantized = _quantized_copy(model, mode)
    score = float(evaluate(quantized))
    drop = metric_drop(value, score, higher_is_better)
    print(f"weights {mode}: {metric} {score:.4g} (float32 {value:.4g}, drop {drop:+.4g})", flush=True)
    if cfg.max_metric_drop is not None and drop > cfg.max_metric_drop:
        raise MetricDropError(
            f"the {mode} weights lose {drop:.4g} {metric} ({value:.4g} -> {score:.4g}), more than "
            f"--max-metric-drop {cfg.max_metric_drop:g}; {out / f'model_{mode}.keras'} not written"
        )
    path = out / f"model_{mode}.keras"
    with atomic_file(path) as temporary:
        quantized.save(temporary)
    variants[mode] = {metric: score, "drop": drop, "path": str(path), "bytes": path.stat().st_size}
    return variants


def _quantized_copy(model, mode):
    """A `.keras` copy of `model` (its own variables, preprocessors included), quantized to `mode`."""
    with tempfile.TemporaryDirectory(prefix="zoo-variant-") as directory:
        path = pathlib.Path(directory) / "model.keras"
        model.save(path)
        copy = keras.saving.load_model(path)
    copy.quantize(mode)
    return copy
