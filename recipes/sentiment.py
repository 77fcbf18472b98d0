"""Train a sentiment (text) classifier, Transformer or baseline, evaluate it, export string-in models.

    python -m recipes.sentiment --data rt-polarity:../shared/data/rt-polarity
    python -m recipes.sentiment --data rt-polarity:../shared/data/rt-polarity --architecture bilstm
    python -m recipes.sentiment --data tsv:reviews.tsv          # TEXT<TAB>LABEL per line
    python -m recipes.sentiment --data tfds:imdb_reviews --preset base   # online
    python -m recipes.sentiment --smoke --data tsv:reviews.tsv --out /tmp/sentiment-smoke
    python -m recipes.sentiment --data rt-polarity:../shared/data/rt-polarity --init minilm   # fine-tune MiniLM

--architecture picks the model: transformer (TextClassifier, default), lstm
or bilstm (LSTMClassifier, uni- or bidirectional) or cnn (CNNClassifier, Kim
2014); --preset names a preset of its family (text_classifier,
lstm_classifier, cnn_classifier; each "small" has 550-590k parameters with
an 8,000-token vocabulary, mostly its embedding table). Every
architecture gets the same data, tokenizer, training loop, evaluation and
exports.

Learns a WordPiece vocabulary (or a SentencePiece model with --tokenizer
sentencepiece) on the training split, trains the classifier (or, with
--init minilm or --init CHECKPOINT_DIR, fine-tunes a pretrained BERT-family
encoder with its own vocabulary: learning rate 5e-5, 3 epochs, no token
dropout unless given),
reports accuracy, precision/recall/F1 and a confusion matrix on a held-out
split (seeded), and writes into --out: config.json, vocabulary.txt
(+ tokenizer.model for SentencePiece),
history.csv, history.png, metrics.json, confusion_matrix.png, model.keras,
saved_model/1/ (raw strings in, labels + probabilities out),
model.tflite / model_dynamic.tflite (raw strings in; tensorflow-text custom
ops) and model_token_ids.tflite / model_token_ids_dynamic.tflite (token ids
in, for apps that tokenize with vocabulary.txt), each checked against Keras.
"""

import dataclasses
import time

import keras
import numpy as np

from zoo.data import load_text_dataset
from zoo.data.pipelines import text_batches
from zoo.export import export_run
from zoo.models import CNNClassifier, LSTMClassifier, TextClassifier, get_preset, preset_names
from zoo.models.baselines import LSTM_POOLINGS
from zoo.tokenizers import (
    TextPreprocessor,
    save_sentencepiece,
    save_vocabulary,
    train_sentencepiece,
    train_wordpiece,
)
from zoo.training import TrainingTimer, WarmupCosineDecay, fit, parse_config, plot_history
from zoo.training.cli import run_main
from zoo.training.distribute import StrategyName, chief_model, recipe_strategy, strategy_field
from zoo.training.config import replace_defaults
from zoo.training.runs import (
    add_tflite_accuracy,
    evaluate_classifier,
    print_summary,
    save_keras_model,
    smoke_subsets,
    start_run,
    write_metrics,
)


# --architecture -> (preset family, model class, constructor options, --pooling choices; the first is the default)
ARCHITECTURES = {
    "transformer": ("text_classifier", TextClassifier, {}, ("mean", "class_token")),
    "lstm": ("lstm_classifier", LSTMClassifier, {}, LSTM_POOLINGS),
    "bilstm": ("lstm_classifier", LSTMClassifier, {"bidirectional": True}, LSTM_POOLINGS),
    "cnn": ("cnn_classifier", CNNClassifier, {}, ()),  # max over time, always
}


