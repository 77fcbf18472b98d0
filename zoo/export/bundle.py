"""Export a trained model into a run folder: SavedModel (TF Serving layout) + TFLite variants."""

import pathlib
import time

import numpy as np

from zoo.export.parity import select_inputs
from zoo.export.saved_model import directory_size, export_saved_model
from zoo.export.signatures import tflite_endpoints
from zoo.export.tflite import export_tflite, run_tflite

# File name suffix of each quantization.
QUANTIZATION_SUFFIX = {None: "", "float16": "_float16", "dynamic": "_dynamic", "int8": "_int8"}


def tflite_file_name(variant, quantize, default_variant):
    """`model[_<variant>][_<quantization>].tflite`; the default variant has no infix."""
    infix = "" if variant == default_variant else f"_{variant}"
    return f"model{infix}{QUANTIZATION_SUFFIX[quantize]}.tflite"


def export_run(
    model,
    out_dir,
    *,
    sample_inputs,
    representative_data=None,
    quantizations=(None, "dynamic", "float16", "int8"),
    variants=None,
    log=print,
):
    """Write `out_dir/saved_model/1/` and one `.tflite` per variant and quantization, each parity-checked.

    Args:
        model: a zoo task model.
        out_dir: the run folder.
        sample_inputs: dict of real NumPy inputs for the parity checks; it may
            hold the inputs of several variants (e.g. `text`, `token_ids`,
            `padding_mask`), each export takes the ones it needs.
        representative_data: dict of real inputs for int8 calibration.
        quantizations: which TFLite quantizations to write (`None` = float32).
        variants: which TFLite input variants (default: all the model has).
        log: where progress lines go.

    Returns:
        A JSON-ready dict: `{"saved_model": {...}, "tflite": {name: {...}}}`
        with paths, sizes in bytes and the parity measurements; TFLite
        entries are named `<variant>/<quantization>`.
    """
    out_dir = pathlib.Path(out_dir)
    summary = {"tflite": {}}
    start = time.perf_counter()
    path, report = export_saved_model(model, out_dir / "saved_model", sample_inputs=sample_inputs)
    summary["saved_model"] = _entry(path, directory_size(path), report, start)
    log(f"exported SavedModel {path} ({_megabytes(directory_size(path))}), parity max diff {_diff(report)}")
    available = list(tflite_endpoints(model))
    for variant in variants or available:
        for quantize in quantizations:
            start = time.perf_counter()
            path, report = export_tflite(
                model,
                out_dir / tflite_file_name(variant, quantize, available[0]),
                quantize=quantize,
                representative_data=representative_data,
                sample_inputs=sample_inputs,
                variant=variant,
            )
            size = path.stat().st_size
            entry = _entry(path, size, report, start)
            entry.update(variant=variant, quantization=quantize or "float32")
            summary["tflite"][f"{variant}/{quantize or 'float32'}"] = entry
            log(f"exported TFLite {path} ({_megabytes(size)}), parity max diff {_diff(report)}")
    return summary


def tflite_probabilities(model, path, variant, inputs, batch_size=256):
    """Run the TFLite file of `variant` over `inputs` in batches; returns probabilities."""
    endpoint = tflite_endpoints(model)[variant]
    inputs = select_inputs(endpoint, inputs)
    content = pathlib.Path(path).read_bytes()
    total = len(next(iter(inputs.values())))
    batches = []
    for start in range(0, total, batch_size):
        batch = {name: value[start : start + batch_size] for name, value in inputs.items()}
        batches.append(run_tflite(content, batch)["probabilities"])
    return np.concatenate(batches)


def _entry(path, size, report, start):
    return {
        "path": str(path),
        "bytes": size,
        "max_abs_diff": report.max_abs_diff,
        "top1_agreement": report.top1_agreement,
        "parity_batch_sizes": report.batch_sizes,
        "seconds": round(time.perf_counter() - start, 2),
        **report.extra,  # e.g. greedy agreement of a quantized decoding loop
    }


def _megabytes(size):
    return f"{size / 1e6:.2f} MB"


def _diff(report):
    return ", ".join(f"{name} {value:.2g}" for name, value in report.max_abs_diff.items()) or "n/a"
