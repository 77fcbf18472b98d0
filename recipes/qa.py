"""Train an extractive question answerer on SQuAD, report exact match and F1, export (question, context) models.

    python -m recipes.qa --data squad:../shared/data/squad/squad-v1.1-dev-part.json.gz   # fine-tune MiniLM
    python -m recipes.qa --data squad:train-v1.1.json --init scratch                    # no pretraining
    python -m recipes.qa --data tfds:squad                                              # online
    python -m recipes.qa --smoke --data squad:FILE.json --out /tmp/qa-smoke

Splits the questions by article (no article on both sides; `--test-fraction`
of the articles held out, seeded), cuts each context into windows of
`--sequence-length` tokens `--stride` context tokens apart, fine-tunes the
pretrained MiniLM encoder (`--init minilm`, the default; or a BERT-family
checkpoint directory; or `--init scratch` for the `--preset` from random
weights, with its own WordPiece vocabulary learned on the training
contexts), then answers every held-out question (best span over all
windows) and scores it with the official SQuAD v1.1 exact match and F1
(max over the reference answers). Writes into --out: config.json,
vocabulary.txt, qa.json (window layout for apps), history.csv/png,
metrics.json, predictions.json, model.keras, saved_model/1/ ((question,
context) strings in, answer strings + scores + character offsets out) and
model.tflite / model_dynamic.tflite (one window of token ids in, start/end
logits out), each checked against Keras, with EM/F1 of each TFLite file.
"""

import dataclasses
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from zoo.data.squad import load_squad, load_tfds_squad, split_by_article
from zoo.export import export_run
from zoo.export.question_answerer import tflite_answer
from zoo.metrics.squad import squad_scores
from zoo.models import QuestionAnswerer, preset_names
from zoo.tokenizers import TextPreprocessor, save_vocabulary, train_wordpiece
from zoo.tokenizers.spans import training_windows
from zoo.training import TrainingTimer, WarmupCosineDecay, fit, parse_config, plot_history
from zoo.training.cli import run_main
from zoo.training.distribute import StrategyName, chief_model, recipe_strategy, strategy_field
from zoo.training.config import replace_defaults
from zoo.training.runs import atomic_write_json, save_keras_model, start_run, write_metrics

DEFAULT_DATA = "squad:../shared/data/squad/squad-v1.1-dev-part.json.gz"


