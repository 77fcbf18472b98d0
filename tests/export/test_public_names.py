"""`zoo.export`'s names load lazily, and the import paths recipes and users know keep working."""

import importlib

import pytest

import zoo.export

# (module, name) pairs that recipes, tests, benchmarks or the README import.
KNOWN_PATHS = [
    ("zoo.export.tflite", "run_signature"),
    ("zoo.export.tflite", "tflite_interpreter"),
    ("zoo.export.tflite", "run_tflite"),
    ("zoo.export.tflite", "QUANTIZATIONS"),
    ("zoo.export.signatures", "saved_model_endpoint"),
    ("zoo.export.signatures", "tflite_endpoints"),
    ("zoo.export.parity", "select_inputs"),
    ("zoo.export.parity", "check_parity"),
    ("zoo.export.endpoint", "Endpoint"),
    ("zoo.export.causal_lm", "tflite_generate"),
    ("zoo.export.causal_lm", "tflite_endpoints"),
    ("zoo.export.seq2seq", "tflite_generate"),
    ("zoo.export.seq2seq", "tflite_endpoints"),
    ("zoo.export.lstm_seq2seq", "tflite_generate"),
    ("zoo.export.lstm_seq2seq", "tflite_endpoints"),
    ("zoo.export.question_answerer", "tflite_answer"),
    ("zoo.export.question_answerer", "SAMPLE_PAIRS"),
]


def test_every_public_name_resolves_to_its_module():
    assert {"export_saved_model", "export_tflite", "export_run", "ExportParityError"} <= set(zoo.export.__all__)
    for name in zoo.export.__all__:
        value = getattr(zoo.export, name)
        assert value is getattr(importlib.import_module(zoo.export._SOURCES[name]), name)
        assert name in dir(zoo.export)
    assert zoo.export.tflite_generate is importlib.import_module("zoo.export.runtime").tflite_generate


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no attribute 'export_onnx'"):
        zoo.export.export_onnx  # noqa: B018
    with pytest.raises(ImportError):
        from zoo.export import export_onnx  # noqa: F401


@pytest.mark.parametrize(("module", "name"), KNOWN_PATHS)
def test_known_import_paths_keep_working(module, name):
    assert hasattr(importlib.import_module(module), name)


def test_the_error_is_a_user_error():
    from zoo.errors import ZooUserError

    assert issubclass(zoo.export.ExportParityError, ZooUserError)
    assert issubclass(zoo.export.ExportParityError, RuntimeError)
