"""What the translation and summarization recipes share: config, data, tokenizers, model, the run.

Each recipe (`recipes.translate`, `recipes.summarize`) defines its config defaults and its metric
(BLEU/chrF, ROUGE) and calls `run`. `--architecture` picks the model: `transformer` (`Seq2SeqLM`)
or `lstm` (`LSTMSeq2Seq`, LSTM encoder-decoder with attention); both take the same batches and
loss. `recipes.seq2seq_data` loads and tokenizes the pairs; `recipes.seq2seq_evaluate` generates,
checks the TFLite files and prints the summary.
"""

import dataclasses

import numpy as np

from recipes import common
from recipes.common import Run, TrainConfig, option
from recipes.seq2seq_data import drop_overlong, load_data, preprocessors_for, pretrained_model
from recipes.seq2seq_evaluate import evaluate_tflite, generate_all, group_references, print_summary
from zoo.data.pipelines import pair_batches
from zoo.models import LSTMSeq2Seq, Seq2SeqLM, get_preset, preset_names
from zoo.training import SparseCategoricalCrossentropyWithSmoothing

SMOKE = dict(preset="tiny", epochs=1, vocabulary_size=300, batch_size=16, source_length=32, target_length=32)
TFLITE_EVAL_EXAMPLES = 64  # held-out sources each exported single-call TFLite file translates
# --architecture -> (model class, preset family).
ARCHITECTURES = {"transformer": (Seq2SeqLM, "seq2seq"), "lstm": (LSTMSeq2Seq, "lstm_seq2seq")}
# --freeze -> backbone layers kept fixed (the encoder's token table is also the decoder's and the output's).
FREEZE = {"none": (), "embeddings": ("encoder_embedding", "decoder_embedding"), "encoder": ("encoder_",)}
DATA_HELP = (
    "builtin:gettext-LANG, builtin:python-docstrings, builtin:debian-descriptions, parallel:, tsv:, csv:, jsonl:, tfds:"
)


