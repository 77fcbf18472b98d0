"""What the translation and summarization recipes share: config, data, tokenizers, training, exports.

Each recipe (`recipes.translate`, `recipes.summarize`) defines its config
defaults and its metric (BLEU/chrF, ROUGE) and calls `run`. `--architecture`
picks the model: `transformer` (`Seq2SeqLM`) or `lstm` (`LSTMSeq2Seq`, LSTM
encoder-decoder with attention); both take the same batches and loss.
"""

import collections
import dataclasses
import json
import pathlib
import time

import keras
import numpy as np

from zoo.data import load_pair_dataset
from zoo.data.pipelines import pair_batches
from zoo.export import export_run, run_tflite
from zoo.io import atomic_write_json
from zoo.models import LSTMSeq2Seq, Seq2SeqLM, get_preset, preset_names
from zoo.tokenizers import (
    TextPreprocessor,
    save_sentencepiece,
    save_vocabulary,
    train_sentencepiece,
    train_wordpiece,
)
from zoo.training import (
    SparseCategoricalCrossentropyWithSmoothing,
    TrainingTimer,
    WarmupCosineDecay,
    fit,
    plot_history,
)
from zoo.training.distribute import StrategyName, chief_model, recipe_strategy, strategy_field
from zoo.training.runs import save_keras_model, smoke_subsets, start_run, write_metrics

SMOKE = dict(preset="tiny", epochs=1, vocabulary_size=300, batch_size=16, source_length=32, target_length=32)
SMOKE_EXAMPLES = (256, 16)  # train, test
MAX_TEST_PAIRS = 2000  # default held-out size of a source without a test split (10% up to this)
TFLITE_EVAL_EXAMPLES = 64  # held-out sources each exported single-call TFLite file translates
# --architecture -> (model class, preset family).
ARCHITECTURES = {"transformer": (Seq2SeqLM, "seq2seq"), "lstm": (LSTMSeq2Seq, "lstm_seq2seq")}


@dataclasses.dataclass
class Seq2SeqConfig:
    architecture: str = dataclasses.field(
        default="transformer", metadata={"help": "transformer (Seq2SeqLM) or lstm (LSTMSeq2Seq: LSTMs with attention)"}
    )
    preset: str = dataclasses.field(
        default="small",
        metadata={"help": "preset of the architecture: transformer tiny, small, base; lstm tiny, small"},
    )
    data: str = dataclasses.field(
        default="builtin:gettext-es",
        metadata={"help": "builtin:gettext-LANG, builtin:debian-descriptions, parallel:PREFIX, tsv:, csv:, jsonl:, tfds:"},
    )
    test_data: str | None = dataclasses.field(default=None, metadata={"help": "a separate test source (same forms)"})
    source_language: str | None = dataclasses.field(default=None, metadata={"help": "e.g. de (parallel: file extension)"})
    target_language: str | None = dataclasses.field(default=None, metadata={"help": "e.g. en (parallel: file extension)"})
    reverse: bool = dataclasses.field(default=False, metadata={"help": "swap sources and targets"})
    test_size: int | None = dataclasses.field(
        default=None, metadata={"help": "held-out pairs when the source has no test split (default 10%, at most 2,000)"}
    )
    max_bad_fraction: float = dataclasses.field(default=0.01, metadata={"help": "fail if more rows are unreadable"})
    tokenizer: str = dataclasses.field(default="sentencepiece", metadata={"help": "sentencepiece or wordpiece (one per side)"})
    vocabulary_size: int = dataclasses.field(default=8000, metadata={"help": "largest vocabulary per side"})
    lowercase: bool = dataclasses.field(default=False, metadata={"help": "lowercase and strip accents"})
    source_length: int | None = dataclasses.field(default=None, metadata={"help": "source tokens (default: preset's)"})
    target_length: int | None = dataclasses.field(default=None, metadata={"help": "target tokens incl. BOS (default: preset's)"})
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = dataclasses.field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = 0.01
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    num_beams: int = dataclasses.field(default=1, metadata={"help": "evaluation decoding: 1 = greedy, >1 = beam search"})
    seed: int = 0
    quantize: tuple[str, ...] = dataclasses.field(default=("float32",), metadata={"help": "TFLite variants: float32, dynamic"})
    out: str = dataclasses.field(default="saved_models/seq2seq", metadata={"help": "run folder"})
    smoke: bool = dataclasses.field(default=False, metadata={"help": "tiny preset, few examples: a quick end-to-end check"})
    resume: bool = dataclasses.field(default=False, metadata={"help": "continue the interrupted run in --out"})
    strategy: StrategyName = strategy_field()

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown --architecture {self.architecture!r}; expected one of {list(ARCHITECTURES)}")
        names = preset_names(preset_family(self))
        if self.preset not in names:
            raise ValueError(f"unknown --preset {self.preset!r} for --architecture {self.architecture}; expected one of {names}")
        if self.tokenizer not in ("wordpiece", "sentencepiece"):
            raise ValueError(f"--tokenizer must be wordpiece or sentencepiece. Received: {self.tokenizer!r}")
        unknown = set(self.quantize) - {"float32", "dynamic"}
        if unknown:
            raise ValueError(f"unknown --quantize values {sorted(unknown)}; expected float32, dynamic")
        if self.num_beams < 1:
            raise ValueError(f"--num-beams must be >= 1. Received: {self.num_beams}")
        for name in ("source_length", "target_length"):
            value = getattr(self, name)
            if value is not None and value < 4:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 4. Received: {value}")


