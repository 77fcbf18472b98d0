"""Train a Vision Transformer (or a CNN baseline) image classifier, evaluate it, export it for serving.

    python -m recipes.vit                      # scikit-learn digits, a few minutes on 2 CPU cores
    python -m recipes.vit --data idx:../shared/data/mnist   # its own defaults: the README's MNIST run
    python -m recipes.vit --data idx:../shared/data/mnist --architecture cnn
    python -m recipes.vit --data builtin:fashion_mnist   # its own defaults: the README's 90% run
    python -m recipes.vit --smoke --out /tmp/vit-smoke
    python -m recipes.vit --resume             # continue an interrupted run

--architecture picks the model: vit (ImageClassifier, default) or cnn (CNNImageClassifier, a small
VGG-style network); --preset names a preset of its family (image_classifier or
cnn_image_classifier: both have tiny, digits, mnist and cifar). Both get the same data,
augmentation, training loop, evaluation and exports.

Writes into --out: config.json, history.csv, history.png, metrics.json, confusion_matrix.png,
misclassified.png (a grid of held-out mistakes), attention.png ([CLS] attention over patches for a
few images; ViT only), model.keras, saved_model/1/ (TF Serving, uint8 images in, labels +
probabilities out) and model{,_float16,_dynamic,_int8}.tflite, each reloaded and compared with the
Keras model.

The defaults (preset digits, 100 epochs, ...) suit the 8x8 digits. For builtin:fashion_mnist and
idx: data, flags left at their default take the settings of the README's runs instead
(DATA_DEFAULTS below, printed by the recipe; explicit flags win): Fashion-MNIST ViT 90.3%, CNN
92.8%; MNIST (idx:) ViT 98.6%.
"""

import dataclasses

import keras

from recipes import common
from recipes.common import Run, VariantsConfig, option
from zoo.attention_maps import plot_class_token_attention
from zoo.data import load_image_dataset
from zoo.data.augment import check_augmentation_names, image_augmentation
from zoo.data.pipelines import image_batches
from zoo.models import CNNImageClassifier, ImageClassifier, preset_names
from zoo.models.presets import get_preset
from zoo.training.cli import run_main
from zoo.training.plots import plot_misclassified

# --architecture -> (preset family, model class)
ARCHITECTURES = {
    "vit": ("image_classifier", ImageClassifier),
    "cnn": ("cnn_image_classifier", CNNImageClassifier),
}
QUANTIZE = ("float32", "dynamic", "float16", "int8")


@dataclasses.dataclass
class Config(VariantsConfig):
    architecture: str = option("vit", "vit (Vision Transformer) or cnn (VGG-style baseline)")
    preset: str = option("digits", "preset of the architecture's family (tiny, digits, mnist, cifar)")
    data: str = option("builtin:digits", "builtin:digits, builtin:fashion_mnist, idx:DIR, imagefolder:DIR, tfds:NAME")
    epochs: int = option(100, "training epochs")
    batch_size: int = 64
    dropout: float | None = option(None, "dropout in the blocks (cnn: before the head; default: the preset's)")
    weight_decay: float = 0.05
    warmup_epochs: int = 5
    label_smoothing: float = 0.0
    augment: tuple[str, ...] = option(
        ("translate",), "training augmentation, comma-separated: translate, crop, flip, rotation, or none"
    )
    test_fraction: float = option(0.2, "held-out fraction when the source has no test split")
    quantize: tuple[str, ...] = option(QUANTIZE, "TFLite variants to export")
    attention_maps: int = option(
        4, "held-out images whose [CLS] attention over patches goes into attention.png (0: none; vit only)"
    )
    out: str = option("saved_models/vit", "run folder")
    smoke: bool = option(False, "tiny preset, few batches: a quick end-to-end check")

    def __post_init__(self):
        common.check_choice("architecture", self.architecture, ARCHITECTURES)
        family = ARCHITECTURES[self.architecture][0]
        common.check_preset(self.preset, preset_names(family), self.architecture)
        common.check_quantize(self.quantize, QUANTIZE)
        check_augmentation_names(self.augment)
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"--test-fraction must be in (0, 1). Received: {self.test_fraction}")


SMOKE = dict(preset="tiny", epochs=2, batch_size=32, warmup_epochs=1)
SMOKE_EXAMPLES = (96, 64)  # train, test: three batches of 32

