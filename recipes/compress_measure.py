"""What `recipes.compress` measures of each model: size, batch-1 TFLite latency, the metric; and
the short recovery fine-tune after factorizing."""

import time
import warnings

import keras

from recipes.common import add_tflite_latency
from zoo.export import export_tflite
from zoo.training import WarmupCosineDecay


def measure(model, run, cfg, scratch, name):
    """Parameters, float32 TFLite bytes, batch-1 TFLite latency (ms) and the task metric of `model`."""
    started = time.perf_counter()
    tflite_path = scratch / f"{name}.tflite"
    export_tflite(model, tflite_path, variant=run.variant, sample_inputs=run.sample_inputs())
    entry = {"path": str(tflite_path), "variant": run.variant}
    exports = {"tflite": {name: entry}}
    add_tflite_latency(exports, run.inputs, repeats=cfg.latency_repeats)
    result = {
        "parameters": int(model.count_params()),
        "tflite_bytes": tflite_path.stat().st_size,
        "tflite_ms_per_example": entry["ms_per_example"],
        "metric": run.evaluate(model),
    }
    tflite_path.unlink()
    print(
        f"{name}: {result['parameters']:,} parameters, TFLite {result['tflite_bytes'] / 1e6:.2f} MB, "
        f"{result['tflite_ms_per_example']:.1f} ms/example, {run.metric_name} {result['metric']:.4g} "
        f"({time.perf_counter() - started:.0f}s)",
        flush=True,
    )
    return result


def recover(model, run, cfg, learning_rate):
    """Fine-tune `model` for `cfg.recover_steps` steps on the recipe's training data; returns seconds."""
    started = time.perf_counter()
    schedule = WarmupCosineDecay(peak_learning_rate=learning_rate, warmup_steps=0, total_steps=cfg.recover_steps)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=run.cfg.weight_decay, clipnorm=1.0),
        **run.loss_and_metrics(),
    )
    batches = run.train_batches().repeat().take(cfg.recover_steps)
    with warnings.catch_warnings():  # the batches are shuffled by the recipe's pipeline
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        history = model.fit(batches, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    print(
        f"  recovery: {cfg.recover_steps} steps, final loss {history.history['loss'][-1]:.4f} ({seconds:.0f}s)",
        flush=True,
    )
    return seconds
