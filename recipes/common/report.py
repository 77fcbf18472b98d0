"""Evaluate and report what the recipes share: classification scores, TFLite checks, the summary."""

import pathlib
import time

import numpy as np

from zoo.export import tflite_probabilities
from zoo.export.tflite import run_signature, tflite_interpreter
from zoo.metrics import classification_report
from zoo.training import plot_confusion_matrix


def timed(function, *args, **kwargs):
    """`(function(*args, **kwargs), seconds it took)`."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def smoke_subsets(train, test, sizes, seed):
    """Random subsets of `sizes = (train, test)` examples, so `--smoke` sees every class."""
    rng = np.random.default_rng(seed)
    return tuple(
        dataset.subset(np.sort(rng.permutation(len(dataset))[:size])) for dataset, size in zip((train, test), sizes)
    )


SCORES = ("accuracy", "precision", "recall", "f1", "confusion_matrix")


def evaluate_classifier(class_ids, test, out):
    """Accuracy, macro precision/recall/F1 and `confusion_matrix.png` of `test`'s predictions.

    Returns:
        Those scores and the confusion matrix (`SCORES`, in that order), for metrics.json.
    """
    report = classification_report(test.labels, class_ids, test.class_names)
    plot_confusion_matrix(report["confusion_matrix"], test.class_names, pathlib.Path(out) / "confusion_matrix.png")
    print(
        f"held-out accuracy {report['accuracy']:.4f} (macro F1 {report['f1']:.4f}) on {len(test)} examples", flush=True
    )
    return {key: report[key] for key in SCORES}


def classifier_metrics(run, model, history, train, test, **fields):
    """The metrics.json of a classifier run: data, sizes, epochs and timing around `fields`.

    Args:
        run: the `Run` (its config gives `data` and `architecture`).
        model, history: the trained model and its `fit` history.
        train, test: the splits (their sizes are recorded).
        **fields: the recipe's own entries (preset, scores, exports, ...), in order.
    """
    cfg = run.cfg
    return {
        "data": cfg.data,
        "architecture": cfg.architecture,
        **fields,
        "parameters": model.count_params(),
        "train_examples": len(train),
        "test_examples": len(test),
        "epochs": len(history.get("loss", [])),
        **run.timing(),
    }


def add_tflite_accuracy(model, exports, inputs, labels):
    """Measure each exported TFLite file's accuracy on `inputs` (all variants' inputs) in place."""
    for entry in exports["tflite"].values():
        probabilities = tflite_probabilities(model, entry["path"], entry["variant"], inputs)
        entry["accuracy"] = float(np.mean(probabilities.argmax(-1) == labels))


def export_classifier(run, model, inputs, labels, **options):
    """`run.export` checked on the first 8 of `inputs`, then each TFLite file's accuracy on all.

    Args:
        run: the `Run`.
        model: a trained classifier.
        inputs: dict name -> held-out inputs of every exported variant (e.g. texts and their
            token ids).
        labels: the held-out labels.
        **options: more `zoo.export.export_run` arguments.

    Returns:
        The exports summary, each TFLite entry with its `accuracy`.
    """
    exports = run.export(model, {name: value[:8] for name, value in inputs.items()}, **options)
    add_tflite_accuracy(model, exports, inputs, labels)
    return exports


def add_tflite_latency(exports, inputs, repeats=50):
    """Median milliseconds of one batch-1 call of each TFLite file, in place (`ms_per_example`).

    One interpreter per file (default threads), a few warm-up calls, then
    `repeats` calls on successive examples of `inputs` (a dict holding the
    inputs of every exported variant; each file takes those it names).
    """
    for entry in exports["tflite"].values():
        interpreter = tflite_interpreter(pathlib.Path(entry["path"]).read_bytes())
        names = interpreter.get_signature_runner("serving_default").get_input_details()
        chosen = {name: inputs[name] for name in names}
        total = len(next(iter(chosen.values())))
        seconds = []
        for call in range(repeats + 3):
            index = call % total
            example = {name: value[index : index + 1] for name, value in chosen.items()}
            start = time.perf_counter()
            run_signature(interpreter, "serving_default", example)
            if call >= 3:
                seconds.append(time.perf_counter() - start)
        entry["ms_per_example"] = round(1e3 * float(np.median(seconds)), 3)


def docker_command(saved_model_path, name):
    """The `docker run` line that serves the SavedModel `.../saved_model/1` as model `name`."""
    model_base = pathlib.Path(saved_model_path).parent.resolve()
    return f"docker run -p 8501:8501 -v {model_base}:/models/{name} -e MODEL_NAME={name} tensorflow/serving"


def print_summary(metrics, examples, serve_name):
    """Accuracy of Keras and of every export with sizes, a few predictions, the serving command."""
    print("\n=== results ===")
    print(f"held-out accuracy (Keras):         {metrics['accuracy']:.4f}")
    for name, entry in metrics["exports"]["tflite"].items():
        latency = ""
        if "ms_per_example" in entry:
            latency = f"{entry['ms_per_example']:7.2f} ms/example   "
        size = f"{entry['bytes'] / 1e3:8.1f} kB"
        print(f"TFLite {name:<26} {entry['accuracy']:.4f}   {size}   {latency}{pathlib.Path(entry['path']).name}")
    saved = metrics["exports"]["saved_model"]
    print(f"{'SavedModel:':<42}{saved['bytes'] / 1e3:8.1f} kB   {saved['path']}")
    print("predictions on the first held-out examples (true -> predicted):")
    for line in examples:
        print(f"  {line}")
    print(f"serve: {docker_command(saved['path'], serve_name)}")
    print(f"total {metrics['seconds']:.0f}s", flush=True)
