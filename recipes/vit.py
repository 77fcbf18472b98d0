"""Train a Vision Transformer (or a CNN baseline) image classifier, evaluate it, export it for serving.

    python -m recipes.vit                      # scikit-learn digits, a few minutes on 2 CPU cores
    python -m recipes.vit --data idx:../shared/data/mnist   # its own defaults: the README's MNIST run
    python -m recipes.vit --data idx:../shared/data/mnist --architecture cnn
    python -m recipes.vit --data builtin:fashion_mnist   # its own defaults: the README's 90% run
    python -m recipes.vit --smoke --out /tmp/vit-smoke
    python -m recipes.vit --resume             # continue an interrupted run

--architecture picks the model: vit (ImageClassifier, default) or cnn
(CNNImageClassifier, a small VGG-style network); --preset names a preset of
its family (image_classifier or cnn_image_classifier: both have tiny, digits,
mnist and cifar). Both get the same data, augmentation, training loop,
evaluation and exports.

Writes into --out: config.json, history.csv, history.png, metrics.json,
confusion_matrix.png, misclassified.png (a grid of held-out mistakes),
attention.png ([CLS] attention over patches for a few images; ViT only), model.keras, saved_model/1/ (TF Serving, uint8 images
in, labels + probabilities out) and model{,_float16,_dynamic,_int8}.tflite,
each reloaded and compared with the Keras model.

The defaults (preset digits, 100 epochs, ...) suit the 8x8 digits. For
builtin:fashion_mnist and idx: data, flags left at their default take the
settings of the README's runs instead (DATA_DEFAULTS; the recipe prints
them). Fashion-MNIST: ViT preset mnist, 40 epochs, batch 128, 1 warmup
epoch, translate+flip, no dropout (90.3%); CNN preset mnist, 6 epochs,
batch 128, 1 warmup epoch, no augmentation (92.8%). idx: ViT preset mnist,
30 epochs, 2 warmup epochs, translate+rotation, no dropout, label smoothing
0.1 (MNIST 98.6%); CNN as for Fashion-MNIST. Explicit flags win.
"""

import dataclasses
import time

import keras

from zoo.data import load_image_dataset
from zoo.data.augment import check_augmentation_names, image_augmentation
from zoo.data.pipelines import image_batches
from zoo.export import export_run
from zoo.inspect import plot_class_token_attention
from zoo.models import CNNImageClassifier, ImageClassifier, preset_names
from zoo.models.presets import get_preset
from zoo.training import WarmupCosineDecay, fit, parse_config, plot_history
from zoo.training.config import as_flags, replace_defaults
from zoo.training.plots import plot_misclassified
from zoo.training.cli import run_main
from zoo.training.distribute import StrategyName, chief_model, recipe_strategy, strategy_field
from zoo.training.runs import (
    add_tflite_accuracy,
    add_tflite_latency,
    evaluate_classifier,
    print_summary,
    save_keras_model,
    smoke_subsets,
    start_run,
    write_metrics,
)


# --architecture -> (preset family, model class)
ARCHITECTURES = {"vit": ("image_classifier", ImageClassifier), "cnn": ("cnn_image_classifier", CNNImageClassifier)}