@dataclasses.dataclass
class Config:
    architecture: str = dataclasses.field(
        default="transformer", metadata={"help": "transformer, lstm, bilstm (bidirectional LSTM) or cnn (Kim 2014)"}
    )
    preset: str = dataclasses.field(
        default="small",
        metadata={"help": "preset of the architecture's family (transformer: tiny, small, base; lstm, bilstm, cnn: tiny, small)"},
    )
    init: str | None = dataclasses.field(
        default=None, metadata={"help": "start from a pretrained encoder: minilm or a BERT checkpoint directory"}
    )
    data: str = dataclasses.field(
        default="tfds:imdb_reviews",
        metadata={"help": "tsv:PATH, csv:PATH, jsonl:PATH, rt-polarity:DIR, tfds:NAME"},
    )
    text_column: str | None = dataclasses.field(default=None, metadata={"help": "text column (name or index)"})
    label_column: str | None = dataclasses.field(default=None, metadata={"help": "label column (name or index)"})
    max_bad_fraction: float = dataclasses.field(default=0.01, metadata={"help": "fail if more rows are unreadable"})
    tokenizer: str = dataclasses.field(default="wordpiece", metadata={"help": "wordpiece or sentencepiece"})
    vocabulary_size: int = dataclasses.field(default=8000, metadata={"help": "largest vocabulary to learn"})
    sequence_length: int | None = dataclasses.field(default=None, metadata={"help": "tokens per example (default: preset's)"})
    pooling: str | None = dataclasses.field(
        default=None,
        metadata={"help": "transformer: mean (default) or class_token; lstm, bilstm: last (default), mean or max; cnn: none"},
    )
    token_dropout: float = dataclasses.field(default=0.2, metadata={"help": "fraction of training word pieces replaced by [UNK]"})
    epochs: int = 8
    batch_size: int = 32
    learning_rate: float = dataclasses.field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = 0.01
    warmup_epochs: int = 1
    test_fraction: float = dataclasses.field(default=0.1, metadata={"help": "held-out fraction when the source has no test split"})
    seed: int = 0
    quantize: tuple[str, ...] = dataclasses.field(default=("float32", "dynamic"), metadata={"help": "TFLite variants to export"})
    out: str = dataclasses.field(default="saved_models/sentiment", metadata={"help": "run folder"})
    smoke: bool = dataclasses.field(default=False, metadata={"help": "tiny preset, few examples: a quick end-to-end check"})
    resume: bool = dataclasses.field(default=False, metadata={"help": "continue the interrupted run in --out"})
    strategy: StrategyName = strategy_field()

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown --architecture {self.architecture!r}; expected one of {list(ARCHITECTURES)}")
        family, _, _, poolings = ARCHITECTURES[self.architecture]
        if self.preset not in preset_names(family):
            raise ValueError(
                f"unknown --preset {self.preset!r} for --architecture {self.architecture}; "
                f"expected one of {preset_names(family)}"
            )
        if self.init and self.architecture != "transformer":
            raise ValueError(f"--init fine-tunes a pretrained Transformer; it needs --architecture transformer. "
                             f"Received: --architecture {self.architecture}")
        if self.tokenizer not in ("wordpiece", "sentencepiece"):
            raise ValueError(f"--tokenizer must be wordpiece or sentencepiece. Received: {self.tokenizer!r}")
        if self.pooling is not None and self.pooling not in poolings:
            expected = " or ".join(poolings) if poolings else "none (it always takes the max over time)"
            raise ValueError(f"--pooling for --architecture {self.architecture} must be {expected}. "
                             f"Received: {self.pooling!r}")
        unknown = set(self.quantize) - {"float32", "dynamic", "float16"}
        if unknown:
            raise ValueError(f"unknown --quantize values {sorted(unknown)}; expected float32, dynamic, float16")


SMOKE = dict(preset="tiny", epochs=2, vocabulary_size=400)
# Fine-tuning a pretrained encoder: BERT's recipe (Devlin et al. 2019, small learning rate, few epochs).
INIT_DEFAULTS = dict(learning_rate=5e-5, epochs=3, token_dropout=0.0, warmup_epochs=0)
SMOKE_EXAMPLES = (96, 32)  # train, test


def load_data(cfg):
    train, test = load_text_dataset(
        cfg.data, text_column=cfg.text_column, label_column=cfg.label_column,
        test_fraction=cfg.test_fraction, seed=cfg.seed, max_bad_fraction=cfg.max_bad_fraction,
    )
    if cfg.smoke:
        train, test = smoke_subsets(train, test, SMOKE_EXAMPLES, cfg.seed)
    print(f"data {cfg.data}: {len(train)} train / {len(test)} test texts, classes {train.class_names}", flush=True)
    return train, test


def preprocessor_for(cfg, train, out):
    """Learn the tokenizer on the training split (or reuse the run's own when resuming)."""
    family = ARCHITECTURES[cfg.architecture][0]
    sequence_length = cfg.sequence_length or get_preset(family, cfg.preset)["sequence_length"]
    vocabulary_path, model_path = out / "vocabulary.txt", out / "tokenizer.model"
    started = time.perf_counter()
    if cfg.init:
        from zoo.checkpoints import load_bert

        preprocessor = load_bert(cfg.init).preprocessor(sequence_length)
        save_vocabulary(preprocessor.vocabulary, vocabulary_path)
        print(f"tokenizer: {preprocessor.vocabulary_size} WordPiece tokens of {cfg.init!r}", flush=True)
        return preprocessor
    if cfg.tokenizer == "sentencepiece":
        if not (cfg.resume and model_path.is_file()):
            save_sentencepiece(train_sentencepiece(train.texts, cfg.vocabulary_size), model_path)
        preprocessor = TextPreprocessor(sentencepiece_model=str(model_path), sequence_length=sequence_length)
        save_vocabulary(preprocessor.vocabulary, vocabulary_path)  # the pieces, for reference
    else:
        if not (cfg.resume and vocabulary_path.is_file()):
            save_vocabulary(train_wordpiece(train.texts, cfg.vocabulary_size), vocabulary_path)
        preprocessor = TextPreprocessor(str(vocabulary_path), sequence_length=sequence_length)
    print(f"tokenizer: {preprocessor.vocabulary_size} {cfg.tokenizer} tokens "
          f"({time.perf_counter() - started:.1f}s)", flush=True)
    return preprocessor


