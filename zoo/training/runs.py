"""Steps every classification recipe shares: start a run, save, evaluate, report."""

import pathlib

import numpy as np

from zoo.export import tflite_probabilities
from zoo.io import atomic_file, atomic_write_json
from zoo.metrics import classification_report
from zoo.training.config import replace_defaults, save_config
from zoo.training.plots import plot_confusion_matrix
from zoo.training.seed import set_seed


def start_run(cfg, smoke_overrides):
    """Apply `--smoke` defaults, create `--out`, write `config.json`, seed everything.

    Returns:
        `(cfg, out)`: the effective config and the run folder.
    """
    if cfg.smoke:
        cfg = replace_defaults(cfg, **smoke_overrides)
    out = pathlib.Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.json")
    set_seed(cfg.seed)
    return cfg, out


def smoke_subsets(train, test, sizes, seed):
    """Random subsets of `sizes = (train, test)` examples, so `--smoke` sees every class."""
    rng = np.random.default_rng(seed)
    return tuple(
        dataset.subset(np.sort(rng.permutation(len(dataset))[:size])) for dataset, size in zip((train, test), sizes)
    )


def save_keras_model(model, out):
    """`out/model.keras`, written atomically."""
    path = pathlib.Path(out) / "model.keras"
    with atomic_file(path) as temporary:
        model.save(temporary)
    return path


def evaluate_classifier(class_ids, test, out):
    """Accuracy, macro precision/recall/F1 and `confusion_matrix.png` for `test` (has labels, class_names)."""
    report = classification_report(test.labels, class_ids, test.class_names)
    plot_confusion_matrix(report["confusion_matrix"], test.class_names, pathlib.Path(out) / "confusion_matrix.png")
    print(
        f"held-out accuracy {report['accuracy']:.4f} (macro F1 {report['f1']:.4f}) on {len(test)} examples",
        flush=True,
    )
    return report


def add_tflite_accuracy(model, exports, inputs, labels):
    """Measure each exported TFLite file's accuracy on `inputs` (all variants' inputs) in place."""
    for entry in exports["tflite"].values():
        probabilities = tflite_probabilities(model, entry["path"], entry["variant"], inputs)
        entry["accuracy"] = float(np.mean(probabilities.argmax(-1) == labels))


def add_tflite_latency(model, exports, inputs, repeats=50):
    """Median milliseconds of one batch-1 call of each exported TFLite file, in place (`ms_per_example`).

    One interpreter per file (default threads), a few warm-up calls, then
    `repeats` calls on successive examples of `inputs`.
    """
    import time

    from zoo.export.parity import select_inputs
    from zoo.export.signatures import tflite_endpoints
    from zoo.export.tflite import run_signature, tflite_interpreter

    for entry in exports["tflite"].values():
        endpoint = tflite_endpoints(model)[entry["variant"]]
        chosen = select_inputs(endpoint, inputs)
        total = len(next(iter(chosen.values())))
        interpreter = tflite_interpreter(pathlib.Path(entry["path"]).read_bytes())
        seconds = []
        for call in range(repeats + 3):
            index = call % total
            example = {name: value[index : index + 1] for name, value in chosen.items()}
            start = time.perf_counter()
            run_signature(interpreter, "serving_default", example)
            if call >= 3:
                seconds.append(time.perf_counter() - start)
        entry["ms_per_example"] = round(1e3 * float(np.median(seconds)), 3)


def write_metrics(out, metrics):
    atomic_write_json(pathlib.Path(out) / "metrics.json", metrics)


def print_summary(metrics, examples, serve_name):
    """Accuracy of Keras and of every export with sizes, a few predictions, the serving command."""
    print("\n=== results ===")
    print(f"held-out accuracy (Keras):         {metrics['accuracy']:.4f}")
    for name, entry in metrics["exports"]["tflite"].items():
        latency = f"{entry['ms_per_example']:7.2f} ms/example   " if "ms_per_example" in entry else ""
        print(
            f"TFLite {name:<26} {entry['accuracy']:.4f}   {entry['bytes'] / 1e3:8.1f} kB   {latency}"
            f"{pathlib.Path(entry['path']).name}"
        )
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel:                               {saved['bytes'] / 1e3:8.1f} kB   {saved['path']}")
    print("predictions on the first held-out examples (true -> predicted):")
    for line in examples:
        print(f"  {line}")
    model_base = pathlib.Path(saved["path"]).parent.resolve()
    print(
        f"serve: docker run -p 8501:8501 -v {model_base}:/models/{serve_name} "
        f"-e MODEL_NAME={serve_name} tensorflow/serving"
    )
    print(f"total {metrics['seconds']:.0f}s", flush=True)
