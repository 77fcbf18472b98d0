"""SavedModel export with a raw-input `serving_default` signature (TF Serving layout)."""

import pathlib

import keras
import tensorflow as tf

from zoo.export.parity import ParityReport, batch_variants, compare_outputs, top1_agreement
from zoo.export.signatures import saved_model_endpoint
from zoo.io import atomic_directory


def _archive(model, endpoint, name="serving_default"):
    archive = keras.export.ExportArchive()
    archive.track(model)
    names = list(endpoint.input_signature)
    specs = [endpoint.input_signature[n] for n in names]

    def function(*tensors):
        return endpoint.function(**dict(zip(names, tensors)))

    archive.add_endpoint(name, function, input_signature=specs)
    return archive


def check_saved_model(path, endpoint, sample_inputs=None):
    """Reload the SavedModel at `path` and compare its `serving_default` with Keras.

    Checks the sample batch and a batch of one. Returns a `ParityReport`;
    raises `ExportParityError` over tolerance.
    """
    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]
    inputs = endpoint.sample_inputs if sample_inputs is None else sample_inputs
    diffs, agreement, sizes = {}, None, []
    for batch in batch_variants(inputs):
        outputs = {k: v.numpy() for k, v in serve(**{k: tf.constant(v) for k, v in batch.items()}).items()}
        expected = endpoint.reference(batch)
        for name, diff in compare_outputs(outputs, expected, endpoint.tolerances, f"SavedModel {path}").items():
            diffs[name] = max(diff, diffs.get(name, 0.0))
        sizes.append(len(next(iter(batch.values()))))
        if agreement is None and "probabilities" in expected:
            agreement = top1_agreement(outputs["probabilities"], expected["probabilities"])
    return ParityReport(max_abs_diff=diffs, top1_agreement=agreement, batch_sizes=sizes)


def export_saved_model(model, directory, version=1, sample_inputs=None):
    """Export `model` for TF Serving as `directory/<version>/` and verify it.

    The `serving_default` signature takes raw inputs (uint8 images for an
    `ImageClassifier`) and returns labels and probabilities. The export is
    written to a temporary directory, reloaded and compared with the Keras
    model on `sample_inputs` (and a batch of one), then renamed into place:
    a failed or interrupted export never leaves a half-written model.

    Args:
        model: a zoo task model.
        directory: the model's base directory (TF Serving `model_base_path`).
        version: int, the version subdirectory.
        sample_inputs: dict of NumPy inputs for the parity check; defaults to
            a fixed random batch.

    Returns:
        `(path, ParityReport)`; `path` is `directory/<version>`.

    Raises:
        ExportParityError: the reloaded export disagrees with Keras.
    """
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer. Received: version={version!r}")
    endpoint = saved_model_endpoint(model)
    path = pathlib.Path(directory) / str(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(path) as temporary:
        _archive(model, endpoint).write_out(str(temporary), verbose=False)
        report = check_saved_model(temporary, endpoint, sample_inputs)
    return path, report


def directory_size(path):
    """Total bytes of the files under `path`."""
    return int(sum(f.stat().st_size for f in pathlib.Path(path).rglob("*") if f.is_file()))

