"""The optimizer of the training recipes: AdamW on a warmup + cosine schedule over the run."""

import keras

from zoo.training import WarmupCosineDecay


def warmup_cosine_adamw(cfg, steps_per_epoch, *, warmup_fraction=None, **options):
    """`keras.optimizers.AdamW` whose learning rate warms up, then decays to 0 by the run's end.

    The schedule spans `cfg.epochs * steps_per_epoch` steps (at least 1);
    the warmup is `cfg.warmup_epochs` epochs cut to the run's length (a
    one-epoch run with the default warmup of several epochs warms up over
    that one epoch), or `warmup_fraction` of the steps when given.

    Args:
        cfg: a config with `epochs`, `learning_rate` (the peak),
            `weight_decay` and, without `warmup_fraction`, `warmup_epochs`.
        steps_per_epoch: optimizer steps per epoch.
        warmup_fraction: share of all steps spent warming up, or None.
        **options: more `AdamW` arguments (e.g. `clipnorm=1.0`, `beta_2`).

    Returns:
        The optimizer; its schedule is a `zoo.training.WarmupCosineDecay`.
    """
    total_steps = cfg.epochs * steps_per_epoch
    if warmup_fraction is None:
        warmup_steps = min(cfg.warmup_epochs, cfg.epochs) * steps_per_epoch
    else:
        warmup_steps = int(warmup_fraction * total_steps)
    schedule = WarmupCosineDecay(
        peak_learning_rate=cfg.learning_rate,
        warmup_steps=warmup_steps,
        total_steps=max(1, total_steps),
    )
    return keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay, **options)


def compile_with_schedule(model, cfg, steps_per_epoch, *, loss=None, metrics=None, warmup_fraction=None, **options):
    """`model.compile` with `warmup_cosine_adamw`, as the training recipes compile.

    Args:
        model: the Keras model to compile.
        cfg, steps_per_epoch, warmup_fraction, **options: as for `warmup_cosine_adamw`.
        loss: the loss (or a dict per output); default: sparse categorical
            cross-entropy on logits.
        metrics: the metrics (or a dict per output); default: `["accuracy"]`.
    """
    model.compile(
        optimizer=warmup_cosine_adamw(cfg, steps_per_epoch, warmup_fraction=warmup_fraction, **options),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True) if loss is None else loss,
        metrics=["accuracy"] if metrics is None else metrics,
    )
