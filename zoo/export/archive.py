"""SavedModel writing: `Endpoint`s into a `keras.export.ExportArchive`, reloaded and checked.

Part of the export core: it imports no model. `write_saved_model` writes
one `Endpoint` (with its extra signatures) in the TF Serving layout,
atomically, and refuses it unless the reloaded SavedModel matches Keras.
"""

import pathlib

import keras

from zoo.export.endpoint import signature_endpoints
from zoo.export.parity import check_parity
from zoo.export.runtime import load_saved_model, saved_model_runner
from zoo.io import atomic_directory


def export_archive(model, endpoint, track_preprocessors=True):
    """A `keras.export.ExportArchive` with `endpoint` as signature `endpoint.name`.

    The endpoint's `extra_signatures` become further signatures. With
    `track_preprocessors`, the resources of the model's preprocessors
    (`preprocessor_resources`) are tracked, so string-in signatures save.

    Raises:
        ValueError: `model` is not built.
    """
    if not model.built:
        raise ValueError(f"{type(model).__name__} must be built before export; call it on a batch first")
    archive = keras.export.ExportArchive()
    # No `archive.track(model)`: the endpoints' variables are tracked when they
    # are added, and tracking the model as well saved every weight twice
    # (Keras 3.15 writes the Keras variables and the endpoints' tf.Variables
    # as separate checkpoint entries: a 90 MB model gave a 182 MB SavedModel).
    # The TFLite path passes False: its endpoints take ids, and tracked tables would enter the
    # converted graph as initializers (HashTableV2) with no TFLite kernel.
    for resource in preprocessor_resources(model) if track_preprocessors else ():
        archive.track(resource)
    for signature, each in signature_endpoints(endpoint).items():
        names = list(each.input_signature)
        specs = [each.input_signature[n] for n in names]
        archive.add_endpoint(signature, _positional(each.function, names), input_signature=specs)
    return archive


def preprocessor_resources(model):
    """What a model's preprocessors hold besides variables (lookup tables, tokenizer ops' resources).

    A preprocessor lists them in `saved_model_resources` (checkpoint
    tokenizers); the archive must track them or the signatures that read
    them fail to save ("untracked resource").
    """
    resources = []
    for name in getattr(model, "layer_arguments", ()):
        resources += list(getattr(getattr(model, name, None), "saved_model_resources", ()))
    return resources


def _positional(function, names):
    """`function(**named)` as a function of positional tensors (what ExportArchive traces)."""

    def call(*tensors):
        return function(**dict(zip(names, tensors)))

    return call


def check_saved_model(path, endpoint, sample_inputs=None):
    """Reload the SavedModel at `path` and compare each signature with Keras.

    `serving_default` is checked on `sample_inputs` (or the endpoint's own
    samples) and a batch of one; extra signatures on their own samples.

    Returns:
        The `ParityReport` of `serving_default`.

    Raises:
        ExportParityError: a signature differs from Keras over tolerance.
    """
    loaded = load_saved_model(path)
    for signature, extra in endpoint.extra_signatures.items():
        check_parity(
            saved_model_runner(loaded, signature),
            extra,
            None,
            extra.tolerances,
            f"SavedModel {path} signature {signature!r}",
        )
    report = check_parity(
        saved_model_runner(loaded, endpoint.name),
        endpoint,
        sample_inputs,
        endpoint.tolerances,
        f"SavedModel {path}",
    )
    if endpoint.check is not None:
        report.extra = endpoint.check(lambda signature, batch: saved_model_runner(loaded, signature)(batch), True)
    return report


def write_saved_model(model, endpoint, directory, version=1, sample_inputs=None):
    """Write `endpoint` of `model` as `directory/<version>/`, reloaded and checked first.

    The export is written to a temporary directory, reloaded and compared
    with the Keras model, then renamed into place: a failed or interrupted
    export never leaves a half-written model.

    Args:
        model: the (built) Keras model the endpoint calls.
        endpoint: the `Endpoint` to write as `serving_default`.
        directory: the model's base directory (TF Serving `model_base_path`).
        version: int >= 1, the version subdirectory.
        sample_inputs: dict of NumPy inputs for the parity check.

    Returns:
        `(path, ParityReport)`; `path` is `directory/<version>`.

    Raises:
        ValueError: `version` is not a positive integer.
        ExportParityError: the reloaded export disagrees with Keras.
    """
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer. Received: version={version!r}")
    path = pathlib.Path(directory) / str(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(path) as temporary:
        export_archive(model, endpoint).write_out(str(temporary), verbose=False)
        report = check_saved_model(temporary, endpoint, sample_inputs)
    return path, report


def directory_size(path):
    """Total bytes of the files under `path`."""
    return int(sum(f.stat().st_size for f in pathlib.Path(path).rglob("*") if f.is_file()))
