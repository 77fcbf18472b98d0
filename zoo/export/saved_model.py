"""SavedModel export with a raw-input `serving_default` signature (TF Serving layout)."""

import pathlib

import keras
import tensorflow as tf

from zoo.export.parity import check_parity
from zoo.export.signatures import saved_model_endpoint
from zoo.io import atomic_directory


def export_archive(model, endpoint):
    """A `keras.export.ExportArchive` with `endpoint` as signature `endpoint.name` (`model` must be built).

    The endpoint's `extra_signatures` become further signatures.
    """
    if not model.built:
        raise ValueError(f"{type(model).__name__} must be built before export; call it on a batch first")
    archive = keras.export.ExportArchive()
    # No `archive.track(model)`: the endpoints' variables are tracked when they
    # are added, and tracking the model as well saved every weight twice
    # (Keras 3.15 writes the Keras variables and the endpoints' tf.Variables
    # as separate checkpoint entries: a 90 MB model gave a 182 MB SavedModel).
    for signature, each in signature_endpoints(endpoint).items():
        names = list(each.input_signature)
        specs = [each.input_signature[n] for n in names]
        archive.add_endpoint(signature, _positional(each.function, names), input_signature=specs)
    return archive


def signature_endpoints(endpoint):
    """Signature name -> `Endpoint`: the main one first, then its extra signatures."""
    return {endpoint.name: endpoint, **endpoint.extra_signatures}


def _positional(function, names):
    """`function(**named)` as a function of positional tensors (what ExportArchive traces)."""

    def call(*tensors):
        return function(**dict(zip(names, tensors)))

    return call


def check_saved_model(path, endpoint, sample_inputs=None):
    """Reload the SavedModel at `path` and compare each signature with Keras.

    `serving_default` is checked on `sample_inputs` (or the endpoint's own
    samples) and a batch of one; extra signatures on their own samples.
    Returns the `ParityReport` of `serving_default`; raises
    `ExportParityError` over tolerance.
    """
    signatures = tf.saved_model.load(str(path)).signatures

    def runner(signature):
        def run(batch):
            outputs = signatures[signature](**{name: tf.constant(value) for name, value in batch.items()})
            return {name: value.numpy() for name, value in outputs.items()}

        return run

    for signature, extra in endpoint.extra_signatures.items():
        check_parity(runner(signature), extra, None, extra.tolerances, f"SavedModel {path} signature {signature!r}")
    report = check_parity(runner(endpoint.name), endpoint, sample_inputs, endpoint.tolerances, f"SavedModel {path}")
    if endpoint.check is not None:
        report.extra = endpoint.check(lambda signature, batch: runner(signature)(batch), True)
    return report


def export_saved_model(model, directory, version=1, sample_inputs=None):
    """Export `model` for TF Serving as `directory/<version>/` and verify it.

    The `serving_default` signature takes raw inputs (uint8 images for an
    `ImageClassifier`, strings for a `TextClassifier`) and returns labels and
    probabilities. The export is
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
        export_archive(model, endpoint).write_out(str(temporary), verbose=False)
        report = check_saved_model(temporary, endpoint, sample_inputs)
    return path, report


def directory_size(path):
    """Total bytes of the files under `path`."""
    return int(sum(f.stat().st_size for f in pathlib.Path(path).rglob("*") if f.is_file()))

