"""TFLite conversion (float, dynamic-range, float16, full-integer int8) with parity checks.

Part of the export core: it imports no model. Every `tf.lite` converter
call of zoo lives in this module (TensorFlow plans to drop `tf.lite` from
its wheel, tensorflow#102071: a move to `ai_edge_litert`'s converter then
touches this file only). Running the files is `zoo.export.runtime`'s job;
its `run_tflite`, `run_signature` and `tflite_interpreter` are re-exported
here for older imports.
"""

import pathlib
import tempfile
import warnings

import tensorflow as tf

from zoo.export.archive import export_archive
from zoo.export.endpoint import signature_endpoints
from zoo.export.parity import check_parity
from zoo.export.runtime import run_signature, run_tflite, tflite_interpreter
from zoo.io import atomic_file
from zoo.quiet import native_stderr_captured

QUANTIZATIONS = (None, "dynamic", "float16", "int8")

# Max abs difference allowed between TFLite and Keras outputs (probabilities
# for classifiers), per quantization. Measured on trained models, with margin:
# see the closing note of the foundation issue and benchmarks/results/.
TOLERANCES = {None: 1e-4, "float16": 2e-2, "dynamic": 1e-1, "int8": 2e-1}

__all__ = [
    "QUANTIZATIONS",
    "TOLERANCES",
    "check_tflite",
    "convert_endpoint",
    "run_signature",
    "run_tflite",
    "tflite_interpreter",
    "write_tflite",
]


def _converter(saved_model_dir, signature_keys, quantize, representative_data, custom_ops):
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=signature_keys)
    converter.allow_custom_ops = custom_ops  # tensorflow-text ops of string-in models
    if quantize is None:
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if representative_data is None:
            raise ValueError(
                "quantize='int8' needs representative_data (a few hundred real inputs) for "
                "calibration. Received: representative_data=None"
            )

        def representative_dataset():
            names = list(representative_data)
            for index in range(len(representative_data[names[0]])):
                yield {name: representative_data[name][index : index + 1].astype("float32") for name in names}

        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter


def convert_endpoint(model, endpoint, quantize=None, representative_data=None):
    """The TFLite bytes of `endpoint` (and its extra signatures), one signature each.

    Args:
        model: the (built) Keras model the endpoint calls.
        endpoint: the `Endpoint` to convert.
        quantize: one of `QUANTIZATIONS` (see `zoo.export.export_tflite`).
        representative_data: dict name -> real inputs, for `"int8"`.

    Returns:
        The flatbuffer bytes.

    Raises:
        ValueError: `quantize` is unknown, or `"int8"` has no representative data.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}. Received: quantize={quantize!r}")
    signatures = signature_endpoints(endpoint)
    with tempfile.TemporaryDirectory(prefix="zoo-tflite-") as saved_model_dir:
        export_archive(model, endpoint, track_preprocessors=False).write_out(saved_model_dir, verbose=False)
        with warnings.catch_warnings(), native_stderr_captured():
            # int8 calibration runs the deprecated tf.lite.Interpreter internally.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            custom_ops = any(each.custom_ops for each in signatures.values())
            converter = _converter(saved_model_dir, list(signatures), quantize, representative_data, custom_ops)
            return converter.convert()


def check_tflite(model_content, endpoint, sample_inputs=None, tolerance=None, what="TFLite", strict=True):
    """Compare a TFLite model with Keras on the sample batch and a batch of one.

    Every signature of the file is checked (the main one on `sample_inputs`,
    extra ones on their own samples), then `endpoint.check` if any, with
    `strict` (whether the file is float, so must agree exactly).

    Returns:
        The main signature's `ParityReport`.

    Raises:
        ExportParityError: a signature differs from Keras over tolerance.
    """
    interpreter = tflite_interpreter(model_content)
    report = None
    for signature, each in reversed(signature_endpoints(endpoint).items()):
        tolerances = each.tolerances
        if tolerance is not None:
            tolerances = {name: tolerance for name in each.tolerances}
        report = check_parity(
            lambda batch, signature=signature: run_signature(interpreter, signature, batch),
            each,
            sample_inputs if each is endpoint else None,
            tolerances,
            what if each is endpoint else f"{what} signature {signature!r}",
            free=() if strict else each.quantized_free,
        )
    if endpoint.check is not None:
        measured = endpoint.check(lambda signature, batch: run_signature(interpreter, signature, batch), strict)
        report.extra = report.extra | measured
    return report


def write_tflite(
    model,
    endpoint,
    path,
    quantize=None,
    representative_data=None,
    sample_inputs=None,
    tolerance=None,
    what="TFLite",
):
    """Convert `endpoint`, check the file against Keras, then write it to `path` atomically.

    Args:
        model: the (built) Keras model the endpoint calls.
        endpoint: the `Endpoint` to convert.
        path: the `.tflite` file to write.
        quantize, representative_data: see `convert_endpoint`.
        sample_inputs: dict of NumPy inputs for the parity check.
        tolerance: max abs output difference; defaults to the endpoint's
            `quantized_tolerances[quantize]`, else `TOLERANCES[quantize]`.
        what: names the file in error messages.

    Returns:
        `(path, ParityReport)`.

    Raises:
        ExportParityError: the file disagrees with Keras (nothing is written).
    """
    content = convert_endpoint(model, endpoint, quantize, representative_data)
    if tolerance is None:
        tolerance = endpoint.quantized_tolerances.get(quantize, TOLERANCES[quantize])
    strict = quantize is None
    report = check_tflite(content, endpoint, sample_inputs, tolerance, what, strict=strict)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temporary:
        temporary.write_bytes(content)
    return path, report
