"""Train a sentiment (text) classifier, Transformer or baseline, evaluate it, export string-in models.

    python -m recipes.sentiment --data rt-polarity:../shared/data/rt-polarity
    python -m recipes.sentiment --data rt-polarity:../shared/data/rt-polarity --architecture bilstm
    python -m recipes.sentiment --data tsv:reviews.tsv          # TEXT<TAB>LABEL per line
    python -m recipes.sentiment --data tfds:imdb_reviews --preset base   # online
    python -m recipes.sentiment --smoke --data tsv:reviews.tsv --out /tmp/sentiment-smoke
    python -m recipes.sentiment --data rt-polarity:../shared/data/rt-polarity --init minilm   # fine-tune MiniLM

--architecture picks the model: transformer (TextClassifier, default), lstm or bilstm
(LSTMClassifier, uni- or bidirectional) or cnn (CNNClassifier, Kim 2014); --preset names a preset
of its family (text_classifier, lstm_classifier, cnn_classifier; each "small" has 550-590k
parameters with an 8,000-token vocabulary, mostly its embedding table). Every architecture gets the
same data, tokenizer, training loop, evaluation and exports.

Learns a WordPiece vocabulary (or a SentencePiece model with --tokenizer sentencepiece) on the
training split, trains the classifier (or, with --init minilm or --init CHECKPOINT_DIR, fine-tunes
a pretrained BERT-family encoder with its own vocabulary: learning rate 5e-5, 3 epochs, no token
dropout unless given), reports accuracy, precision/recall/F1 and a confusion matrix on a held-out
split (seeded), and writes into --out: config.json, vocabulary.txt (+ tokenizer.model for
SentencePiece), history.csv, history.png, metrics.json, confusion_matrix.png, model.keras,
saved_model/1/ (raw strings in, labels + probabilities out), model.tflite / model_dynamic.tflite
(raw strings in; tensorflow-text custom ops) and model_token_ids.tflite /
model_token_ids_dynamic.tflite (token ids in, for apps that tokenize with vocabulary.txt), each
checked against Keras.
"""

import dataclasses

import numpy as np

from recipes import common
from recipes.common import Run, VariantsConfig, option
from zoo.data import load_text_dataset
from zoo.data.pipelines import text_batches
from zoo.models import CNNClassifier, LSTMClassifier, TextClassifier, get_preset, preset_names
from zoo.models.baselines import LSTM_POOLINGS
from zoo.training import replace_defaults
from zoo.training.cli import run_main

# --architecture -> (preset family, model class, its options, --pooling choices: the 1st default)
ARCHITECTURES = {
    "transformer": ("text_classifier", TextClassifier, {}, ("mean", "class_token")),
    "lstm": ("lstm_classifier", LSTMClassifier, {}, LSTM_POOLINGS),
    "bilstm": ("lstm_classifier", LSTMClassifier, {"bidirectional": True}, LSTM_POOLINGS),
    "cnn": ("cnn_classifier", CNNClassifier, {}, ()),  # max over time, always
}


@dataclasses.dataclass
class Config(VariantsConfig):
    architecture: str = option("transformer", "transformer, lstm, bilstm (bidirectional LSTM) or cnn (Kim 2014)")
    preset: str = option(
        "small",
        "preset of the architecture's family (transformer: tiny, small, base; lstm, bilstm, cnn: tiny, small)",
    )
    init: str | None = option(None, "start from a pretrained encoder: minilm or a BERT checkpoint directory")
    data: str = option("tfds:imdb_reviews", "tsv:PATH, csv:PATH, jsonl:PATH, rt-polarity:DIR, tfds:NAME")
    text_column: str | None = option(None, "text column (name or index)")
    label_column: str | None = option(None, "label column (name or index)")
    max_bad_fraction: float = option(0.01, "fail if more rows are unreadable")
    tokenizer: str = option("wordpiece", "wordpiece or sentencepiece")
    vocabulary_size: int = option(8000, "largest vocabulary to learn")
    sequence_length: int | None = option(None, "tokens per example (default: preset's)")
    pooling: str | None = option(
        None,
        "transformer: mean (default) or class_token; lstm, bilstm: last (default), mean or max; cnn: none",
    )
    token_dropout: float = option(0.2, "fraction of training word pieces replaced by [UNK]")
    epochs: int = 8
    warmup_epochs: int = 1
    test_fraction: float = option(0.1, "held-out fraction when the source has no test split")
    quantize: tuple[str, ...] = option(("float32", "dynamic"), "TFLite variants to export")
    out: str = option("saved_models/sentiment", "run folder")

    def __post_init__(self):
        common.check_choice("architecture", self.architecture, ARCHITECTURES)
        family, _, _, poolings = ARCHITECTURES[self.architecture]
        common.check_preset(self.preset, preset_names(family), self.architecture)
        if self.init and self.architecture != "transformer":
            raise ValueError(
                "--init fine-tunes a pretrained Transformer; it needs --architecture transformer. "
                f"Received: --architecture {self.architecture}"
            )
        common.check_tokenizer(self.tokenizer)
        if self.pooling is not None and self.pooling not in poolings:
            expected = " or ".join(poolings) or "none (it always takes the max over time)"
            raise ValueError(
                f"--pooling for --architecture {self.architecture} must be {expected}. Received: {self.pooling!r}"
            )
        common.check_quantize(self.quantize, ("float32", "dynamic", "float16"))