@dataclasses.dataclass
class Config:
    architecture: str = dataclasses.field(default="vit", metadata={"help": "vit (Vision Transformer) or cnn (VGG-style baseline)"})
    preset: str = dataclasses.field(
        default="digits", metadata={"help": "preset of the architecture's family (tiny, digits, mnist, cifar)"}
    )
    data: str = dataclasses.field(default="builtin:digits", metadata={"help": "builtin:digits, builtin:fashion_mnist, idx:DIR, imagefolder:DIR, tfds:NAME"})
    epochs: int = dataclasses.field(default=100, metadata={"help": "training epochs"})
    batch_size: int = 64
    dropout: float | None = dataclasses.field(
        default=None, metadata={"help": "dropout in the blocks (cnn: before the head; default: the preset's)"}
    )
    learning_rate: float = dataclasses.field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = 0.05
    warmup_epochs: int = 5
    label_smoothing: float = 0.0
    augment: tuple[str, ...] = dataclasses.field(
        default=("translate",),
        metadata={"help": "training augmentation, comma-separated: translate, crop, flip, rotation, or none"},
    )
    test_fraction: float = dataclasses.field(default=0.2, metadata={"help": "held-out fraction when the source has no test split"})
    seed: int = 0
    quantize: tuple[str, ...] = dataclasses.field(
        default=("float32", "dynamic", "float16", "int8"), metadata={"help": "TFLite variants to export"}
    )
    attention_maps: int = dataclasses.field(
        default=4, metadata={"help": "held-out images whose [CLS] attention over patches goes into attention.png (0: none; vit only)"}
    )
    out: str = dataclasses.field(default="saved_models/vit", metadata={"help": "run folder"})
    smoke: bool = dataclasses.field(default=False, metadata={"help": "tiny preset, few batches: a quick end-to-end check"})
    resume: bool = dataclasses.field(default=False, metadata={"help": "continue the interrupted run in --out"})
    strategy: StrategyName = strategy_field()

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown --architecture {self.architecture!r}; expected one of {list(ARCHITECTURES)}")
        family = ARCHITECTURES[self.architecture][0]
        if self.preset not in preset_names(family):
            raise ValueError(
                f"unknown --preset {self.preset!r} for --architecture {self.architecture}; "
                f"expected one of {preset_names(family)}"
            )
        unknown = set(self.quantize) - {"float32", "dynamic", "float16", "int8"}
        if unknown:
            raise ValueError(f"unknown --quantize values {sorted(unknown)}; expected float32, dynamic, float16, int8")
        check_augmentation_names(self.augment)
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"--test-fraction must be in (0, 1). Received: {self.test_fraction}")


SMOKE = dict(preset="tiny", epochs=2, batch_size=32, warmup_epochs=1)
SMOKE_EXAMPLES = (96, 64)  # train, test: three batches of 32

# (architecture, --data or its kind) -> the settings of the README's run on that
# data, for the flags left at their default: the digits defaults (an 8x8 preset
# over 28x28 images, 100 epochs) would take days on a CPU there.
DATA_DEFAULTS = {
    ("vit", "builtin:fashion_mnist"): dict(
        preset="mnist", epochs=40, batch_size=128, warmup_epochs=1, augment=("translate", "flip"), dropout=0.0
    ),
    ("cnn", "builtin:fashion_mnist"): dict(preset="mnist", epochs=6, batch_size=128, warmup_epochs=1, augment=("none",)),
    # MNIST-format files (28x28): the settings of the MNIST runs; no flip, which turns digits into other shapes.
    ("vit", "idx"): dict(
        preset="mnist", epochs=30, batch_size=64, warmup_epochs=2, augment=("translate", "rotation"), dropout=0.0,
        label_smoothing=0.1,
    ),
    ("cnn", "idx"): dict(preset="mnist", epochs=6, batch_size=128, warmup_epochs=1, augment=("none",)),
}


def with_data_defaults(cfg):
    """`cfg` with `DATA_DEFAULTS` for its data applied to the fields still at their default (not with --smoke)."""
    kind = cfg.data.split(":", 1)[0]
    defaults = DATA_DEFAULTS.get((cfg.architecture, cfg.data), DATA_DEFAULTS.get((cfg.architecture, kind)))
    if defaults is None or cfg.smoke:
        return cfg
    resolved = replace_defaults(cfg, **defaults)
    changed = [name for name in defaults if getattr(resolved, name) != getattr(cfg, name)]
    if changed:
        print(f"defaults for {cfg.data} ({cfg.architecture}): {as_flags(resolved, changed)}", flush=True)
    return resolved


def load_data(cfg):
    family = ARCHITECTURES[cfg.architecture][0]
    image_size = get_preset(family, cfg.preset)["image_size"]  # for imagefolder: resized to it
    train, test = load_image_dataset(cfg.data, test_fraction=cfg.test_fraction, seed=cfg.seed, image_size=image_size)
    if cfg.smoke:
        train, test = smoke_subsets(train, test, SMOKE_EXAMPLES, cfg.seed)
    print(f"data {cfg.data}: {len(train)} train / {len(test)} test images of {train.image_size} "
          f"x{train.num_channels}, {train.num_classes} classes", flush=True)
    return train, test