@dataclasses.dataclass
class Task:
    """What differs between the seq2seq recipes.

    Attributes:
        name: e.g. `"translate"` (TF Serving model name, messages).
        evaluate: `(hypotheses, sources, references) -> dict` of metrics,
            `references` being one list of strings per source.
        headline: `metrics -> str`, the one-line result.
        smoke_overrides: extra `--smoke` defaults.
        truncate_sources: keep training pairs whose source is too long
            (truncated; fine for summaries, which lean on the beginning)
            instead of dropping them (translation: a cut source has no
            complete translation).
    """

    name: str
    evaluate: object
    headline: object
    smoke_overrides: dict = dataclasses.field(default_factory=dict)
    truncate_sources: bool = False


def load_data(cfg):
    train, test = load_pair_dataset(
        cfg.data,
        test_spec=cfg.test_data,
        source_language=cfg.source_language,
        target_language=cfg.target_language,
        test_size=None if _has_test_split(cfg) else cfg.test_size,
        seed=cfg.seed,
        max_bad_fraction=cfg.max_bad_fraction,
        reverse=cfg.reverse,
    )
    if cfg.test_size is None and not _has_test_split(cfg):  # the loader held out 10%
        train, test = cap_test_split(train, test, MAX_TEST_PAIRS, cfg.seed)
    if cfg.smoke:
        train, test = smoke_subsets(train, test, SMOKE_EXAMPLES, cfg.seed)
    print(f"data {cfg.data}: {len(train)} train / {len(test)} test pairs ({train.name}, {test.name})", flush=True)
    return train, test


def cap_test_split(train, test, max_pairs, seed=0):
    """Move test pairs beyond `max_pairs` back to train, whole source groups at a time.

    A random 10% split of a large corpus makes evaluation (generation) slow.
    The groups kept are drawn at random (seeded); no source ends up in both
    splits.
    """
    if len(test) <= max_pairs:
        return train, test
    counts = collections.Counter(test.sources)
    groups = list(counts)
    kept, total = set(), 0
    for position in np.random.default_rng(seed).permutation(len(groups)):
        if total + counts[groups[position]] <= max_pairs:
            kept.add(groups[position])
            total += counts[groups[position]]
    keep = np.array([source in kept for source in test.sources])
    moved = test.subset(~keep)
    train = dataclasses.replace(train, sources=train.sources + moved.sources, targets=train.targets + moved.targets)
    return train, test.subset(keep)


