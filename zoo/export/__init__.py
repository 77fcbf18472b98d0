"""Exports for serving: SavedModel (TF Serving, raw inputs) and TFLite, each parity-checked.

    from zoo.export import export_saved_model, export_tflite
    path, report = export_saved_model(model, "saved_models/vit/saved_model")
    path, report = export_tflite(model, "model_int8.tflite", quantize="int8",
                                 representative_data={"images": train_images[:200]})
"""

from zoo.export.bundle import TFLITE_FILES, export_run
from zoo.export.parity import ExportParityError, ParityReport
from zoo.export.saved_model import check_saved_model, directory_size, export_saved_model
from zoo.export.tflite import QUANTIZATIONS, export_tflite, run_tflite

__all__ = [
    "ExportParityError",
    "ParityReport",
    "QUANTIZATIONS",
    "TFLITE_FILES",
    "check_saved_model",
    "directory_size",
    "export_run",
    "export_saved_model",
    "export_tflite",
    "run_tflite",
]