SMOKE = dict(preset="tiny", epochs=2, vocabulary_size=400)
# Fine-tuning a pretrained encoder: BERT's recipe (Devlin et al. 2019, small rate, few epochs).
INIT_DEFAULTS = dict(learning_rate=5e-5, epochs=3, token_dropout=0.0, warmup_epochs=0)
SMOKE_EXAMPLES = (96, 32)  # train, test


def load_data(cfg):
    train, test = load_text_dataset(
        cfg.data,
        text_column=cfg.text_column,
        label_column=cfg.label_column,
        test_fraction=cfg.test_fraction,
        seed=cfg.seed,
        max_bad_fraction=cfg.max_bad_fraction,
    )
    if cfg.smoke:
        train, test = common.smoke_subsets(train, test, SMOKE_EXAMPLES, cfg.seed)
    print(f"data {cfg.data}: {len(train)} train / {len(test)} test texts, classes {train.class_names}", flush=True)
    return train, test


def preprocessor_for(cfg, train, out):
    """Learn the tokenizer on the training split (or reuse the run's own when resuming)."""
    family = ARCHITECTURES[cfg.architecture][0]
    length = cfg.sequence_length or get_preset(family, cfg.preset)["sequence_length"]
    if cfg.init:
        from zoo.checkpoints import load_bert

        return common.keep_checkpoint_vocabulary(load_bert(cfg.init).preprocessor(length), out, cfg.init)
    return common.learn_tokenizer(cfg, train.texts, out, length)


def build_model(cfg, train, preprocessor):
    _, model_class, options, _ = ARCHITECTURES[cfg.architecture]
    options = dict(options, num_classes=train.num_classes, class_names=train.class_names)
    if cfg.pooling is not None:
        options["pooling"] = cfg.pooling
    options["sequence_length"] = preprocessor.sequence_length
    if cfg.init:
        model = TextClassifier.from_checkpoint(cfg.init, dropout=0.1, **options)
    else:
        model = model_class.from_preset(cfg.preset, preprocessor=preprocessor, **options)
    model = common.with_lora(model, cfg)  # --lora-rank: before compile
    common.compile_with_schedule(model, cfg, steps_per_epoch=-(-len(train) // cfg.batch_size))
    origin = f"from {cfg.init!r}" if cfg.init else f"preset {cfg.preset!r}"
    print(
        f"model {type(model).__name__} ({cfg.architecture}) {origin}: {model.count_params():,} "
        f"parameters, {model.sequence_length} tokens per text",
        flush=True,
    )
    return model


def main(argv=None):
    cfg = common.parse_recipe_config(Config, argv, __doc__, "sentiment")
    if cfg.init:
        cfg = replace_defaults(cfg, **INIT_DEFAULTS)
    run = Run.start(cfg, SMOKE)
    cfg, out = run.cfg, run.out
    train, test = load_data(cfg)
    preprocessor = preprocessor_for(cfg, train, out)
    with run.scope():
        model = build_model(cfg, train, preprocessor)
    train_batches = text_batches(
        train, preprocessor, cfg.batch_size, shuffle=True, seed=cfg.seed, token_dropout=cfg.token_dropout
    )
    test_batches = text_batches(test, preprocessor, 256)
    model, history = run.fit(model, train_batches, validation_data=test_batches)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None

    # === Evaluate on the held-out split, save and export (each parity-checked) ===
    result = model.classify(test.texts)
    report = common.evaluate_classifier(result["class_ids"], test, out)
    variants = run.variants(model, "accuracy", report["accuracy"], common.accuracy_on(test.texts, test.labels))
    inputs = {"text": np.array(test.texts, dtype=object)}
    inputs.update({name: value.numpy() for name, value in preprocessor(test.texts).items()})
    exports = common.export_classifier(run, model, inputs, test.labels)

    metrics = common.classifier_metrics(
        run,
        model,
        history,
        train,
        test,
        preset=None if cfg.init else cfg.preset,
        init=cfg.init,
        tokenizer=cfg.tokenizer,
        vocabulary_size=preprocessor.vocabulary_size,
        sequence_length=model.sequence_length,
        **report,
        variants=variants,
        exports=exports,
        # Padded tokens through the model per second of training epochs (this process only).
        train_tokens_per_second=run.per_training_second(len(train) * model.sequence_length),
    )
    run.write_json("metrics.json", metrics)
    examples = [
        f"{test.class_names[truth]:>9} -> {label:<9} {text[:70]}"
        for text, truth, label in zip(test.texts[:6], test.labels[:6], result["labels"][:6])
    ]
    common.print_summary(metrics, examples, serve_name="sentiment")
    return metrics


if __name__ == "__main__":
    run_main(main)