def _has_test_split(cfg):
    return cfg.test_data is not None or cfg.data.startswith("tfds:")


def preset_family(cfg):
    return ARCHITECTURES[cfg.architecture][1]


def _lengths(cfg):
    preset = get_preset(preset_family(cfg), cfg.preset)
    return cfg.source_length or preset["source_length"], cfg.target_length or preset["target_length"]


def preprocessors_for(cfg, train, out):
    """One tokenizer per side, learned on the training split (reused when resuming)."""
    source_length, target_length = _lengths(cfg)
    started = time.perf_counter()
    sides = {}
    for side, texts, length in (("source", train.sources, source_length), ("target", train.targets, target_length + 1)):
        if cfg.tokenizer == "sentencepiece":
            path = out / f"{side}.model"
            if not (cfg.resume and path.is_file()):
                save_sentencepiece(train_sentencepiece(texts, cfg.vocabulary_size, lowercase=cfg.lowercase), path)
            preprocessor = TextPreprocessor(sentencepiece_model=str(path), sequence_length=length, lowercase=cfg.lowercase)
            save_vocabulary(preprocessor.vocabulary, out / f"{side}_vocabulary.txt")  # the pieces, for reference
        else:
            path = out / f"{side}_vocabulary.txt"
            if not (cfg.resume and path.is_file()):
                save_vocabulary(train_wordpiece(texts, cfg.vocabulary_size, lowercase=cfg.lowercase), path)
            preprocessor = TextPreprocessor(str(path), sequence_length=length, lowercase=cfg.lowercase)
        sides[side] = preprocessor
    print(
        f"tokenizers ({cfg.tokenizer}): source {sides['source'].vocabulary_size}, target "
        f"{sides['target'].vocabulary_size} tokens ({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    return sides["source"], sides["target"]


def drop_overlong(train, source_preprocessor, target_preprocessor, truncate_sources=False):
    """Training pairs whose tokens fit the sequence lengths (truncated targets teach cut-off outputs)."""
    target_tokens = target_preprocessor.tokenize(train.targets).row_lengths().numpy() + 2  # [CLS] ... [SEP]
    keep = target_tokens <= target_preprocessor.sequence_length
    if not truncate_sources:
        source_tokens = source_preprocessor.tokenize(train.sources).row_lengths().numpy() + 2
        keep &= source_tokens <= source_preprocessor.sequence_length
    if not keep.any():
        fits = "" if truncate_sources else f"source_length {source_preprocessor.sequence_length} and "
        raise ValueError(
            f"no training pair fits {fits}target_length {target_preprocessor.sequence_length - 1}; "
            "raise --target-length" + ("" if truncate_sources else " / --source-length")
        )
    if not keep.all():
        print(
            f"dropped {int((~keep).sum())} of {len(train)} training pairs longer than the sequence length(s) "
            f"(source {source_preprocessor.sequence_length}, target {target_preprocessor.sequence_length - 1} tokens)",
            flush=True,
        )
    return train.subset(keep)


def build_model(cfg, source_preprocessor, target_preprocessor, steps_per_epoch):
    model_class = ARCHITECTURES[cfg.architecture][0]
    model = model_class.from_preset(
        cfg.preset, source_preprocessor=source_preprocessor, target_preprocessor=target_preprocessor
    )
    schedule = WarmupCosineDecay(
        peak_learning_rate=cfg.learning_rate,
        warmup_steps=min(cfg.warmup_epochs * steps_per_epoch, cfg.epochs * steps_per_epoch),
        total_steps=max(1, cfg.epochs * steps_per_epoch),
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay, clipnorm=1.0),
        loss=SparseCategoricalCrossentropyWithSmoothing(cfg.label_smoothing),
        weighted_metrics=["accuracy"],  # token accuracy, padding excluded
    )
    print(
        f"model {model_class.__name__} ({cfg.architecture}) preset {cfg.preset!r}: {model.count_params():,} parameters, "
        f"{model.source_length} source / {model.target_length} target tokens",
        flush=True,
    )
    return model


