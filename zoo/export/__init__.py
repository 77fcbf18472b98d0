"""Exports for serving: SavedModel (TF Serving, raw inputs) and TFLite, each parity-checked.

    from zoo.export import export_saved_model, export_tflite
    path, report = export_saved_model(model, "saved_models/vit/saved_model")
    path, report = export_tflite(model, "model_int8.tflite", quantize="int8",
                                 representative_data={"images": train_images[:200]})
"""

from zoo.export.bundle import export_run, tflite_file_name, tflite_probabilities
from zoo.export.parity import ExportParityError, ParityReport
from zoo.export.saved_model import check_saved_model, directory_size, export_saved_model
from zoo.export.tflite import QUANTIZATIONS, export_tflite, run_tflite, tflite_variants

__all__ = [
    "ExportParityError",
    "ParityReport",
    "QUANTIZATIONS",
    "check_saved_model",
    "directory_size",
    "export_run",
    "export_saved_model",
    "export_tflite",
    "run_tflite",
    "tflite_file_name",
    "tflite_probabilities",
    "tflite_variants",
]
