"""The settings every recipe shares, declared once: `RunConfig` and `TrainConfig`.

    @dataclasses.dataclass
    class Config(TrainConfig):
        data: str = option("builtin:digits", "builtin:digits, idx:DIR, tfds:NAME")
        epochs: int = option(100, "training epochs")     # a shared field, its own default
        out: str = option("saved_models/vit", "run folder")

A subclass redeclares a shared field to change its default or help; the flag
keeps its name. `zoo.training.parse_config` lists the recipe's own flags
first in `--help`, then the shared ones.
"""

import dataclasses

from zoo.training import parse_config, replace_defaults
from zoo.training.config import as_flags
from zoo.training.distribute import StrategyName

STRATEGY_HELP = (
    "tf.distribute strategy: default, mirrored (local GPUs), multi_worker "
    "(workers named in TF_CONFIG; see docs/distributed.md) or tpu"
)


def option(default, help=None):
    """A dataclass field with a default and a `--help` text."""
    return dataclasses.field(default=default, metadata={} if help is None else {"help": help})


@dataclasses.dataclass
class RunConfig:
    """What every recipe run has: a seed, a run folder, `--smoke` and `--resume`."""

    seed: int = 0
    out: str = option("saved_models/run", "run folder")
    smoke: bool = option(False, "tiny preset, few examples: a quick end-to-end check")
    resume: bool = option(False, "continue the interrupted run in --out")


@dataclasses.dataclass
class TrainConfig(RunConfig):
    """A recipe that trains: epochs, batches, AdamW, TFLite variants and `--strategy`."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = option(1e-3, "peak learning rate (AdamW)")
    weight_decay: float = 0.01
    quantize: tuple[str, ...] = option(("float32",), "TFLite variants to export")
    strategy: StrategyName = option("default", STRATEGY_HELP)


def check_quantize(values, allowed):
    """Raise ValueError unless every `--quantize` value is in `allowed` (a tuple of names)."""
    unknown = set(values) - set(allowed)
    if unknown:
        expected = ", ".join(allowed)
        raise ValueError(f"unknown --quantize values {sorted(unknown)}; expected {expected}")


def parse_recipe_config(config_cls, argv, doc, recipe):
    """`zoo.training.parse_config` for `python -m recipes.RECIPE`, described by `doc`'s 1st line."""
    description, prog = doc.split("\n")[0], f"python -m recipes.{recipe}"
    return parse_config(config_cls, argv, description=description, prog=prog)


def with_data_defaults(cfg, table):
    """`cfg` with the settings `table` holds for its data, on the fields still at their default.

    Args:
        cfg: a config with `architecture`, `data` and `smoke` fields.
        table: `(architecture, --data or its kind, e.g. "idx") -> {field: value}`; the exact
            `--data` wins over its kind.

    Returns:
        The resolved config (`cfg` itself under `--smoke` or for data without an entry); the
        changed settings are printed as flags.
    """
    kind = cfg.data.split(":", 1)[0]
    defaults = table.get((cfg.architecture, cfg.data), table.get((cfg.architecture, kind)))
    if defaults is None or cfg.smoke:
        return cfg
    resolved = replace_defaults(cfg, **defaults)
    changed = [name for name in defaults if getattr(resolved, name) != getattr(cfg, name)]
    if changed:
        flags = as_flags(resolved, changed)
        print(f"defaults for {cfg.data} ({cfg.architecture}): {flags}", flush=True)
    return resolved


def check_choice(flag, value, choices):
    """Raise ValueError unless `value` of `--flag` is one of `choices` (dict keys or a tuple)."""
    if value not in choices:
        raise ValueError(f"unknown --{flag} {value!r}; expected one of {list(choices)}")


def check_tokenizer(tokenizer):
    """Raise ValueError unless `--tokenizer` is wordpiece or sentencepiece."""
    if tokenizer not in ("wordpiece", "sentencepiece"):
        raise ValueError(f"--tokenizer must be wordpiece or sentencepiece. Received: {tokenizer!r}")


def check_preset(preset, names, architecture=None):
    """Raise ValueError unless `preset` is one of `names` (of `--architecture`, when given)."""
    if preset not in names:
        family = "" if architecture is None else f" for --architecture {architecture}"
        raise ValueError(f"unknown --preset {preset!r}{family}; expected one of {names}")


def quantizations(cfg):
    """`cfg.quantize` as `zoo.export.export_run` takes it: "float32" is None (no quantization)."""
    return [None if name == "float32" else name for name in cfg.quantize]