def group_references(test):
    """Distinct test sources in order, each with all of its reference targets."""
    references = collections.OrderedDict()
    for source, target in zip(test.sources, test.targets):
        references.setdefault(source, []).append(target)
    return list(references), list(references.values())


def generate_all(model, sources, num_beams, batch_size=64):
    """Generated text for every source, in batches of similar length; returns `(texts, sentences per second)`."""
    order = np.argsort([len(text) for text in sources], kind="stable")
    outputs = [None] * len(sources)
    sampler = "beam" if num_beams > 1 else "greedy"
    started = time.perf_counter()
    for start in range(0, len(sources), batch_size):
        indices = order[start : start + batch_size]
        texts = model.generate([sources[i] for i in indices], sampler=sampler, num_beams=num_beams)
        for index, text in zip(indices, texts):
            outputs[index] = text
        done = min(start + batch_size, len(sources))
        if done % (batch_size * 8) == 0 or done == len(sources):
            print(f"generated {done}/{len(sources)} ({time.perf_counter() - started:.0f}s)", flush=True)
    return outputs, len(sources) / max(time.perf_counter() - started, 1e-9)


def evaluate_tflite(model, exports, sources, keras_outputs, task, references):
    """Each single-call TFLite file: its outputs on the first held-out sources vs Keras greedy, and the metric."""
    for entry in exports["tflite"].values():
        if entry["variant"] != "generate":
            continue
        content = pathlib.Path(entry["path"]).read_bytes()
        started = time.perf_counter()
        token_ids = run_tflite(content, {"text": np.array(sources, dtype=object)})["token_ids"]
        texts = model.detokenize(token_ids)
        entry["examples"] = len(sources)
        entry["sentences_per_second"] = round(len(sources) / (time.perf_counter() - started), 2)
        entry["equal_to_keras_greedy"] = float(np.mean([a == b for a, b in zip(texts, keras_outputs)]))
        entry["metrics"] = task.evaluate(texts, sources, references)
        entry["samples"] = [{"source": source, "output": text} for source, text in zip(sources[:3], texts)]


