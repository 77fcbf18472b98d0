"""Exports for serving: SavedModel (TF Serving, raw inputs) and TFLite, each parity-checked.

    from zoo.export import export_saved_model, export_tflite
    path, report = export_saved_model(model, "saved_models/vit/saved_model")
    path, report = export_tflite(model, "model_int8.tflite", quantize="int8",
                                 representative_data={"images": train_images[:200]})

Layout (imports run one way, top to bottom):

- core, importing no model: `endpoint` (what to export), `registry`
  (`register_endpoint`), `parity` (NumPy only), `runtime` (SavedModel and
  LiteRT runners, the greedy app loop), `archive` (SavedModel writing),
  `tflite` (every converter call);
- one builder module per task (`text_classifier`, `causal_lm`, ...), which
  imports the core and `zoo.models`; `signatures` imports them all;
- `api`: the model-level functions below.

Names are loaded on first use, so `import zoo.export.parity` (or
`zoo.export.ExportParityError`) loads no exporter, tensorflow-text or LiteRT.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names below resolve to, for readers and type checkers
    from zoo.export.api import (
        export_run,
        export_saved_model,
        export_tflite,
        tflite_file_name,
        tflite_probabilities,
        tflite_variants,
    )
    from zoo.export.archive import check_saved_model, directory_size
    from zoo.export.parity import ExportParityError, ParityReport
    from zoo.export.registry import register_endpoint
    from zoo.export.runtime import load_saved_model, run_tflite, tflite_generate
    from zoo.export.tflite import QUANTIZATIONS

_SOURCES = {
    "ExportParityError": "zoo.export.parity",
    "ParityReport": "zoo.export.parity",
    "QUANTIZATIONS": "zoo.export.tflite",
    "check_saved_model": "zoo.export.archive",
    "directory_size": "zoo.export.archive",
    "export_run": "zoo.export.api",
    "export_saved_model": "zoo.export.api",
    "export_tflite": "zoo.export.api",
    "load_saved_model": "zoo.export.runtime",
    "register_endpoint": "zoo.export.registry",
    "run_tflite": "zoo.export.runtime",
    "tflite_file_name": "zoo.export.api",
    "tflite_generate": "zoo.export.runtime",
    "tflite_probabilities": "zoo.export.api",
    "tflite_variants": "zoo.export.api",
}

__all__ = sorted(_SOURCES)


def __getattr__(name):
    """Load a public name from its module on first use (PEP 562)."""
    if name not in _SOURCES:
        raise AttributeError(f"module 'zoo.export' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_SOURCES))
