"""The synthetic and language-modelling experiments of `recipes.compare`.

Each function trains or times models of several architectures under the
same settings and returns a list of flat dicts (one per measurement), ready
for `zoo.comparison.report`. Progress goes to stdout, one line per model.
"""

import time

import keras
import numpy as np

from zoo.comparison.matching import build_classifier, build_language_model, matched_width, matched_widths, width_step
from zoo.data.long_range import long_range_task


def _say(message):
    print(message, flush=True)


def _compile(model, learning_rate=1e-3, clipnorm=None):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def throughput(
    architectures, lengths, *, budget, vocabulary_size=1000, tokens_per_batch=8192, steps=5, warmup=2, seed=0
):
    """Training tokens per second vs sequence length, at a fixed number of tokens per batch.

    The width of each architecture is matched to `budget` at the shortest
    length and kept for every length (the same model reading longer inputs;
    the Transformer's position table grows with the length). Each model
    takes `warmup` untimed steps (tracing), then `steps` timed
    `train_on_batch` calls on random tokens; a step's time is their median.

    Returns:
        rows `{architecture, sequence_length, batch_size, width, parameters,
        tokens_per_second, seconds_per_step, seconds_per_million_tokens}`.
    """
    shape = dict(vocabulary_size=vocabulary_size, num_classes=2)
    widths = matched_widths(architectures, budget, sequence_length=min(lengths), **shape)
    rng = np.random.default_rng(seed)
    rows = []
    for length in lengths:
        batch_size = max(1, tokens_per_batch // length)
        inputs = {
            "token_ids": rng.integers(1, vocabulary_size, size=(batch_size, length)).astype("int32"),
            "padding_mask": np.ones((batch_size, length), "int32"),
        }
        labels = rng.integers(0, 2, size=batch_size).astype("int32")
        for architecture in architectures:
            model = _compile(build_classifier(architecture, widths[architecture], sequence_length=length, **shape))
            for _ in range(warmup):
                model.train_on_batch(inputs, labels)
            times = []
            for _ in range(steps):
                start = time.perf_counter()
                model.train_on_batch(inputs, labels)
                times.append(time.perf_counter() - start)
            seconds = float(np.median(times))  # the median resists other processes' bursts
            rows.append(
                {
                    "architecture": architecture,
                    "sequence_length": length,
                    "batch_size": batch_size,
                    "width": widths[architecture],
                    "parameters": model.count_params(),
                    "tokens_per_second": round(batch_size * length / seconds),
                    "seconds_per_step": round(seconds, 4),
                    "seconds_per_million_tokens": round(1e6 * seconds / (batch_size * length), 2),
                }
            )
            _say(
                f"throughput {architecture:<11} length {length:>5}  batch {batch_size:>4}  "
                f"{rows[-1]['tokens_per_second']:>9,} tokens/s  ({model.count_params():,} parameters)"
            )
            keras.backend.clear_session(free_memory=False)
    return rows


def long_range(
    architectures,
    distances,
    *,
    budget,
    kind="copy",
    steps=300,
    batch_size=32,
    test_examples=512,
    learning_rate=1e-3,
    seed=0,
):
    """Held-out accuracy on `zoo.data.long_range` tasks vs the distance the label spans.

    Every (architecture, distance) pair trains a fresh model for `steps`
    batches of new examples (one pass, no example seen twice), then scores
    `test_examples` examples of a different seed. Widths are matched to
    `budget` at the shortest distance.

    Returns:
        rows `{architecture, distance, kind, accuracy, chance, width,
        parameters, train_seconds}`.
    """
    first = long_range_task(1, min(distances), kind=kind)
    shape = dict(vocabulary_size=first.vocabulary_size, num_classes=first.num_symbols)
    widths = matched_widths(architectures, budget, sequence_length=first.length, **shape)
    rows = []
    for distance in distances:
        train = long_range_task(steps * batch_size, distance, kind=kind, seed=seed)
        test = long_range_task(test_examples, distance, kind=kind, seed=seed + 1)
        for architecture in architectures:
            keras.utils.set_random_seed(seed)
            model = build_classifier(architecture, widths[architecture], sequence_length=train.length, **shape)
            _compile(model, learning_rate)
            start = time.perf_counter()
            model.fit(train.inputs(), train.labels, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
            seconds = time.perf_counter() - start
            logits = model.predict(test.inputs(), batch_size=256, verbose=0)
            accuracy = float((logits.argmax(-1) == test.labels).mean())
            rows.append(
                {
                    "architecture": architecture,
                    "distance": distance,
                    "kind": kind,
                    "accuracy": round(accuracy, 4),
                    "chance": round(1 / train.num_symbols, 4),
                    "width": widths[architecture],
                    "parameters": model.count_params(),
                    "train_seconds": round(seconds, 1),
                }
            )
            _say(
                f"long-range {kind} {architecture:<11} distance {distance:>4}  accuracy {accuracy:6.1%}  "
                f"({seconds:.0f}s, {model.count_params():,} parameters)"
            )
            keras.backend.clear_session(free_memory=False)
    return rows


def scaling(
    architectures,
    transformer_widths,
    train_batches,
    validation_batches,
    *,
    vocabulary_size,
    sequence_length,
    steps,
    validation_steps=None,
    learning_rate=1e-3,
):
    """Validation loss vs parameter count on the same language-modelling data.

    The Transformer takes each width of `transformer_widths`; every other
    architecture takes the width whose parameter count is closest to that
    Transformer's, so each size has one model per architecture. Every model
    trains `steps` batches (the same tokens, in the same order) with Adam
    (gradient norm clipped at 1) and is scored on `validation_steps` batches.

    Args:
        train_batches, validation_batches: `tf.data` datasets of
            `({"token_ids", "padding_mask"}, labels)` (`lm_batches`);
            training repeats as needed.

    Returns:
        rows `{architecture, width, parameters, validation_loss,
        train_tokens, train_seconds}`.
    """
    shape = dict(vocabulary_size=vocabulary_size, sequence_length=sequence_length)
    batch = next(iter(train_batches))[0]["token_ids"]
    train_tokens = int(steps * batch.shape[0] * batch.shape[1])
    rows = []
    for transformer_width in transformer_widths:
        budget = build_language_model("transformer", transformer_width, **shape).count_params()
        for architecture in architectures:
            width = (
                transformer_width
                if architecture == "transformer"
                else matched_width(
                    lambda w, a=architecture: build_language_model(a, w, **shape), budget, step=width_step(architecture)
                )[0]
            )
            keras.utils.set_random_seed(0)
            model = _compile(build_language_model(architecture, width, **shape), learning_rate, clipnorm=1.0)
            start = time.perf_counter()
            model.fit(train_batches.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
            seconds = time.perf_counter() - start
            loss = model.evaluate(validation_batches, steps=validation_steps, verbose=0, return_dict=True)["loss"]
            rows.append(
                {
                    "architecture": architecture,
                    "width": width,
                    "parameters": model.count_params(),
                    "validation_loss": round(float(loss), 4),
                    "train_tokens": train_tokens,
                    "train_seconds": round(seconds, 1),
                }
            )
            _say(
                f"scaling {architecture:<11} width {width:>4}  {model.count_params():>10,} parameters  "
                f"validation loss {loss:.4f}  ({seconds:.0f}s)"
            )
            keras.backend.clear_session(free_memory=False)
    return rows
