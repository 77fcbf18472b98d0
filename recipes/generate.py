"""Train a GPT-style language model (character level), report perplexity, sample, export.

    python -m recipes.generate                                   # CPython's own documentation (builtin)
    python -m recipes.generate --data text:../shared/data/tinyshakespeare/input.txt
    python -m recipes.generate --data tfds:tiny_shakespeare      # online
    python -m recipes.generate --smoke --out /tmp/generate-smoke

The corpus is one long text; its last 10% is the validation text (nanoGPT's
Tiny Shakespeare split) unless the source has a validation split. Learns a
character vocabulary on the training text, trains a `CausalLM` on windows
of the stream (each starting with [CLS] as BOS), reports validation loss
(nats per character) and perplexity, prints samples continuing --prompts
(top-p sampling, seeded), and writes into --out: config.json,
characters.txt, history.csv/png, metrics.json, model.keras,
generation.json, saved_model/1/ (prompt strings in, text out, the sampling
loop inside; a `generate` signature takes max_length too), model.tflite
(prefill + cached decode-step signatures an app loops over) and
model_generate.tflite (the greedy loop in one call), float and
dynamic-range, each checked against Keras.
"""

import dataclasses
import pathlib
import time

import keras
import numpy as np

from zoo.data.corpus import load_text_corpus
from zoo.data.pipelines import lm_batches
from zoo.export import export_run
from zoo.io import atomic_write_json
from zoo.models import CausalLM, get_preset, preset_names
from zoo.tokenizers import CharacterPreprocessor, save_characters, train_characters
from zoo.training import TrainingTimer, WarmupCosineDecay, fit, parse_config, plot_history
from zoo.training.cli import run_main
from zoo.training.distribute import StrategyName, chief_model, recipe_strategy, strategy_field
from zoo.training.runs import save_keras_model, start_run, write_metrics

DEFAULT_PROMPTS = "The |def |Return "


@dataclasses.dataclass
class Config:
    preset: str = dataclasses.field(default="small", metadata={"help": "CausalLM preset (tiny, small, small_rotary, base)"})
    data: str = dataclasses.field(
        default="builtin:python-docs", metadata={"help": "builtin:python-docs, text:PATH, tfds:NAME"}
    )
    validation_fraction: float = dataclasses.field(default=0.1, metadata={"help": "last share of the text held out"})
    sequence_length: int | None = dataclasses.field(default=None, metadata={"help": "positions per window (default: preset's)"})
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = dataclasses.field(default=1e-3, metadata={"help": "peak learning rate (AdamW)"})
    weight_decay: float = 0.1
    warmup_epochs: int = 1
    prompts: str = dataclasses.field(
        default=DEFAULT_PROMPTS, metadata={"help": "prompts to sample from, separated by | (commas are text)"}
    )
    sample_length: int = dataclasses.field(default=200, metadata={"help": "positions per sample, prompt included"})
    temperature: float = 0.8
    top_p: float = 0.9
    seed: int = 0
    quantize: tuple[str, ...] = dataclasses.field(default=("float32", "dynamic"), metadata={"help": "TFLite variants"})
    out: str = dataclasses.field(default="saved_models/generate", metadata={"help": "run folder"})
    smoke: bool = dataclasses.field(default=False, metadata={"help": "tiny preset, little text: a quick end-to-end check"})
    resume: bool = dataclasses.field(default=False, metadata={"help": "continue the interrupted run in --out"})
    strategy: StrategyName = strategy_field()

    def __post_init__(self):
        if self.preset not in preset_names("causal_lm"):
            raise ValueError(f"unknown --preset {self.preset!r}; expected one of {preset_names('causal_lm')}")
        unknown = set(self.quantize) - {"float32", "dynamic"}
        if unknown:
            raise ValueError(f"unknown --quantize values {sorted(unknown)}; expected float32, dynamic")
        if self.sequence_length is not None and self.sequence_length < 4:
            raise ValueError(f"--sequence-length must be >= 4. Received: {self.sequence_length}")


SMOKE = dict(preset="tiny", epochs=1, batch_size=16, sample_length=24)
SMOKE_CHARACTERS = (20_000, 4_000)  # train, validation


