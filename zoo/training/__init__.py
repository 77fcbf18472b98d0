"""Shared training machinery for recipes: config CLI, schedules, resumable fit, plots.

cfg = parse_config(Config)                  # dataclass -> --flags, --config FILE.json
set_seed(cfg.seed)
history = fit(model, train_ds, epochs=cfg.epochs, run_dir=cfg.out,
              validation_data=val_ds, resume=cfg.resume)
plot_history(history, out / "history.png")
"""

from zoo.training.callbacks import EpochLogger, ProgressLogger, TrainingTimer
from zoo.training.config import config_to_dict, load_config, parse_config, replace_defaults, save_config
from zoo.training.loop import InterruptedRunError, fit
from zoo.training.losses import SparseCategoricalCrossentropyWithSmoothing
from zoo.training.plots import plot_confusion_matrix, plot_history
from zoo.training.schedules import WarmupCosineDecay, warmup_cosine
from zoo.training.seed import set_seed

__all__ = [
    "EpochLogger",
    "InterruptedRunError",
    "ProgressLogger",
    "SparseCategoricalCrossentropyWithSmoothing",
    "TrainingTimer",
    "WarmupCosineDecay",
    "config_to_dict",
    "fit",
    "load_config",
    "parse_config",
    "plot_confusion_matrix",
    "plot_history",
    "replace_defaults",
    "save_config",
    "set_seed",
    "warmup_cosine",
]