def build_model(cfg, train):
    model_class = ARCHITECTURES[cfg.architecture][1]
    model = model_class.from_preset(
        cfg.preset,
        image_size=train.image_size,
        num_channels=train.num_channels,
        num_classes=train.num_classes,
        class_names=train.class_names,
        **({} if cfg.dropout is None else {"dropout": cfg.dropout}),
    )
    steps_per_epoch = -(-len(train) // cfg.batch_size)
    schedule = WarmupCosineDecay(
        peak_learning_rate=cfg.learning_rate,
        warmup_steps=min(cfg.warmup_epochs, cfg.epochs) * steps_per_epoch,
        total_steps=cfg.epochs * steps_per_epoch,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
    )
    print(f"model {type(model).__name__} ({cfg.architecture}) preset {cfg.preset!r}: "
          f"{model.count_params():,} parameters", flush=True)
    return model


def main(argv=None):
    cfg = with_data_defaults(parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.vit"))
    strategy = recipe_strategy(cfg.strategy)  # before any TensorFlow op: collectives are set up at start
    cfg, out = start_run(cfg, SMOKE)
    started = time.perf_counter()

    train, test = load_data(cfg)
    with strategy.scope():
        model = build_model(cfg, train)
    num_classes = train.num_classes
    train_batches = image_batches(
        train, cfg.batch_size, shuffle=True, seed=cfg.seed,
        augment=image_augmentation(cfg.augment, train.image_size, cfg.seed), num_classes=num_classes,
    )
    test_batches = image_batches(test, 256, num_classes=num_classes)
    history = fit(
        model, train_batches, epochs=cfg.epochs, run_dir=out, validation_data=test_batches, resume=cfg.resume,
        strategy=strategy,
    )
    model = chief_model(model, strategy, out)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None
    train_seconds = time.perf_counter() - started
    plot_history(history, out / "history.png")

    # === Evaluate on the held-out split ===
    result = model.classify(test.images)
    report = evaluate_classifier(result["class_ids"], test, out)
    misclassified = plot_misclassified(
        test.images, test.labels, result["class_ids"], test.class_names, out / "misclassified.png"
    )
    if cfg.attention_maps > 0 and cfg.architecture != "vit":
        print(f"no attention.png: --architecture {cfg.architecture} has no attention", flush=True)
    elif cfg.attention_maps > 0 and model.pooling == "class_token":
        shown = test.images[: cfg.attention_maps]
        titles = [f"{test.class_names[t]} -> {p}" for t, p in zip(test.labels, result["labels"][: len(shown)])]
        plot_class_token_attention(model, shown, out / "attention.png", titles=titles)

    # === Save and export, each parity-checked ===
    save_keras_model(model, out)
    exports = export_run(
        model, out,
        sample_inputs={"images": test.images[:8]},
        representative_data={"images": train.images[:200]},
        quantizations=[None if q == "float32" else q for q in cfg.quantize],
    )
    add_tflite_accuracy(model, exports, {"images": test.images}, test.labels)
    add_tflite_latency(model, exports, {"images": test.images})

    metrics = {
        "data": cfg.data,
        "architecture": cfg.architecture,
        "preset": cfg.preset,
        "parameters": model.count_params(),
        "train_examples": len(train),
        "test_examples": len(test),
        "epochs": len(history.get("loss", [])),
        **{key: report[key] for key in ("accuracy", "precision", "recall", "f1", "confusion_matrix")},
        "misclassified": misclassified,
        "exports": exports,
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1),
    }
    write_metrics(out, metrics)
    pairs = [f"{test.class_names[t]}->{p}" for t, p in zip(test.labels[:8], result["labels"][:8])]
    print_summary(metrics, ["  ".join(pairs)], serve_name="vit")
    return metrics

if __name__ == "__main__":
    run_main(main)