def build_model(cfg, train, preprocessor):
    _, model_class, options, _ = ARCHITECTURES[cfg.architecture]
    if cfg.pooling is not None:
        options = {**options, "pooling": cfg.pooling}
    if cfg.init:
        model = TextClassifier.from_checkpoint(
            cfg.init, num_classes=train.num_classes, class_names=train.class_names,
            sequence_length=preprocessor.sequence_length, dropout=0.1, **options,
        )
    else:
        model = model_class.from_preset(
            cfg.preset, preprocessor=preprocessor, sequence_length=preprocessor.sequence_length,
            num_classes=train.num_classes, class_names=train.class_names, **options,
        )
    steps_per_epoch = -(-len(train) // cfg.batch_size)
    schedule = WarmupCosineDecay(
        peak_learning_rate=cfg.learning_rate,
        warmup_steps=min(cfg.warmup_epochs, cfg.epochs) * steps_per_epoch,
        total_steps=cfg.epochs * steps_per_epoch,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    origin = f"from {cfg.init!r}" if cfg.init else f"preset {cfg.preset!r}"
    print(f"model {type(model).__name__} ({cfg.architecture}) {origin}: {model.count_params():,} parameters, "
          f"{model.sequence_length} tokens per text", flush=True)
    return model


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.sentiment")
    if cfg.init:
        cfg = replace_defaults(cfg, **INIT_DEFAULTS)
    strategy = recipe_strategy(cfg.strategy)  # before any TensorFlow op: collectives are set up at start
    cfg, out = start_run(cfg, SMOKE)
    started = time.perf_counter()

    train, test = load_data(cfg)
    preprocessor = preprocessor_for(cfg, train, out)
    with strategy.scope():
        model = build_model(cfg, train, preprocessor)
    train_batches = text_batches(
        train, preprocessor, cfg.batch_size, shuffle=True, seed=cfg.seed, token_dropout=cfg.token_dropout
    )
    test_batches = text_batches(test, preprocessor, 256)
    timer = TrainingTimer()
    history = fit(
        model, train_batches, epochs=cfg.epochs, run_dir=out, validation_data=test_batches,
        resume=cfg.resume, callbacks=[timer], strategy=strategy,
    )
    model = chief_model(model, strategy, out)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None
    train_seconds = time.perf_counter() - started
    plot_history(history, out / "history.png")

    # === Evaluate on the held-out split ===
    result = model.classify(test.texts)
    report = evaluate_classifier(result["class_ids"], test, out)

    # === Save and export, each parity-checked ===
    save_keras_model(model, out)
    test_inputs = {"text": np.array(test.texts, dtype=object)}
    test_inputs.update({name: value.numpy() for name, value in preprocessor(test.texts).items()})
    exports = export_run(
        model, out,
        sample_inputs={name: value[:8] for name, value in test_inputs.items()},
        quantizations=[None if q == "float32" else q for q in cfg.quantize],
    )
    add_tflite_accuracy(model, exports, test_inputs, test.labels)

    metrics = {
        "data": cfg.data,
        "architecture": cfg.architecture,
        "preset": None if cfg.init else cfg.preset,
        "init": cfg.init,
        "parameters": model.count_params(),
        "tokenizer": cfg.tokenizer,
        "vocabulary_size": preprocessor.vocabulary_size,
        "sequence_length": model.sequence_length,
        "train_examples": len(train),
        "test_examples": len(test),
        "epochs": len(history.get("loss", [])),
        **{key: report[key] for key in ("accuracy", "precision", "recall", "f1", "confusion_matrix")},
        "exports": exports,
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1),
        # Padded tokens through the model per second of training epochs (this process only).
        "train_tokens_per_second": round(timer.epochs * len(train) * model.sequence_length / timer.seconds)
        if timer.seconds
        else None,
    }
    write_metrics(out, metrics)
    examples = [
        f"{test.class_names[truth]:>9} -> {label:<9} {text[:70]}"
        for text, truth, label in zip(test.texts[:6], test.labels[:6], result["labels"][:6])
    ]
    print_summary(metrics, examples, serve_name="sentiment")
    return metrics


if __name__ == "__main__":
    run_main(main)
