"""Train a GPT-style language model (character level), report perplexity, sample, export.

    python -m recipes.generate                                   # CPython's own documentation (builtin)
    python -m recipes.generate --data text:../shared/data/tinyshakespeare/input.txt
    python -m recipes.generate --data tfds:tiny_shakespeare      # online
    python -m recipes.generate --smoke --out /tmp/generate-smoke
    python -m recipes.generate --init path/to/gpt2-dir --data text:notes.txt   # fine-tune a checkpoint

The corpus is one long text; its last 10% is the validation text (nanoGPT's Tiny Shakespeare split)
unless the source has a validation split. Learns a character vocabulary on the training text,
trains a `CausalLM` on windows of the stream (each starting with [CLS] as BOS), reports validation
loss (nats per character) and perplexity, prints samples continuing --prompts (top-p sampling,
seeded), and writes into --out: config.json, characters.txt, history.csv/png, metrics.json,
model.keras, generation.json, saved_model/1/ (prompt strings in, text out, the sampling loop
inside; a `generate` signature takes max_length too), model.tflite (prefill + cached decode-step
signatures an app loops over) and model_generate.tflite (the greedy loop in one call), float and
dynamic-range, each checked against Keras.

--init DIR fine-tunes a Hugging Face gpt2 / llama / mistral / qwen2 checkpoint directory
(`CausalLM.from_checkpoint`) on the text instead, with the checkpoint's own tokenizer (nothing is
learned, no characters.txt; losses are nats per token): the summary shows the validation loss and
perplexity before and after fine-tuning.
"""

import dataclasses
import time

import numpy as np

from recipes import common
from recipes.common import Run, VariantsConfig, option
from recipes.generate_report import decode_speed, perplexity_on, print_summary, validation_scores
from zoo.data.corpus import load_text_corpus
from zoo.data.pipelines import lm_batches
from zoo.models import CausalLM, get_preset, preset_names
from zoo.training import replace_defaults
from zoo.training.cli import run_main

DEFAULT_PROMPTS = "The |def |Return "


@dataclasses.dataclass
class Config(VariantsConfig):
    preset: str = option("small", "CausalLM preset (tiny, small, small_rotary, base)")
    init: str | None = option(None, "fine-tune this Hugging Face gpt2/llama/mistral/qwen2 directory (its tokenizer)")
    data: str = option("builtin:python-docs", "builtin:python-docs, text:PATH, tfds:NAME")
    validation_fraction: float = option(0.1, "last share of the text held out")
    sequence_length: int | None = option(None, "positions per window (default: preset's or checkpoint's)")
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
# Fine-tuning a pretrained checkpoint: a small rate, no warmup, few epochs.
INIT_DEFAULTS = dict(learning_rate=5e-5, epochs=2, warmup_epochs=0, weight_decay=0.0)


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


def build_model(cfg, train, out):
    """The `--init` checkpoint with its own tokenizer, or the `--preset` over characters learned on `train`."""
    if cfg.init:
        model = CausalLM.from_checkpoint(cfg.init, sequence_length=cfg.sequence_length)
        if model.preprocessor is None:
            raise ValueError(
                f"--init {cfg.init}: zoo cannot load this checkpoint's tokenizer "
                "(tokenizer.json, vocab.json + merges.txt or tokenizer.model)"
            )
        print(f"tokenizer: {model.preprocessor.vocabulary_size} tokens of {cfg.init!r}", flush=True)
        return model
    length = cfg.sequence_length or get_preset("causal_lm", cfg.preset)["sequence_length"]
    preprocessor = common.learn_or_reuse(
        "characters", [train], out / "characters.txt", sequence_length=length, resume=cfg.resume
    )
    print(f"tokenizer: {preprocessor.vocabulary_size} characters (incl. special tokens)", flush=True)
    return CausalLM.from_preset(cfg.preset, preprocessor=preprocessor, sequence_length=length)


def main(argv=None):
    cfg = common.parse_recipe_config(Config, argv, __doc__, "generate")
    run = Run.start(replace_defaults(cfg, **INIT_DEFAULTS) if cfg.init else cfg, SMOKE)
    cfg, out = run.cfg, run.out
    train_text, validation_text = load_data(cfg)
    with run.scope():
        model = common.with_lora(build_model(cfg, train_text, out), cfg)  # --lora-rank: before compile
    preprocessor, length, bos = model.preprocessor, model.sequence_length, model.bos_token_id
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
    origin = f"from {cfg.init!r}" if cfg.init else f"preset {cfg.preset!r}"
    print(
        f"model CausalLM {origin} ({model.position} positions): {model.count_params():,} parameters, "
        f"{length} positions, {steps_per_epoch} steps per epoch",
        flush=True,
    )
    before = {}
    if cfg.init:  # the checkpoint's own validation loss, before fine-tuning
        before = validation_scores(model.evaluate(validation_batches, verbose=0, return_dict=True)["loss"], "_before")
    model, history = run.fit(model, train_batches, validation_data=validation_batches)
    if model is None:  # a multi-worker run's other workers: the chief evaluates and exports
        return None

    # === Samples (seeded top-p) ===
    prompts = cfg.prompts.split("|")
    sampling = dict(sampler="top_p", p=cfg.top_p, temperature=cfg.temperature, seed=cfg.seed)
    samples = model.generate(prompts, max_length=min(cfg.sample_length, length), **sampling)

    # === Variants (--lora-rank merged, --quantize-weights scored), then save and export, each parity-checked ===
    perplexity = perplexity_on(validation_batches)  # the float model and its variants on the same batches
    variants = run.variants(model, "validation_perplexity", perplexity(model), perplexity, higher_is_better=False)
    ids = {key: getattr(model, key) for key in ("bos_token_id", "end_token_id", "pad_token_id")}
    layout = {"max_length": length, "vocabulary": None if cfg.init else "characters.txt", "init": cfg.init}
    run.write_json("generation.json", {**ids, **layout})
    exports = run.export(model, {"prompt": np.array(prompts, dtype=object)})
    speed = decode_speed(model, exports, prompts[0])

    metrics = {
        "data": cfg.data,
        "preset": None if cfg.init else cfg.preset,
        "init": cfg.init,
        "position": model.position,
        "parameters": model.count_params(),
        "vocabulary_size": preprocessor.vocabulary_size,
        "sequence_length": length,
        "train_characters": len(train_text),
        "validation_characters": len(validation_text),
        "train_tokens": len(train_ids),
        "epochs": len(history.get("loss", [])),
        # Cross-entropy in nats per token (character without --init) on the validation windows.
        **before,
        **validation_scores(history["val_loss"][-1]),
        "samples": [{"prompt": p, "text": s} for p, s in zip(prompts, samples)],
        "variants": variants,
        "exports": exports,
        "decode_tokens_per_second": speed,
        **run.timing(),
        "train_tokens_per_second": run.per_training_second(steps_per_epoch * cfg.batch_size * length),
    }
    run.write_json("metrics.json", metrics)
    print_summary(metrics, cfg, samples)
    return metrics


if __name__ == "__main__":
    run_main(main)
