"""Export a trained model into a run folder: SavedModel (TF Serving layout) + TFLite variants."""

import pathlib
import time

from zoo.export.saved_model import directory_size, export_saved_model
from zoo.export.tflite import export_tflite

# File name of each TFLite variant inside a run folder.
TFLITE_FILES = {
    None: "model.tflite",
    "float16": "model_float16.tflite",
    "dynamic": "model_dynamic.tflite",
    "int8": "model_int8.tflite",
}


def export_run(model, out_dir, *, sample_inputs, representative_data=None, quantizations=(None, "dynamic", "float16", "int8"), log=print):
    """Write `out_dir/saved_model/1/` and one `.tflite` per quantization, each parity-checked.

    Args:
        model: a zoo task model.
        out_dir: the run folder.
        sample_inputs: dict of real NumPy inputs for the parity checks.
        representative_data: dict of real inputs for int8 calibration.
        quantizations: which TFLite variants to write (`None` = float32).
        log: where progress lines go.

    Returns:
        A JSON-ready dict: `{"saved_model": {...}, "tflite": {name: {...}}}`
        with paths, sizes in bytes and the parity measurements.
    """
    out_dir = pathlib.Path(out_dir)
    summary = {"tflite": {}}
    start = time.perf_counter()
    path, report = export_saved_model(model, out_dir / "saved_model", sample_inputs=sample_inputs)
    summary["saved_model"] = _entry(path, directory_size(path), report, start)
    log(f"exported SavedModel {path} ({_megabytes(directory_size(path))}), parity max diff {_diff(report)}")
    for quantize in quantizations:
        start = time.perf_counter()
        path, report = export_tflite(
            model,
            out_dir / TFLITE_FILES[quantize],
            quantize=quantize,
            representative_data=representative_data,
            sample_inputs=sample_inputs,
        )
        size = path.stat().st_size
        summary["tflite"][quantize or "float32"] = _entry(path, size, report, start)
        log(f"exported TFLite {path} ({_megabytes(size)}), parity max diff {_diff(report)}")
    return summary


def _entry(path, size, report, start):
    return {
        "path": str(path),
        "bytes": size,
        "max_abs_diff": report.max_abs_diff,
        "top1_agreement": report.top1_agreement,
        "parity_batch_sizes": report.batch_sizes,
        "seconds": round(time.perf_counter() - start, 2),
    }


def _megabytes(size):
    return f"{size / 1e6:.2f} MB"


def _diff(report):
    return ", ".join(f"{name} {value:.2g}" for name, value in report.max_abs_diff.items()) or "n/a"
