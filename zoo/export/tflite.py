"""TFLite export (float, dynamic-range, float16, full-integer int8) with parity checks."""

import pathlib
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from zoo.quiet import native_stderr_captured
from zoo.export.parity import check_parity
from zoo.export.saved_model import export_archive, signature_endpoints
from zoo.export.signatures import tflite_endpoints
from zoo.io import atomic_file

QUANTIZATIONS = (None, "dynamic", "float16", "int8")

# Max abs difference allowed between TFLite and Keras outputs (probabilities
# for classifiers), per quantization. Measured on trained models, with margin:
# see the closing note of the foundation issue and benchmarks/results/.
TOLERANCES = {None: 1e-4, "float16": 2e-2, "dynamic": 1e-1, "int8": 2e-1}


def tflite_interpreter(model_content):
    """An allocated LiteRT interpreter for `model_content` (bytes), tensorflow-text ops registered."""
    import tensorflow_text as tf_text
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    with native_stderr_captured():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
        interpreter = InterpreterWithCustomOps(
            model_content=model_content,
            custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS,  # string-in models
        )
        interpreter.allocate_tensors()
    return interpreter


def run_tflite(model_content, inputs, signature="serving_default"):
    """Run a TFLite model (bytes) on a dict of NumPy inputs; returns float outputs.

    Integer-quantized inputs are quantized with the model's own scale and
    zero point, and integer outputs are dequantized, so callers always deal
    in the same units as the Keras model (raw pixels in, probabilities out).
    String inputs (lists or object arrays of str/bytes) are passed as bytes;
    tensorflow-text's custom ops are registered.
    """
    return run_signature(tflite_interpreter(model_content), signature, inputs)


def run_signature(interpreter, signature, inputs):
    """`run_tflite` on an existing interpreter (reuse it across calls, e.g. in a decoding loop)."""
    runner = interpreter.get_signature_runner(signature)
    input_details = runner.get_input_details()
    feed = {}
    for name, value in inputs.items():
        detail = input_details[name]
        scale, zero_point = detail["quantization"]
        if detail["dtype"] in (np.bytes_, np.object_, np.str_):
            feed[name] = np.array([_as_bytes(text) for text in np.asarray(value, dtype=object).reshape(-1)], dtype=object)
            continue
        value = np.asarray(value)
        if np.issubdtype(detail["dtype"], np.integer) and scale:
            info = np.iinfo(detail["dtype"])
            value = np.clip(np.round(value.astype("float32") / scale + zero_point), info.min, info.max)
        feed[name] = value.astype(detail["dtype"])
    outputs = runner(**feed)
    output_details = runner.get_output_details()
    result = {}
    for name, value in outputs.items():
        scale, zero_point = output_details[name]["quantization"]
        if np.issubdtype(value.dtype, np.integer) and scale:
            value = (value.astype("float32") - zero_point) * scale
        result[name] = value
    return result


def _as_bytes(text):
    return text if isinstance(text, bytes) else str(text).encode("utf-8")


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
            raise ValueError("quantize='int8' needs representative_data (a few hundred real inputs) for calibration")

        def representative_dataset():
            names = list(representative_data)
            for index in range(len(representative_data[names[0]])):
                yield {name: representative_data[name][index : index + 1].astype("float32") for name in names}

        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter


def check_tflite(model_content, endpoint, sample_inputs=None, tolerance=None, what="TFLite", strict=True):
    """Compare a TFLite model with Keras on the sample batch and a batch of one.

    Every signature of the file is checked (the main one on `sample_inputs`,
    extra ones on their own samples), then `endpoint.check` if any, with
    `strict` (whether the file is float, so must agree exactly).
    Returns the main signature's `ParityReport`.
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
        report.extra = report.extra | endpoint.check(lambda signature, batch: run_signature(interpreter, signature, batch), strict)
    return report


def export_tflite(
    model, path, quantize=None, representative_data=None, sample_inputs=None, tolerance=None, variant=None
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

    Returns:
        `(path, ParityReport)`.

    Raises:
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
        raise ValueError(f"unknown TFLite variant {variant!r} for {type(model).__name__}; expected one of {list(endpoints)}")
    endpoint = endpoints[variant]
    if quantize == "int8" and any(spec.dtype == tf.string for spec in endpoint.input_signature.values()):
        raise ValueError(f"quantize='int8' needs numeric inputs; variant {variant!r} takes strings")
    with tempfile.TemporaryDirectory(prefix="zoo-tflite-") as saved_model_dir:
        export_archive(model, endpoint).write_out(saved_model_dir, verbose=False)
        with warnings.catch_warnings(), native_stderr_captured():
            # int8 calibration runs the deprecated tf.lite.Interpreter internally.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            custom_ops = any(each.custom_ops for each in signature_endpoints(endpoint).values())
            converter = _converter(
                saved_model_dir, list(signature_endpoints(endpoint)), quantize, representative_data, custom_ops
            )
            content = converter.convert()
    if tolerance is None:
        tolerance = endpoint.quantized_tolerances.get(quantize, TOLERANCES[quantize])
    what = f"TFLite ({variant}, {quantize or 'float32'}) {path}"
    report = check_tflite(content, endpoint, sample_inputs, tolerance, what=what, strict=quantize is None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temporary:
        temporary.write_bytes(content)
    return path, report


def tflite_variants(model):
    """The input variants `export_tflite` can write for `model`, default first."""
    return list(tflite_endpoints(model))