@dataclasses.dataclass
class Config:
    data: str = dataclasses.field(default=DEFAULT_DATA, metadata={"help": "squad:FILE.json[.gz] or tfds:squad"})
    init: str = dataclasses.field(
        default="minilm", metadata={"help": "minilm, a BERT checkpoint directory, or scratch (random --preset)"}
    )
    preset: str = dataclasses.field(default="small", metadata={"help": "QuestionAnswerer preset for --init scratch"})
    sequence_length: int = dataclasses.field(default=256, metadata={"help": "tokens per window"})
    max_question_length: int = dataclasses.field(default=64, metadata={"help": "question tokens kept"})
    stride: int = dataclasses.field(default=128, metadata={"help": "context tokens between window starts"})
    max_answer_length: int = dataclasses.field(default=30, metadata={"help": "longest answer in tokens"})
    vocabulary_size: int = dataclasses.field(default=8000, metadata={"help": "--init scratch: vocabulary to learn"})
    max_train_questions: int | None = dataclasses.field(default=None, metadata={"help": "use at most this many"})
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = dataclasses.field(default=1e-4, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = 0.01
    warmup_fraction: float = dataclasses.field(default=0.1, metadata={"help": "share of steps warming up"})
    test_fraction: float = dataclasses.field(default=0.2, metadata={"help": "share of the articles held out"})
    seed: int = 0
    quantize: tuple[str, ...] = dataclasses.field(default=("float32", "dynamic"), metadata={"help": "TFLite variants"})
    out: str = dataclasses.field(default="saved_models/qa", metadata={"help": "run folder"})
    smoke: bool = dataclasses.field(default=False, metadata={"help": "tiny model, few questions: a quick end-to-end check"})
    resume: bool = dataclasses.field(default=False, metadata={"help": "continue the interrupted run in --out"})
    strategy: StrategyName = strategy_field()

    def __post_init__(self):
        if self.preset not in preset_names("question_answerer"):
            raise ValueError(f"unknown --preset {self.preset!r}; expected one of {preset_names('question_answerer')}")
        unknown = set(self.quantize) - {"float32", "dynamic", "float16"}
        if unknown:
            raise ValueError(f"unknown --quantize values {sorted(unknown)}; expected float32, dynamic, float16")
        if not (self.data.startswith("squad:") or self.data.startswith("tfds:")):
            raise ValueError(f"--data must be squad:FILE or tfds:squad. Received: {self.data!r}")


SMOKE = dict(init="scratch", preset="tiny", epochs=1, sequence_length=64, max_question_length=16, stride=24,
             vocabulary_size=300, batch_size=16)
SMOKE_QUESTIONS = (200, 40)  # train, test
SCRATCH_DEFAULTS = dict(learning_rate=5e-4, epochs=4)
TFLITE_EVAL_QUESTIONS = 300


def load_examples(cfg):
    started = time.perf_counter()
    kind, _, location = cfg.data.partition(":")
    if kind == "tfds":  # the official train / validation splits (disjoint articles)
        train, test = load_tfds_squad(location)
    else:
        train, test = split_by_article(load_squad(location), cfg.test_fraction, cfg.seed)
    if cfg.max_train_questions:
        train = train[: cfg.max_train_questions]
    if cfg.smoke:
        train, test = train[: SMOKE_QUESTIONS[0]], test[: SMOKE_QUESTIONS[1]]
    print(
        f"data {cfg.data}: {len(train):,} train questions ({len({e.title for e in train})} articles) / "
        f"{len(test):,} test questions ({len({e.title for e in test})} articles) ({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    return train, test


def build_model(cfg, train, out):
    layout = dict(
        sequence_length=cfg.sequence_length, max_question_length=cfg.max_question_length, stride=cfg.stride,
        max_answer_length=cfg.max_answer_length,
    )
    vocabulary_path = out / "vocabulary.txt"
    if cfg.init == "scratch":
        if not (cfg.resume and vocabulary_path.is_file()):
            texts = sorted({e.context for e in train}) + [e.question for e in train]
            save_vocabulary(train_wordpiece(texts, cfg.vocabulary_size), vocabulary_path)
        preprocessor = TextPreprocessor(str(vocabulary_path), sequence_length=cfg.sequence_length)
        model = QuestionAnswerer.from_preset(cfg.preset, preprocessor=preprocessor, **layout)
    else:
        layout.pop("sequence_length")
        model = QuestionAnswerer.from_checkpoint(cfg.init, sequence_length=cfg.sequence_length, dropout=0.1, **layout)
        save_vocabulary(model.preprocessor.vocabulary, vocabulary_path)
    origin = f"preset {cfg.preset!r} from scratch" if cfg.init == "scratch" else f"from {cfg.init!r}"
    print(
        f"model QuestionAnswerer {origin}: {model.count_params():,} parameters, windows of {model.sequence_length} "
        f"tokens ({model.packer.budget} context tokens, stride {model.stride}), "
        f"{model.preprocessor.vocabulary_size} WordPiece tokens",
        flush=True,
    )
    return model


def window_batches(model, examples, batch_size, shuffle, seed):
    started = time.perf_counter()
    windows = training_windows(
        model.packer, [e.question for e in examples], [e.context for e in examples],
        [e.answer_starts[0] for e in examples], [e.answers[0] for e in examples],
    )
    print(
        f"windows: {len(windows['token_ids']):,} from {len(examples):,} questions, "
        f"{windows['has_answer'].mean():.0%} holding the answer ({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    inputs = {name: windows[name] for name in ("token_ids", "padding_mask", "segment_ids")}
    labels = {"start_logits": windows["start_positions"], "end_logits": windows["end_positions"]}
    data = tf.data.Dataset.from_tensor_slices((inputs, labels))
    if shuffle:
        data = data.shuffle(len(windows["token_ids"]), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE), len(windows["token_ids"])


def evaluate(answers, examples):
    predictions = [a["text"] for a in answers]
    references = [list(e.answers) for e in examples]
    return squad_scores(predictions, references)


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.qa")
    if cfg.init == "scratch":
        cfg = replace_defaults(cfg, **SCRATCH_DEFAULTS)
    strategy = recipe_strategy(cfg.strategy)  # before any TensorFlow op: collectives are set up at start
    cfg, out = start_run(cfg, SMOKE)
    started = time.perf_counter()

    train, test = load_examples(cfg)
    with strategy.scope():
        model = build_model(cfg, train, out)
    train_batches, train_windows = window_batches(model, train, cfg.batch_size, True, cfg.seed)
    test_batches, _ = window_batches(model, test, 64, False, cfg.seed)
    steps = cfg.epochs * -(-train_windows // cfg.batch_size)
    schedule = WarmupCosineDecay(
        peak_learning_rate=cfg.learning_rate, warmup_steps=int(cfg.warmup_fraction * steps), total_steps=max(1, steps)
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with strategy.scope():
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
            loss={"start_logits": loss, "end_logits": loss},
            metrics={"start_logits": ["accuracy"], "end_logits": ["accuracy"]},
        )
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

    # === Evaluate: answer every held-out question over all its windows ===
    started_eval = time.perf_counter()
    answers = model.answer([e.question for e in test], [e.context for e in test])
    answer_seconds = time.perf_counter() - started_eval
    scores = evaluate(answers, test)
    print(f"held-out: exact match {scores['exact_match']:.1f}, F1 {scores['f1']:.1f} "
          f"({len(test) / answer_seconds:.1f} questions/s in Keras)", flush=True)
    atomic_write_json(
        out / "predictions.json",
        {e.id: {"question": e.question, "prediction": a["text"], "score": a["score"], "answers": list(e.answers)}
         for e, a in zip(test, answers)},
    )

    # === Save and export, each parity-checked ===
    save_keras_model(model, out)
    atomic_write_json(
        out / "qa.json",
        {
            "vocabulary": "vocabulary.txt",
            "lowercase": model.preprocessor.lowercase,
            "sequence_length": model.sequence_length,
            "max_question_length": model.max_question_length,
            "context_tokens_per_window": model.packer.budget,
            "stride": model.stride,
            "max_answer_length": model.max_answer_length,
            "cls_id": model.preprocessor.cls_id,
            "sep_id": model.preprocessor.sep_id,
            "pad_id": model.preprocessor.pad_id,
        },
    )
    sample = test[:8]
    windows = model.packer.windows([e.question for e in sample], [e.context for e in sample], num_windows=1)
    sample_inputs = {
        "question": np.array([e.question for e in sample], dtype=object),
        "context": np.array([e.context for e in sample], dtype=object),
        **{name: windows[name][0].numpy() for name in ("token_ids", "padding_mask", "segment_ids")},
    }
    exports = export_run(
        model, out, sample_inputs=sample_inputs, quantizations=[None if q == "float32" else q for q in cfg.quantize],
    )
    exports["saved_model"]["questions_per_second"] = saved_model_speed(exports["saved_model"]["path"], test)
    on_device = test[:TFLITE_EVAL_QUESTIONS]
    for name, entry in exports["tflite"].items():
        started_tflite = time.perf_counter()
        tflite_answers = tflite_answer(model, entry["path"], [e.question for e in on_device], [e.context for e in on_device])
        entry["questions_per_second"] = round(len(on_device) / (time.perf_counter() - started_tflite), 1)
        entry["evaluated_questions"] = len(on_device)
        entry.update({f"tflite_{k}": v for k, v in evaluate(tflite_answers, on_device).items()})
        entry["keras_f1"] = evaluate(answers[: len(on_device)], on_device)["f1"]
        print(f"TFLite {name}: EM {entry['tflite_exact_match']:.1f} / F1 {entry['tflite_f1']:.1f} on "
              f"{len(on_device)} questions (Keras F1 {entry['keras_f1']:.1f}), {entry['questions_per_second']} questions/s",
              flush=True)

    metrics = {
        "data": cfg.data,
        "init": cfg.init,
        "preset": cfg.preset if cfg.init == "scratch" else None,
        "parameters": model.count_params(),
        "sequence_length": model.sequence_length,
        "train_questions": len(train),
        "train_articles": len({e.title for e in train}),
        "train_windows": train_windows,
        "test_questions": len(test),
        "test_articles": len({e.title for e in test}),
        "epochs": len(history.get("loss", [])),
        "exact_match": scores["exact_match"],
        "f1": scores["f1"],
        "keras_questions_per_second": round(len(test) / answer_seconds, 1),
        "exports": exports,
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1),
    }
    write_metrics(out, metrics)
    examples = [
        f"Q: {e.question[:60]}\n   predicted {a['text'][:40]!r} (score {a['score']:.1f}); reference {e.answers[0][:40]!r}"
        for e, a in zip(test[:5], answers[:5])
    ]
    print_results(metrics, examples)
    return metrics


def print_results(metrics, examples):
    print("\n=== results ===")
    print(f"held-out ({metrics['test_questions']:,} questions, {metrics['test_articles']} articles): "
          f"exact match {metrics['exact_match']:.1f}, F1 {metrics['f1']:.1f}")
    for name, entry in metrics["exports"]["tflite"].items():
        print(f"TFLite {name:<22} F1 {entry['tflite_f1']:5.1f} on {entry['evaluated_questions']} questions   "
              f"{entry['bytes'] / 1e6:7.2f} MB   {entry['questions_per_second']:6.1f} questions/s")
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel {saved['bytes'] / 1e6:.2f} MB, {saved['questions_per_second']} questions/s   {saved['path']}")
    for line in examples:
        print(f"  {line}")
    model_base = pathlib.Path(saved["path"]).parent.resolve()
    print(f"serve: docker run -p 8501:8501 -v {model_base}:/models/qa -e MODEL_NAME=qa tensorflow/serving")
    print(f"total {metrics['seconds']:.0f}s", flush=True)


def saved_model_speed(path, test, count=200, batch_size=32):
    """Questions per second through the reloaded SavedModel's serving signature."""
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    sample = test[:count]
    started = time.perf_counter()
    for begin in range(0, len(sample), batch_size):
        chunk = sample[begin : begin + batch_size]
        serve(question=tf.constant([e.question for e in chunk]), context=tf.constant([e.context for e in chunk]))
    return round(len(sample) / (time.perf_counter() - started), 1)


if __name__ == "__main__":
    run_main(main)