# (architecture, --data or its kind) -> the settings of the README's run on that data, for the
# flags left at their default: the digits defaults (an 8x8 preset over 28x28 images, 100 epochs)
# would take days on a CPU there.
FASHION_CNN = dict(preset="mnist", epochs=6, batch_size=128, warmup_epochs=1, augment=("none",))
FASHION_VIT = dict(FASHION_CNN, epochs=40, augment=("translate", "flip"), dropout=0.0)
DATA_DEFAULTS = {
    ("vit", "builtin:fashion_mnist"): FASHION_VIT,
    ("cnn", "builtin:fashion_mnist"): FASHION_CNN,
    # MNIST-format files (28x28): the MNIST runs' settings; no flip (it turns digits into others).
    ("vit", "idx"): dict(
        preset="mnist",
        epochs=30,
        batch_size=64,
        warmup_epochs=2,
        augment=("translate", "rotation"),
        dropout=0.0,
        label_smoothing=0.1,
    ),
    ("cnn", "idx"): FASHION_CNN,
}


def with_data_defaults(cfg):
    """`cfg` with `DATA_DEFAULTS` for its data on the fields left at their default (not --smoke)."""
    return common.with_data_defaults(cfg, DATA_DEFAULTS)


def load_data(cfg):
    family = ARCHITECTURES[cfg.architecture][0]
    image_size = get_preset(family, cfg.preset)["image_size"]  # for imagefolder: resized to it
    train, test = load_image_dataset(cfg.data, test_fraction=cfg.test_fraction, seed=cfg.seed, image_size=image_size)
    if cfg.smoke:
        train, test = common.smoke_subsets(train, test, SMOKE_EXAMPLES, cfg.seed)
    print(
        f"data {cfg.data}: {len(train)} train / {len(test)} test images of {train.image_size} "
        f"x{train.num_channels}, {train.num_classes} classes",
        flush=True,
    )
    return train, test


def build_model(cfg, train):
    model = ARCHITECTURES[cfg.architecture][1].from_preset(
        cfg.preset,
        image_size=train.image_size,
        num_channels=train.num_channels,
        num_classes=train.num_classes,
        class_names=train.class_names,
        **({} if cfg.dropout is None else {"dropout": cfg.dropout}),
    )
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=cfg.label_smoothing)
    model = common.with_lora(model, cfg)  # --lora-rank: before compile
    common.compile_with_schedule(model, cfg, steps_per_epoch=-(-len(train) // cfg.batch_size), loss=loss)
    print(
        f"model {type(model).__name__} ({cfg.architecture}) preset {cfg.preset!r}: {model.count_params():,} parameters",
        flush=True,
    )
    return model


def plot_attention(cfg, model, test, labels, out):
    """`attention.png`: the [CLS] attention over patches of the first held-out images."""
    if cfg.attention_maps > 0 and cfg.architecture != "vit":
        print(f"no attention.png: --architecture {cfg.architecture} has no attention", flush=True)
    elif cfg.attention_maps > 0 and model.pooling == "class_token":
        shown = test.images[: cfg.attention_maps]
        pairs = zip(test.labels, labels[: len(shown)])
        titles = [f"{test.class_names[truth]} -> {label}" for truth, label in pairs]
        plot_class_token_attention(model, shown, out / "attention.png", titles=titles)


def main(argv=None):
    cfg = with_data_defaults(common.parse_recipe_config(Config, argv, __doc__, "vit"))
    run = Run.start(cfg, SMOKE)
    cfg, out = run.cfg, run.out
    train, test = load_data(cfg)
    with run.scope():
        model = build_model(cfg, train)
    num_classes = train.num_classes
    augment = image_augmentation(cfg.augment, train.image_size, cfg.seed)
    train_batches = image_batches(
        train, cfg.batch_size, shuffle=True, seed=cfg.seed, augment=augment, num_classes=num_classes
    )
    test_batches = image_batches(test, 256, num_classes=num_classes)
    model, history = run.fit(model, train_batches, validation_data=test_batches)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None

    # === Evaluate on the held-out split ===
    result = model.classify(test.images)
    report = common.evaluate_classifier(result["class_ids"], test, out)
    misclassified = plot_misclassified(
        test.images, test.labels, result["class_ids"], test.class_names, out / "misclassified.png"
    )
    plot_attention(cfg, model, test, result["labels"], out)

    # === Variants (--lora-rank merged, --quantize-weights scored), then save and export, each checked ===
    variants = run.variants(model, "accuracy", report["accuracy"], common.accuracy_on(test.images, test.labels))
    representative = {"images": train.images[:200]}
    exports = common.export_classifier(
        run, model, {"images": test.images}, test.labels, representative_data=representative
    )
    common.add_tflite_latency(exports, {"images": test.images})

    metrics = common.classifier_metrics(
        run, model, history, train, test, preset=cfg.preset, **report, misclassified=misclassified, variants=variants
    )
    metrics["exports"] = exports
    run.write_json("metrics.json", metrics)
    pairs = [f"{test.class_names[t]}->{p}" for t, p in zip(test.labels[:8], result["labels"][:8])]
    common.print_summary(metrics, ["  ".join(pairs)], serve_name="vit")
    return metrics


if __name__ == "__main__":
    run_main(main)
