"""Train an extractive question answerer on SQuAD, report exact match and F1, export (question, context) models.

    python -m recipes.qa --data squad:../shared/data/squad/squad-v1.1-dev-part.json.gz   # fine-tune MiniLM
    python -m recipes.qa --data squad:train-v1.1.json --init scratch                    # no pretraining
    python -m recipes.qa --data tfds:squad                                              # online
    python -m recipes.qa --smoke --data squad:FILE.json --out /tmp/qa-smoke

Splits the questions by article (no article on both sides; `--test-fraction` of the articles held
out, seeded), cuts each context into windows of `--sequence-length` tokens `--stride` context
tokens apart, fine-tunes the pretrained MiniLM encoder (`--init minilm`, the default; or a
BERT-family checkpoint directory; or `--init scratch` for the `--preset` from random weights, with
its own WordPiece vocabulary learned on the training contexts), then answers every held-out
question (best span over all windows) and scores it with the official SQuAD v1.1 exact match and F1
(max over the reference answers). Writes into --out: config.json, vocabulary.txt, qa.json (window
layout for apps), history.csv/png, metrics.json, predictions.json, model.keras, saved_model/1/
((question, context) strings in, answer strings + scores + character offsets out) and model.tflite
/ model_dynamic.tflite (one window of token ids in, start/end logits out), each checked, with EM/F1.
"""

import dataclasses
import time

import keras
import tensorflow as tf

from recipes import common, qa_evaluate
from recipes.common import Run, VariantsConfig, option
from zoo.data.squad import load_squad, load_tfds_squad, split_by_article
from zoo.models import QuestionAnswerer, preset_names
from zoo.tokenizers import save_vocabulary
from zoo.tokenizers.spans import training_windows
from zoo.training import replace_defaults
from zoo.training.cli import run_main

DEFAULT_DATA = "squad:../shared/data/squad/squad-v1.1-dev-part.json.gz"
QUANTIZE = ("float32", "dynamic", "float16")
OUTPUTS = ("start_logits", "end_logits")  # the model's, each a loss and an accuracy
LAYOUT = ("sequence_length", "max_question_length", "stride", "max_answer_length")  # flags = model arguments


@dataclasses.dataclass
class Config(VariantsConfig):
    data: str = option(DEFAULT_DATA, "squad:FILE.json[.gz] or tfds:squad")
    init: str = option("minilm", "minilm, a BERT checkpoint directory, or scratch (random --preset)")
    preset: str = option("small", "QuestionAnswerer preset for --init scratch")
    sequence_length: int = option(256, "tokens per window")
    max_question_length: int = option(64, "question tokens kept")
    stride: int = option(128, "context tokens between window starts")
    max_answer_length: int = option(30, "longest answer in tokens")
    vocabulary_size: int = option(8000, "--init scratch: vocabulary to learn")
    max_train_questions: int | None = option(None, "use at most this many")
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = option(1e-4, "peak learning rate (AdamW)")
    warmup_fraction: float = option(0.1, "share of steps warming up")
    test_fraction: float = option(0.2, "share of the articles held out")
    quantize: tuple[str, ...] = option(("float32", "dynamic"), "TFLite variants")
    out: str = option("saved_models/qa", "run folder")
    smoke: bool = option(False, "tiny model, few questions: a quick end-to-end check")

    def __post_init__(self):
        common.check_preset(self.preset, preset_names("question_answerer"))
        common.check_quantize(self.quantize, QUANTIZE)
        if not (self.data.startswith("squad:") or self.data.startswith("tfds:")):
            raise ValueError(f"--data must be squad:FILE or tfds:squad. Received: {self.data!r}")