def run(cfg, task):
    strategy = recipe_strategy(cfg.strategy)  # before any TensorFlow op: collectives are set up at start
    cfg, out = start_run(cfg, {**SMOKE, **task.smoke_overrides})
    started = time.perf_counter()

    train, test = load_data(cfg)
    source_preprocessor, target_preprocessor = preprocessors_for(cfg, train, out)
    train = drop_overlong(train, source_preprocessor, target_preprocessor, task.truncate_sources)
    train_batches = pair_batches(train, source_preprocessor, target_preprocessor, cfg.batch_size, shuffle=True, seed=cfg.seed)
    test_batches = pair_batches(test, source_preprocessor, target_preprocessor, 128)
    steps_per_epoch = int(train_batches.cardinality())
    with strategy.scope():
        model = build_model(cfg, source_preprocessor, target_preprocessor, steps_per_epoch)
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

    # === Evaluate: generate for every distinct held-out source ===
    sources, references = group_references(test)
    hypotheses, sentences_per_second = generate_all(model, sources, cfg.num_beams)
    scores = task.evaluate(hypotheses, sources, references)
    greedy = hypotheses if cfg.num_beams == 1 else generate_all(model, sources[:TFLITE_EVAL_EXAMPLES], 1)[0]

    # === Save and export, each parity-checked ===
    save_keras_model(model, out)
    atomic_write_json(
        out / "generation.json",
        {
            "bos_token_id": model.bos_token_id,
            "end_token_id": model.end_token_id,
            "pad_token_id": model.pad_token_id,
            "source_length": model.source_length,
            "max_length": model.target_length,
        },
    )
    exports = export_run(
        model, out,
        sample_inputs={"text": np.array(sources[:8], dtype=object)},
        quantizations=[None if q == "float32" else q for q in cfg.quantize],
    )
    count = min(TFLITE_EVAL_EXAMPLES, len(sources))
    evaluate_tflite(model, exports, sources[:count], greedy[:count], task, references[:count])

    validation_loss = history.get("val_loss", [None])[-1]
    samples = [
        {"source": source, "reference": refs[0], "output": output}
        for source, refs, output in list(zip(sources, references, hypotheses))[:5]
    ]
    metrics = {
        "data": cfg.data,
        "test_data": cfg.test_data,
        "architecture": cfg.architecture,
        "model": type(model).__name__,
        "preset": cfg.preset,
        "parameters": model.count_params(),
        "tokenizer": cfg.tokenizer,
        "source_vocabulary_size": source_preprocessor.vocabulary_size,
        "target_vocabulary_size": target_preprocessor.vocabulary_size,
        "train_pairs": len(train),
        "test_pairs": len(test),
        "test_sources": len(sources),
        "epochs": len(history.get("loss", [])),
        "decoding": "greedy" if cfg.num_beams == 1 else f"beam search, {cfg.num_beams} beams",
        **scores,
        # Label-smoothed cross-entropy per target token (teacher forcing).
        "validation_loss": validation_loss,
        "validation_token_accuracy": history.get("val_accuracy", [None])[-1],
        "generation_sentences_per_second": round(sentences_per_second, 2),
        "samples": samples,
        "exports": exports,
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1),
        "train_epoch_seconds": round(timer.seconds / timer.epochs, 1) if timer.epochs else None,
    }
    write_metrics(out, metrics)
    print_summary(metrics, task)
    return metrics


def print_summary(metrics, task):
    print("\n=== results ===")
    print(f"{task.headline(metrics)}  ({metrics['decoding']}, {metrics['test_sources']} held-out sources)")
    print(f"architecture {metrics['architecture']} ({metrics['model']} {metrics['preset']!r}, {metrics['parameters']:,} parameters)")
    for name, entry in metrics["exports"]["tflite"].items():
        line = f"TFLite {name:<28} {entry['bytes'] / 1e3:9.1f} kB   {pathlib.Path(entry['path']).name}"
        if "equal_to_keras_greedy" in entry:
            line += f"   same output as Keras on {entry['equal_to_keras_greedy']:.0%} of {entry['examples']}"
        print(line)
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel {saved['bytes'] / 1e3:33.1f} kB   {saved['path']}")
    print("samples (source => output | reference):")
    for sample in metrics["samples"]:
        source, output, reference = (_one_line(sample[key]) for key in ("source", "output", "reference"))
        print(f"  {source}\n    => {output}\n     | {reference}")
    on_device = metrics["exports"]["tflite"].get("generate/float32")
    if on_device:
        print(f"on device ({pathlib.Path(on_device['path']).name}, the decoding loop inside the TFLite file):")
        for sample in on_device["samples"]:
            print(f"  {_one_line(sample['source'])}\n    => {_one_line(sample['output'])}")
    model_base = pathlib.Path(saved["path"]).parent.resolve()
    print(
        f"serve: docker run -p 8501:8501 -v {model_base}:/models/{task.name} -e MODEL_NAME={task.name} tensorflow/serving\n"
        f"       curl -d '{json.dumps({'instances': [metrics['samples'][0]['source'][:60]]})}' "
        f"localhost:8501/v1/models/{task.name}:predict"
    )
    print(f"total {metrics['seconds']:.0f}s", flush=True)


def _one_line(text, width=80):
    return " ".join(text.split())[:width]
