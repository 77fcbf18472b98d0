"""What a saved-model fixture case asks of a model, and how outputs are compared.

Shared by `tools/make_saved_fixtures.py` (which writes the expected outputs)
and `test_saved_fixtures.py` (which checks that the files still give them).
"""

import json

import keras
import numpy as np


def outputs_of(model, case):
    """Everything `case` asks of `model`, as JSON-able lists."""
    out = {}
    for key, value in case.get("ids", {}).items():
        value = {k: as_array(v) for k, v in value.items()} if isinstance(value, dict) else as_array(value)
        out[f"ids.{key}"] = np.asarray(keras.ops.convert_to_numpy(model(value, training=False))).tolist()
    if "classify" in case:
        result = model.classify(case["classify"]["texts"])
        out["classify.labels"] = list(result["labels"])
        out["classify.probabilities"] = np.asarray(result["probabilities"]).tolist()
    if "classify_images" in case:
        result = model.classify(np.asarray(case["classify_images"]["images"], "uint8"))
        out["classify.labels"] = list(result["labels"])
        out["classify.probabilities"] = np.asarray(result["probabilities"]).tolist()
    if "embed" in case:
        out["embed"] = np.asarray(model.embed(case["embed"]["texts"])).tolist()
    if "answer" in case:
        answers = model.answer(case["answer"]["questions"], case["answer"]["contexts"])
        out["answer"] = json.loads(json.dumps(answers, default=plain))
    for index, settings in enumerate(case.get("generate", [])):
        settings = dict(settings)
        inputs = settings.pop("inputs")
        generated = model.generate(inputs, **settings)
        out[f"generate.{index}"] = generated if isinstance(generated, list) else np.asarray(generated).tolist()
    return out


def as_array(value):
    """A JSON list back as the array it was: int32 ids, float32 values."""
    value = np.asarray(value)
    return value.astype("int32") if np.issubdtype(value.dtype, np.integer) else value.astype("float32")


def plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value))


def assert_same_outputs(actual, expected, atol, where=""):
    """Strings and structure equal, numbers within `atol`, recursively."""
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_same_outputs(actual[key], expected[key], atol, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: length differs"
        if expected and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in expected):
            np.testing.assert_allclose(actual, expected, atol=atol, err_msg=where)
        else:
            for index, (a, e) in enumerate(zip(actual, expected)):
                assert_same_outputs(a, e, atol, f"{where}[{index}]")
    elif isinstance(expected, str):
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    else:
        np.testing.assert_allclose(actual, expected, atol=atol, err_msg=where)