SMOKE = dict(
    init="scratch",
    preset="tiny",
    epochs=1,
    sequence_length=64,
    max_question_length=16,
    stride=24,
    vocabulary_size=300,
    batch_size=16,
)
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
    articles = [len({e.title for e in split}) for split in (train, test)]
    print(
        f"data {cfg.data}: {len(train):,} train questions ({articles[0]} articles) / "
        f"{len(test):,} test questions ({articles[1]} articles) "
        f"({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    return train, test


def build_model(cfg, train, out):
    layout = {name: getattr(cfg, name) for name in LAYOUT}
    scratch = cfg.init == "scratch"
    if scratch:
        texts = sorted({e.context for e in train}) + [e.question for e in train]
        preprocessor = common.learn_tokenizer(cfg, texts, out, cfg.sequence_length, tokenizer="wordpiece")
        model = QuestionAnswerer.from_preset(cfg.preset, preprocessor=preprocessor, **layout)
    else:
        model = QuestionAnswerer.from_checkpoint(cfg.init, dropout=0.1, **layout)
        save_vocabulary(model.preprocessor.vocabulary, out / "vocabulary.txt")
    origin = f"preset {cfg.preset!r} from scratch" if scratch else f"from {cfg.init!r}"
    print(
        f"model QuestionAnswerer {origin}: {model.count_params():,} parameters, windows of "
        f"{model.sequence_length} tokens ({model.packer.budget} context tokens, stride "
        f"{model.stride}), {model.preprocessor.vocabulary_size} WordPiece tokens",
        flush=True,
    )
    return model


def window_batches(model, examples, batch_size, shuffle, seed):
    started = time.perf_counter()
    windows = training_windows(
        model.packer,
        [e.question for e in examples],
        [e.context for e in examples],
        [e.answer_starts[0] for e in examples],
        [e.answers[0] for e in examples],
    )
    print(
        f"windows: {len(windows['token_ids']):,} from {len(examples):,} questions, "
        f"{windows['has_answer'].mean():.0%} holding the answer "
        f"({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    inputs = {name: windows[name] for name in ("token_ids", "padding_mask", "segment_ids")}
    labels = {"start_logits": windows["start_positions"], "end_logits": windows["end_positions"]}
    data = tf.data.Dataset.from_tensor_slices((inputs, labels))
    if shuffle:
        data = data.shuffle(len(windows["token_ids"]), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE), len(windows["token_ids"])


def main(argv=None):
    cfg = common.parse_recipe_config(Config, argv, __doc__, "qa")
    if cfg.init == "scratch":
        cfg = replace_defaults(cfg, **SCRATCH_DEFAULTS)
    run = Run.start(cfg, SMOKE)
    cfg, out = run.cfg, run.out
    train, test = load_examples(cfg)
    with run.scope():
        model = common.with_lora(build_model(cfg, train, out), cfg)  # --lora-rank: before compile
    train_batches, train_windows = window_batches(model, train, cfg.batch_size, True, cfg.seed)
    test_batches, steps = window_batches(model, test, 64, False, cfg.seed)[0], -(-train_windows // cfg.batch_size)
    losses = {name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in OUTPUTS}
    metrics = {name: ["accuracy"] for name in OUTPUTS}
    with run.scope():
        common.compile_with_schedule(
            model, cfg, steps, warmup_fraction=cfg.warmup_fraction, loss=losses, metrics=metrics
        )
    model, history = run.fit(model, train_batches, validation_data=test_batches)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None

    # === Evaluate: answer every held-out question over all its windows ===
    answers, scores, answer_seconds = qa_evaluate.answer_held_out(run, model, test)  # + predictions.json

    # === Variants (--lora-rank merged, --quantize-weights scored), then save and export, each checked ===
    variants = run.variants(model, "f1", scores["f1"], lambda variant: qa_evaluate.f1_on(variant, test))
    exports = qa_evaluate.export_and_measure(run, model, test, answers, TFLITE_EVAL_QUESTIONS)

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
        "variants": variants,
        "exports": exports,
        **run.timing(),
    }
    run.write_json("metrics.json", metrics)
    qa_evaluate.print_results(metrics, test, answers)
    return metrics


if __name__ == "__main__":
    run_main(main)
