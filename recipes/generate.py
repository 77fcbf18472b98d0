"""Train a GPT-style language model (character level), report perplexity, sample, export.

    python -m recipes.generate                                   # CPython's own documentation (builtin)
    python -m recipes.generate --data text:../shared/data/tinyshakespeare/input.txt
    python -m recipes.generate --data tfds:tiny_shakespeare      # online
    python -m recipes.generate --smoke --out /tmp/generate-smoke

The corpus is one long text; its last 10% is the validation text (nanoGPT's Tiny Shakespeare split)
unless the source has a validation split. Learns a character vocabulary on the training text,
trains a `CausalLM` on windows of the stream (each starting with [CLS] as BOS), reports validation
loss (nats per character) and perplexity, prints samples continuing --prompts (top-p sampling,
seeded), and writes into --out: config.json, characters.txt, history.csv/png, metrics.json,
model.keras, generation.json, saved_model/1/ (prompt strings in, text out, the sampling loop
inside; a `generate` signature takes max_length too), model.tflite (prefill + cached decode-step
signatures an app loops over) and model_generate.tflite (the greedy loop in one call), float and
dynamic-range, each checked against Keras.
"""

import dataclasses
import pathlib
import time

import numpy as np

from recipes import common
from recipes.common import Run, TrainConfig, option
from zoo.data.corpus import load_text_corpus
from zoo.data.pipelines import lm_batches
from zoo.export.causal_lm import tflite_generate
from zoo.models import CausalLM, get_preset, preset_names
from zoo.training.cli import run_main

DEFAULT_PROMPTS = "The |def |Return "


@dataclasses.dataclass
class Config(TrainConfig):
    preset: str = option("small", "CausalLM preset (tiny, small, small_rotary, base)")
    data: str = option("builtin:python-docs", "builtin:python-docs, text:PATH, tfds:NAME")
    validation_fraction: float = option(0.1, "last share of the text held out")
    sequence_length: int | None = option(None, "positions per window (default: preset's)")
    weight_decay: float = 0.1
    warmup_epochs: int = 1
    prompts: str = option(DEFAULT_PROMPTS, "prompts to sample from, separated by | (commas are text)")
    sample_length: int = option(200, "positions per sample, prompt included")
    temperature: float = 0.8
    top_p: float = 0.9
    quantize: tuple[str, ...] = option(("float32", "dynamic"), "TFLite variants")
    out: str = option("saved_models/generate", "run folder")
    smoke: bool = option(False, "tiny preset, little text: a quick end-to-end check")

    def __post_init__(self):
        common.check_preset(self.preset, preset_names("causal_lm"))
        common.check_quantize(self.quantize, ("float32", "dynamic"))
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
    length = cfg.sequence_length or get_preset("causal_lm", cfg.preset)["sequence_length"]
    preprocessor = common.learn_or_reuse(
        "characters", [train], out / "characters.txt", sequence_length=length, resume=cfg.resume
    )
    print(f"tokenizer: {preprocessor.vocabulary_size} characters (incl. special tokens)", flush=True)
    return preprocessor