@dataclasses.dataclass
class Seq2SeqConfig(TrainConfig):
    architecture: str = option("transformer", "transformer (Seq2SeqLM) or lstm (LSTMSeq2Seq: LSTMs with attention)")
    preset: str = option("small", "preset of the architecture: transformer tiny, small, base; lstm tiny, small")
    init: str | None = option(None, "minilm or a BERT dir (warm start), a BART/Marian dir; none: --preset")
    freeze: str = option("none", "none, embeddings or encoder (its embeddings too): kept fixed in training")
    data: str = option("builtin:gettext-es", DATA_HELP)
    test_data: str | None = option(None, "a separate test source (same forms)")
    source_language: str | None = option(None, "e.g. de (parallel: file extension)")
    target_language: str | None = option(None, "e.g. en (parallel: file extension)")
    reverse: bool = option(False, "swap sources and targets")
    test_size: int | None = option(
        None, "held-out pairs when the source has no test split (default 10%, at most 2,000)"
    )
    max_bad_fraction: float = option(0.01, "fail if more rows are unreadable")
    tokenizer: str = option("sentencepiece", "sentencepiece or wordpiece (one per side)")
    vocabulary_size: int = option(8000, "largest vocabulary per side")
    lowercase: bool = option(False, "lowercase and strip accents")
    source_length: int | None = option(None, "source tokens (default: preset's)")
    target_length: int | None = option(None, "target tokens incl. BOS (default: preset's)")
    batch_size: int = 64
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    num_beams: int = option(1, "evaluation decoding: 1 = greedy, >1 = beam search")
    quantize: tuple[str, ...] = option(("float32",), "TFLite variants: float32, dynamic")
    out: str = option("saved_models/seq2seq", "run folder")

    def __post_init__(self):
        common.check_choice("architecture", self.architecture, ARCHITECTURES)
        common.check_preset(self.preset, preset_names(preset_family(self)), self.architecture)
        common.check_tokenizer(self.tokenizer)
        common.check_choice("freeze", self.freeze, FREEZE)
        self.init = None if self.init in (None, "", "none") else self.init
        if self.freeze != "none" and not self.init and not self.smoke:
            raise ValueError(f"--freeze {self.freeze} keeps random weights fixed without --init; use --freeze none")
        if self.init and self.architecture != "transformer":
            raise ValueError(f"--init loads a Seq2SeqLM; it needs --architecture transformer, not {self.architecture}")
        common.check_quantize(self.quantize, ("float32", "dynamic"))
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
        evaluate: `(hypotheses, sources, references) -> dict` of metrics, `references` being
            one list of strings per source.
        headline: `metrics -> str`, the one-line result.
        smoke_overrides: extra `--smoke` defaults.
        truncate_sources: keep training pairs whose source is too long (truncated; fine for
            summaries, which lean on the beginning) instead of dropping them (translation: a
            cut source has no complete translation).
    """

    name: str
    evaluate: object
    headline: object
    smoke_overrides: dict = dataclasses.field(default_factory=dict)
    truncate_sources: bool = False


def preset_family(cfg):
    return ARCHITECTURES[cfg.architecture][1]


def build_model(cfg, source_preprocessor, target_preprocessor, steps_per_epoch, model=None):
    """`model` (from `--init`) or the `--preset`, with `--freeze` applied, compiled."""
    model_class = ARCHITECTURES[cfg.architecture][0]
    if model is None:
        model = model_class.from_preset(
            cfg.preset, source_preprocessor=source_preprocessor, target_preprocessor=target_preprocessor
        )
    for layer in model.backbone.layers if cfg.freeze != "none" else ():
        layer.trainable = layer.trainable and not layer.name.startswith(FREEZE[cfg.freeze])
    model.compile(
        optimizer=common.warmup_cosine_adamw(cfg, steps_per_epoch, clipnorm=1.0),
        loss=SparseCategoricalCrossentropyWithSmoothing(cfg.label_smoothing),
        weighted_metrics=["accuracy"],  # token accuracy, padding excluded
    )
    trained = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    origin = f"from {cfg.init!r}" if cfg.init else f"preset {cfg.preset!r}"
    print(
        f"model {model_class.__name__} ({cfg.architecture}) {origin}: {model.count_params():,} parameters "
        f"({trained:,} trained), {model.source_length} source / {model.target_length} target tokens",
        flush=True,
    )
    return model


def run(cfg, task):
    run = Run.start(cfg, {**SMOKE, **task.smoke_overrides})
    cfg, out = run.cfg, run.out
    train, test = load_data(cfg)
    preset = get_preset(preset_family(cfg), cfg.preset)
    lengths = (cfg.source_length or preset["source_length"], cfg.target_length or preset["target_length"])
    model = None
    if cfg.init:  # the checkpoint's tokenizers
        with run.scope():
            model = pretrained_model(cfg, *lengths)
        source_preprocessor, target_preprocessor = model.source_preprocessor, model.target_preprocessor
    else:
        source_preprocessor, target_preprocessor = preprocessors_for(cfg, train, out, *lengths)
    preprocessors = (source_preprocessor, target_preprocessor)
    train = drop_overlong(train, *preprocessors, task.truncate_sources)
    train_batches = pair_batches(train, *preprocessors, cfg.batch_size, shuffle=True, seed=cfg.seed)
    with run.scope():
        model = build_model(cfg, *preprocessors, int(train_batches.cardinality()), model)
    test_batches = pair_batches(test, *preprocessors, 128)
    model, history = run.fit(model, train_batches, validation_data=test_batches)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None

    # === Evaluate: generate for every distinct held-out source ===
    sources, references = group_references(test)
    hypotheses, sentences_per_second = generate_all(model, sources, cfg.num_beams)
    scores = task.evaluate(hypotheses, sources, references)
    count = min(TFLITE_EVAL_EXAMPLES, len(sources))
    greedy = hypotheses if cfg.num_beams == 1 else generate_all(model, sources[:count], 1)[0]

    # === Save and export, each parity-checked ===
    special = ("bos_token_id", "end_token_id", "pad_token_id", "source_length")
    generation = {key: getattr(model, key) for key in special}
    run.write_json("generation.json", {**generation, "max_length": model.target_length})
    exports = run.export(model, {"text": np.array(sources[:8], dtype=object)})
    evaluate_tflite(model, exports, sources[:count], greedy[:count], task, references[:count])

    timer = run.timer
    samples = zip(sources[:5], references[:5], hypotheses[:5])
    metrics = {
        "data": cfg.data,
        "test_data": cfg.test_data,
        "architecture": cfg.architecture,
        "model": type(model).__name__,
        "preset": cfg.init or cfg.preset,
        "init": cfg.init,
        "freeze": cfg.freeze,
        "parameters": model.count_params(),
        "tokenizer": "checkpoint's" if cfg.init else cfg.tokenizer,
        "source_vocabulary_size": source_preprocessor.vocabulary_size,
        "target_vocabulary_size": target_preprocessor.vocabulary_size,
        "train_pairs": len(train),
        "test_pairs": len(test),
        "test_sources": len(sources),
        "epochs": len(history.get("loss", [])),
        "decoding": "greedy" if cfg.num_beams == 1 else f"beam search, {cfg.num_beams} beams",
        **scores,
        # Label-smoothed cross-entropy per target token (teacher forcing).
        "validation_loss": history.get("val_loss", [None])[-1],
        "validation_token_accuracy": history.get("val_accuracy", [None])[-1],
        "generation_sentences_per_second": round(sentences_per_second, 2),
        "samples": [{"source": s, "reference": refs[0], "output": o} for s, refs, o in samples],
        "exports": exports,
        **run.timing(),
        "train_epoch_seconds": round(timer.seconds / timer.epochs, 1) if timer.epochs else None,
    }
    run.write_json("metrics.json", metrics)
    print_summary(metrics, task)
    return metrics