def load_data(cfg):
    started = time.perf_counter()
    train, validation = load_text_corpus(cfg.data, validation_fraction=cfg.validation_fraction)
    if cfg.smoke:
        train, validation = train[: SMOKE_CHARACTERS[0]], validation[: SMOKE_CHARACTERS[1]]
    print(
        f"data {cfg.data}: {len(train):,} training / {len(validation):,} validation characters "
        f"({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    return train, validation


def preprocessor_for(cfg, train, out):
    sequence_length = cfg.sequence_length or get_preset("causal_lm", cfg.preset)["sequence_length"]
    path = out / "characters.txt"
    if not (cfg.resume and path.is_file()):
        save_characters(train_characters([train]), path)
    preprocessor = CharacterPreprocessor(str(path), sequence_length=sequence_length)
    print(f"tokenizer: {preprocessor.vocabulary_size} characters (incl. special tokens)", flush=True)
    return preprocessor


def encode(preprocessor, text):
    return preprocessor.tokenize([text]).flat_values.numpy()


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.generate")
    strategy = recipe_strategy(cfg.strategy)  # before any TensorFlow op: collectives are set up at start
    cfg, out = start_run(cfg, SMOKE)
    started = time.perf_counter()

    train_text, validation_text = load_data(cfg)
    preprocessor = preprocessor_for(cfg, train_text, out)
    length = preprocessor.sequence_length
    with strategy.scope():
        model = CausalLM.from_preset(cfg.preset, preprocessor=preprocessor, sequence_length=length)
    bos = model.bos_token_id
    # Window boundaries move each epoch (random_offset): augmentation against overfitting.
    train_batches = lm_batches(
        encode(preprocessor, train_text), length, cfg.batch_size, bos_token_id=bos, shuffle=True, seed=cfg.seed,
        random_offset=True,
    )
    validation_batches = lm_batches(encode(preprocessor, validation_text), length, cfg.batch_size, bos_token_id=bos)
    steps_per_epoch = int(train_batches.cardinality())
    schedule = WarmupCosineDecay(
        peak_learning_rate=cfg.learning_rate,
        warmup_steps=min(cfg.warmup_epochs, cfg.epochs) * steps_per_epoch,
        total_steps=max(1, cfg.epochs * steps_per_epoch),
    )
    with strategy.scope():
        model.compile(
            # beta_2 0.99 as nanoGPT uses for small batches of characters.
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay, beta_2=0.99, clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    print(
        f"model CausalLM preset {cfg.preset!r} ({model.position} positions): {model.count_params():,} parameters, "
        f"{length} positions, {steps_per_epoch} steps per epoch",
        flush=True,
    )
    timer = TrainingTimer()
    history = fit(
        model, train_batches, epochs=cfg.epochs, run_dir=out, validation_data=validation_batches,
        resume=cfg.resume, callbacks=[timer], strategy=strategy,
    )
    model = chief_model(model, strategy, out)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None
    train_seconds = time.perf_counter() - started
    plot_history(history, out / "history.png")
    validation_loss = float(history["val_loss"][-1])

    # === Samples (seeded top-p) ===
    sample_length = min(cfg.sample_length, length)
    prompts = cfg.prompts.split("|")
    samples = model.generate(
        prompts, max_length=sample_length, sampler="top_p", p=cfg.top_p, temperature=cfg.temperature,
        seed=cfg.seed,
    )

    # === Save and export, each parity-checked ===
    save_keras_model(model, out)
    atomic_write_json(
        out / "generation.json",
        {
            "bos_token_id": model.bos_token_id,
            "end_token_id": model.end_token_id,
            "pad_token_id": model.pad_token_id,
            "max_length": model.sequence_length,
            "vocabulary": "characters.txt",
        },
    )
    exports = export_run(
        model, out,
        sample_inputs={"prompt": np.array(prompts, dtype=object)},
        quantizations=[None if q == "float32" else q for q in cfg.quantize],
    )

    speed = decode_speed(model, exports, prompts[0])

    metrics = {
        "data": cfg.data,
        "preset": cfg.preset,
        "position": model.position,
        "parameters": model.count_params(),
        "vocabulary_size": preprocessor.vocabulary_size,
        "sequence_length": length,
        "train_characters": len(train_text),
        "validation_characters": len(validation_text),
        "epochs": len(history.get("loss", [])),
        # Cross-entropy in nats per character on the validation windows.
        "validation_loss": validation_loss,
        "validation_perplexity": float(np.exp(validation_loss)),
        "samples": [{"prompt": p, "text": s} for p, s in zip(prompts, samples)],
        "exports": exports,
        "decode_tokens_per_second": speed,
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1),
        "train_tokens_per_second": round(timer.epochs * steps_per_epoch * cfg.batch_size * length / timer.seconds)
        if timer.seconds
        else None,
    }
    write_metrics(out, metrics)
    print("\n=== results ===")
    print(f"validation loss {validation_loss:.4f} nats/char, perplexity {metrics['validation_perplexity']:.2f}")
    for name, entry in exports["tflite"].items():
        print(f"TFLite {name:<26} {entry['bytes'] / 1e3:9.1f} kB   {entry['path']}")
    print(f"SavedModel {exports['saved_model']['bytes'] / 1e3:29.1f} kB   {exports['saved_model']['path']}")
    print("greedy decoding, batch 1, new tokens/s: " + ", ".join(f"{k} {v:,.0f}" for k, v in speed.items()))
    print(f"samples (top-p {cfg.top_p}, temperature {cfg.temperature}, seed {cfg.seed}):")
    for sample in samples:
        print("  " + sample.replace("\n", "\n  "))
    print(f"total {metrics['seconds']:.0f}s", flush=True)
    return metrics


def decode_speed(model, exports, prompt):
    """Greedy new tokens/s at batch 1 filling every position after `prompt`: Keras (KV cache) and each
    `prefill_decode` TFLite file driven by `zoo.export.causal_lm.tflite_generate`, the loop an app runs."""
    from zoo.export.causal_lm import tflite_generate

    token_ids, padding_mask = model.pack_prompts([prompt])
    new_tokens = model.sequence_length - token_ids.shape[1]
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}

    def rate(function):
        function()  # warm-up (tracing, interpreter allocation)
        start = time.perf_counter()
        output = function()
        real = int((np.asarray(output)[0, token_ids.shape[1]:] != model.pad_token_id).sum())
        return round(max(real, 1) / (time.perf_counter() - start), 1)

    speed = {"keras": rate(lambda: model.generate(inputs))}
    for name, entry in exports["tflite"].items():
        if entry["variant"] == "prefill_decode":
            content = pathlib.Path(entry["path"]).read_bytes()
            speed[f"tflite {entry['quantization']}"] = rate(lambda: tflite_generate(
                content, token_ids, end_token_id=model.end_token_id, pad_token_id=model.pad_token_id,
            ))
    print(f"decode speed measured over up to {new_tokens} new tokens", flush=True)
    return speed


if __name__ == "__main__":
    run_main(main)