def main(argv=None):
    run = Run.start(common.parse_recipe_config(Config, argv, __doc__, "generate"), SMOKE)
    cfg, out = run.cfg, run.out
    train_text, validation_text = load_data(cfg)
    preprocessor = preprocessor_for(cfg, train_text, out)
    length = preprocessor.sequence_length
    with run.scope():
        model = CausalLM.from_preset(cfg.preset, preprocessor=preprocessor, sequence_length=length)
    bos = model.bos_token_id
    train_ids, validation_ids = (
        preprocessor.tokenize([text]).flat_values.numpy() for text in (train_text, validation_text)
    )
    # Window boundaries move each epoch (random_offset): augmentation against overfitting.
    train_batches = lm_batches(
        train_ids, length, cfg.batch_size, bos_token_id=bos, shuffle=True, seed=cfg.seed, random_offset=True
    )
    validation_batches = lm_batches(validation_ids, length, cfg.batch_size, bos_token_id=bos)
    steps_per_epoch = int(train_batches.cardinality())
    with run.scope():  # beta_2 0.99 as nanoGPT uses for small batches of characters
        common.compile_with_schedule(model, cfg, steps_per_epoch, beta_2=0.99, clipnorm=1.0)
    print(
        f"model CausalLM preset {cfg.preset!r} ({model.position} positions): "
        f"{model.count_params():,} parameters, {length} positions, {steps_per_epoch} steps per "
        "epoch",
        flush=True,
    )
    model, history = run.fit(model, train_batches, validation_data=validation_batches)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None
    validation_loss = float(history["val_loss"][-1])

    # === Samples (seeded top-p) ===
    prompts = cfg.prompts.split("|")
    samples = model.generate(
        prompts,
        max_length=min(cfg.sample_length, length),
        sampler="top_p",
        p=cfg.top_p,
        temperature=cfg.temperature,
        seed=cfg.seed,
    )

    # === Save and export, each parity-checked ===
    ids = {key: getattr(model, key) for key in ("bos_token_id", "end_token_id", "pad_token_id")}
    layout = {"max_length": model.sequence_length, "vocabulary": "characters.txt"}
    run.write_json("generation.json", {**ids, **layout})
    exports = run.export(model, {"prompt": np.array(prompts, dtype=object)})
    speed = decode_speed(model, exports, prompts[0])

    tokens_per_epoch = steps_per_epoch * cfg.batch_size * length
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
        **run.timing(),
        "train_tokens_per_second": run.per_training_second(tokens_per_epoch),
    }
    run.write_json("metrics.json", metrics)
    print_summary(metrics, cfg, samples)
    return metrics


def print_summary(metrics, cfg, samples):
    print("\n=== results ===")
    print(
        f"validation loss {metrics['validation_loss']:.4f} nats/char, perplexity {metrics['validation_perplexity']:.2f}"
    )
    for name, entry in metrics["exports"]["tflite"].items():
        print(f"TFLite {name:<26} {entry['bytes'] / 1e3:9.1f} kB   {entry['path']}")
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel {saved['bytes'] / 1e3:29.1f} kB   {saved['path']}")
    speed = ", ".join(f"{k} {v:,.0f}" for k, v in metrics["decode_tokens_per_second"].items())
    print(f"greedy decoding, batch 1, new tokens/s: {speed}")
    print(f"samples (top-p {cfg.top_p}, temperature {cfg.temperature}, seed {cfg.seed}):")
    print("\n".join("  " + sample.replace("\n", "\n  ") for sample in samples))
    print(f"total {metrics['seconds']:.0f}s", flush=True)


def decode_speed(model, exports, prompt):
    """Greedy new tokens/s after `prompt`, batch 1: Keras (KV cache), each prefill_decode TFLite."""
    token_ids, padding_mask = model.pack_prompts([prompt])
    new_tokens = model.sequence_length - token_ids.shape[1]
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}

    def rate(function):
        function()  # warm-up (tracing, interpreter allocation)
        start = time.perf_counter()
        output = function()
        real = int((np.asarray(output)[0, token_ids.shape[1] :] != model.pad_token_id).sum())
        return round(max(real, 1) / (time.perf_counter() - start), 1)

    speed = {"keras": rate(lambda: model.generate(inputs))}
    for entry in exports["tflite"].values():
        if entry["variant"] == "prefill_decode":
            content = pathlib.Path(entry["path"]).read_bytes()
            ids = dict(end_token_id=model.end_token_id, pad_token_id=model.pad_token_id)
            run = lambda content=content, ids=ids: tflite_generate(content, token_ids, **ids)  # noqa: E731
            speed[f"tflite {entry['quantization']}"] = rate(run)
    print(f"decode speed measured over up to {new_tokens} new tokens", flush=True)
    return speed


if __name__ == "__main__":
    run_main(main)
