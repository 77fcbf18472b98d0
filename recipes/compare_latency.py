"""Batch-1 timing of the recipe runs of `recipes.compare` (its deployment table)."""

import pathlib
import time

import keras
import numpy as np


def median_ms(function, inputs, repeats):
    function(inputs[0])  # warm-up (tracing)
    seconds = []
    for index in range(repeats):
        start = time.perf_counter()
        function(inputs[index % len(inputs)])
        seconds.append(time.perf_counter() - start)
    return round(1e3 * float(np.median(seconds)), 3)


def sentiment_latency(run_dir, texts, metrics, repeats=50):
    """Batch-1 milliseconds per text: Keras (a traced call on token ids) and every TFLite file (in `metrics`)."""
    import tensorflow as tf

    from recipes.common import add_tflite_latency

    model = keras.saving.load_model(pathlib.Path(run_dir) / "model.keras")
    packed = model.preprocessor(list(texts))
    inputs = {"text": np.array(texts, dtype=object), **{name: value.numpy() for name, value in packed.items()}}
    call = tf.function(lambda batch: model(batch, training=False))
    examples = [{name: value[i : i + 1] for name, value in packed.items()} for i in range(len(texts))]
    keras_ms = median_ms(call, examples, repeats)
    add_tflite_latency(metrics["exports"], inputs, repeats=repeats)
    return keras_ms


def translation_latency(run_dir, sources, repeats=8):
    """Greedy decoding at batch 1 with `Seq2SeqLM`/`LSTMSeq2Seq.generate` (compiled loop, cache):
    `(milliseconds per sentence, milliseconds per generated token)` over `sources`."""
    model = keras.saving.load_model(pathlib.Path(run_dir) / "model.keras")
    model.generate([sources[0]])  # warm-up (tracing)
    seconds, tokens = 0.0, 0
    for source in list(sources)[:repeats]:
        packed = model.source_preprocessor([source])
        inputs = {"encoder_token_ids": packed["token_ids"], "encoder_padding_mask": packed["padding_mask"]}
        start = time.perf_counter()
        token_ids = model.generate(inputs)
        seconds += time.perf_counter() - start
        row = np.asarray(token_ids)[0, 1:]
        ends = np.flatnonzero(row == model.end_token_id)
        tokens += int(ends[0] + 1) if len(ends) else len(row)
    count = min(repeats, len(sources))
    return round(1e3 * seconds / count, 2), round(1e3 * seconds / max(tokens, 1), 3)


def tflite_entry(metrics, variant_prefix=""):
    """The float32 TFLite entry of a run's `metrics["exports"]` (the first whose variant starts with the prefix)."""
    for entry in metrics["exports"]["tflite"].values():
        if entry.get("quantization") in (None, "float32") and str(entry.get("variant", "")).startswith(variant_prefix):
            return entry
    return None
