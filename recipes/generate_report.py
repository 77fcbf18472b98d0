"""The evaluation and report of `recipes.generate`: decode speed, validation loss, the printed summary."""

import pathlib
import time

import numpy as np

from zoo.export.causal_lm import tflite_generate


def validation_scores(loss, suffix=""):
    """`{"validation_loss" + suffix: loss, "validation_perplexity" + suffix: exp(loss)}` (nats per token)."""
    return {f"validation_loss{suffix}": float(loss), f"validation_perplexity{suffix}": float(np.exp(loss))}


def perplexity_on(validation_batches):
    """`model -> validation perplexity` (the exp of its mean loss on `validation_batches`), for `run.variants`."""
    return lambda model: float(np.exp(model.evaluate(validation_batches, verbose=0, return_dict=True)["loss"]))


def print_summary(metrics, cfg, samples):
    print("\n=== results ===")
    unit = "token" if metrics.get("init") else "char"

    def scores(suffix=""):
        loss, perplexity = metrics[f"validation_loss{suffix}"], metrics[f"validation_perplexity{suffix}"]
        return f"validation loss {loss:.4f} nats/{unit}, perplexity {perplexity:.2f}"

    if "validation_loss_before" in metrics:  # --init: the checkpoint before fine-tuning
        print(f"before fine-tuning: {scores('_before')}")
    print(scores() if "validation_loss_before" not in metrics else f"after fine-tuning:  {scores()}")
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
