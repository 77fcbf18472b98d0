"""Export a task model: `export_saved_model`, `export_tflite`, `export_run` (`zoo.export`'s API).

The functions here find the model's `Endpoint`s in the registry
(`zoo.export.signatures` imports every builder zoo ships) and hand them to
the core: `zoo.export.archive` (SavedModel) and `zoo.export.tflite`.
"""

import pathlib
import time

import numpy as np
import tensorflow as tf

from zoo.export.archive import directory_size, write_saved_model
from zoo.export.parity import select_inputs
from zoo.export.quantized import tflite_compatible
from zoo.export.runtime import run_tflite
from zoo.export.signatures import saved_model_endpoint, tflite_endpoints
from zoo.export.tflite import QUANTIZATIONS, write_tflite
from zoo.export.tokenizer_files import ship_tokenizer
from zoo.lora import merged_during  # LoRA models export merged (zoo.lora.merged), then are as before

# File name suffix of each quantization.
QUANTIZATION_SUFFIX = {None: "", "float16": "_float16", "dynamic": "_dynamic", "int8": "_int8"}


@merged_during
def export_saved_model(model, directory, version=1, sample_inputs=None):
    """Export `model` for TF Serving as `directory/<version>/` and verify it.

    The `serving_default` signature takes raw inputs (uint8 images for an
    `ImageClassifier`, strings for a `TextClassifier`) and returns labels and
    probabilities. The export is written to a temporary directory, reloaded
    and compared with the Keras model on `sample_inputs` (and a batch of
    one), then renamed into place: a failed or interrupted export never
    leaves a half-written model.

    Args:
        model: a zoo task model.
        directory: the model's base directory (TF Serving `model_base_path`).
        version: int, the version subdirectory.
        sample_inputs: dict of NumPy inputs for the parity check; defaults to
            a fixed random batch.

    Returns:
        `(path, ParityReport)`; `path` is `directory/<version>`.

    Raises:
        TypeError: no SavedModel builder is registered for the model's class.
        ExportParityError: the reloaded export disagrees with Keras.
    """
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer. Received: version={version!r}")
    return write_saved_model(model, saved_model_endpoint(model), directory, version, sample_inputs)


@merged_during
def export_tflite(
    model,
    path,
    quantize=None,
    representative_data=None,
    sample_inputs=None,
    tolerance=None,
    variant=None,
):
    """Convert `model` to a TFLite file at `path`, reload it and compare with Keras.

    Args:
        model: a zoo task model.
        path: the `.tflite` file to write (atomically).
        quantize: `None` (float32), `"dynamic"` (int8 weights, float
            activations), `"float16"` (float16 weights) or `"int8"` (full
            integer: uint8 input and output, int8 weights and activations,
            calibrated on `representative_data`; numeric inputs only).
        representative_data: dict name -> array of real inputs, needed for
            `"int8"` (a few hundred examples).
        sample_inputs: dict of NumPy inputs for the parity check.
        tolerance: max abs output difference allowed; defaults to
            `TOLERANCES[quantize]`.
        variant: which input variant to export (`zoo.export.tflite_variants(model)`;
            e.g. `"text"` or `"token_ids"` for a `TextClassifier`). Defaults
            to the first, the most end-to-end one.

    A model with Keras-quantized weights (`model.quantize("int8"|"int4")`)
    keeps them in the file and is checked against the quantized Keras model
    (`zoo.export.quantized`).

    Returns:
        `(path, ParityReport)`.

    Raises:
        ValueError: an unknown `quantize` or `variant`, a path not ending in
            `.tflite`, or `"int8"` for string inputs.
        ExportParityError: the TFLite model disagrees with Keras beyond
            tolerance (the file is not written).
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}. Received: quantize={quantize!r}")
    path = pathlib.Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"the TFLite path must end with .tflite. Received: path={str(path)!r}")
    endpoints = tflite_endpoints(model)
    variant = next(iter(endpoints)) if variant is None else variant
    if variant not in endpoints:
        raise ValueError(
            f"unknown TFLite variant {variant!r} for {type(model).__name__}; expected one of {list(endpoints)}"
        )
    endpoint = endpoints[variant]
    if quantize == "int8" and any(spec.dtype == tf.string for spec in endpoint.input_signature.values()):
        raise ValueError(f"quantize='int8' needs numeric inputs; variant {variant!r} takes strings")
    what = f"TFLite ({variant}, {quantize or 'float32'}) {path}"
    with tflite_compatible(model):  # Keras int8 / int4 weights: integer matmuls in float (zoo.export.quantized)
        return write_tflite(model, endpoint, path, quantize, representative_data, sample_inputs, tolerance, what)


def tflite_variants(model):
    """The input variants `export_tflite` can write for `model`, default first."""
    return list(tflite_endpoints(model))


def tflite_file_name(variant, quantize, default_variant):
    """`model[_<variant>][_<quantization>].tflite`; the default variant has no infix."""
    infix = "" if variant == default_variant else f"_{variant}"
    return f"model{infix}{QUANTIZATION_SUFFIX[quantize]}.tflite"


@merged_during
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
    """Write `out_dir/saved_model/1/` and one `.tflite` per variant and quantization, each checked.

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

    A model whose preprocessor was read from a checkpoint's tokenizer files
    (`CausalLM.from_checkpoint`) also gets those files, unchanged, in
    `out_dir/tflite_tokenizer/` with `tokenization.json` and `README.md`
    saying how an app packs a prompt's ids (`zoo.export.tokenizer_files`):
    its TFLite files take token ids.

    Returns:
        A JSON-ready dict: `{"saved_model": {...}, "tflite": {name: {...}}}`
        with paths, sizes in bytes and the parity measurements (a causal
        LM's `prefill_decode` entries: greedy agreement and logit error, see
        `zoo.export.causal_lm`); TFLite entries are named
        `<variant>/<quantization>`; plus `"tflite_tokenizer"` when the
        tokenizer files were shipped.
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
    tokenizer = ship_tokenizer(model, out_dir) if summary["tflite"] else None
    if tokenizer is not None:
        summary["tflite_tokenizer"] = tokenizer
        log(f"copied the tokenizer files {', '.join(tokenizer['tokenizer_files'])} to {tokenizer['path']}")
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
    diffs = report.max_abs_diff.items()
    return ", ".join(f"{name} {value:.2g}" for name, value in diffs) or "n/a"
