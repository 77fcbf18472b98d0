"""Inference speed of a trained text classifier's exports on one CPU thread.

    python -m benchmarks.text_inference --run saved_models/sentiment

Reads a `recipes.sentiment` run folder and times, on the same texts and one
thread each: the Keras model (`predict` on strings, preprocessing included),
the SavedModel's string-in `serving_default`, and every TFLite file
(string-in and token-id variants, float and dynamic-range). Reports
examples/s per batch size, the ratio to Keras, and file sizes; writes JSON.
Token-id models are timed on pre-tokenized inputs (an app tokenizes itself).
"""

import argparse
import json
import os
import pathlib
import sys
import time

from benchmarks.common import environment, format_table, median, print_flush, write_json

SYNTHETIC = [
    "a gorgeous , witty film with a sharp script and two great performances",
    "the plot is a mess and the acting is worse",
    "it never quite finds its footing , but the last act is moving",
    "boring",
]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.text_inference", description=__doc__.split("\n")[0])
    parser.add_argument("--run", default="saved_models/sentiment", help="a recipes.sentiment run folder")
    parser.add_argument("--examples", type=int, default=512, help="texts timed per measurement")
    parser.add_argument("--batch-sizes", default="1,32", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the median is reported")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/text_inference.json")
    return parser.parse_args(argv)


def load_texts(run, count):
    """The run's held-out texts when its data is readable here, else synthetic sentences."""
    from zoo.data import DataError, load_text_dataset

    config = json.loads((run / "config.json").read_text())
    try:
        _, test = load_text_dataset(config["data"], test_fraction=config["test_fraction"], seed=config["seed"])
        texts, source = test.texts, config["data"]
    except DataError:
        texts, source = SYNTHETIC, "synthetic"
    return [texts[i % len(texts)] for i in range(count)], source


def timed(function, batches, repeats):
    """Median seconds of running `function` over every batch, after one warm-up pass."""
    for batch in batches:
        function(batch)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            function(batch)
        seconds.append(time.perf_counter() - start)
    return median(seconds)


def tflite_runner(path, threads):
    """A function batch(dict of arrays) -> outputs, reusing one interpreter per batch shape."""
    import numpy as np
    import tensorflow_text as tf_text
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    interpreter = InterpreterWithCustomOps(
        model_path=str(path), num_threads=threads, custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS
    )
    runner = interpreter.get_signature_runner()

    def run(batch):
        return runner(**{name: np.asarray(value) for name, value in batch.items()})

    return run


def batches_of(inputs, batch_size):
    total = len(next(iter(inputs.values())))
    return [{name: value[i : i + batch_size] for name, value in inputs.items()} for i in range(0, total, batch_size)]


def measure(args, run, texts):
    import keras
    import numpy as np
    import tensorflow as tf

    model = keras.saving.load_model(run / "model.keras")
    token_inputs = {name: value.numpy() for name, value in model.preprocessor(texts).items()}
    text_inputs = {"text": np.array([t.encode("utf-8") for t in texts], dtype=object)}
    serve = tf.saved_model.load(str(run / "saved_model" / "1")).signatures["serving_default"]
    runners = {
        "keras (predict on strings)": (
            lambda b: model.predict(list(b["text"]), batch_size=len(b["text"]), verbose=0),
            text_inputs,
        ),
        "SavedModel serving_default": (lambda b: serve(text=tf.constant(b["text"])), text_inputs),
    }
    sizes = {
        "SavedModel serving_default": sum(
            f.stat().st_size for f in (run / "saved_model" / "1").rglob("*") if f.is_file()
        )
    }
    for path in sorted(run.glob("model*.tflite")):
        name = f"TFLite {path.name}"
        inputs = token_inputs if "token_ids" in path.name else text_inputs
        runners[name] = (tflite_runner(path, args.threads), inputs)
        sizes[name] = path.stat().st_size
    results = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        for name, (function, inputs) in runners.items():
            seconds = timed(function, batches_of(inputs, batch_size), args.repeats)
            results.append(
                {
                    "runtime": name,
                    "batch_size": batch_size,
                    "examples_per_s": len(texts) / seconds,
                    "bytes": sizes.get(name),
                }
            )
            print_flush(f"  {name:<44} batch {batch_size:>3}: {len(texts) / seconds:9.1f} examples/s")
    return results


def report(results):
    keras_rate = {r["batch_size"]: r["examples_per_s"] for r in results if r["runtime"].startswith("keras")}
    rows = []
    for r in results:
        r["ratio_to_keras"] = r["examples_per_s"] / keras_rate[r["batch_size"]]
        size = "-" if r["bytes"] is None else f"{r['bytes'] / 1e3:,.0f}"
        rows.append([r["runtime"], r["batch_size"], f"{r['examples_per_s']:,.1f}", f"{r['ratio_to_keras']:.2f}x", size])
    print_flush(format_table(["runtime", "batch", "examples/s", "vs keras predict", "kB"], rows))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    import zoo  # noqa: F401

    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        tensorflow_threads = args.threads
    except RuntimeError:  # called in a process that already ran TensorFlow ops (tests)
        tensorflow_threads = "unchanged: TensorFlow was already initialized"
        print_flush(f"note: TensorFlow threads {tensorflow_threads}")
    run = pathlib.Path(args.run)
    if not (run / "model.keras").is_file():
        raise SystemExit(f"error: {run} is not a recipes.sentiment run folder (no model.keras); run the recipe first")
    texts, source = load_texts(run, args.examples)
    print_flush(f"{len(texts)} texts from {source}, {args.threads} thread(s)")
    results = measure(args, run, texts)
    report(results)
    metrics = json.loads((run / "metrics.json").read_text())
    record = {
        **environment("benchmarks.text_inference", argv),
        "run": str(run),
        "texts": source,
        "examples": len(texts),
        "threads": args.threads,
        "tensorflow_threads": tensorflow_threads,
        "results": results,
        "training": {
            key: metrics.get(key) for key in ("accuracy", "train_tokens_per_second", "fit_seconds", "parameters")
        },
    }
    write_json(record, args.out)
    print_flush(f"wrote {args.out}")
    return record


if __name__ == "__main__":
    main()
