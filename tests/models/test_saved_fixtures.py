"""`.keras` files written by earlier zoo code still load and give the same outputs and generations.

The files under `fixtures/saved/` were written by commit 86fb390 (before the
backbone/task refactor of issue 20) with `tools/make_saved_fixtures.py`: one
tiny model per task model, every weight perturbed, with the outputs that
code gave. A refactor that renames a weight, drops a config key or changes
a computation fails here. Never regenerate them to make this test pass:
they stand for files users already have.
"""

import json
import pathlib
import zipfile

import keras
import pytest

import zoo  # noqa: F401  (registers the zoo classes)
from saved_fixture_outputs import assert_same_outputs, outputs_of

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "saved"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())

# Each task model class of zoo.models has at least one fixture.
# Replaced by low_rank (the models map them when loading; tests/models/test_task.py checks that).
OLD_RANK_ARGUMENTS = ("projection_rank", "ffn_rank", "layer_ranks", "embedding_rank")

TASK_CLASSES = {
    "TextClassifier",
    "TextEmbedder",
    "QuestionAnswerer",
    "ImageClassifier",
    "Seq2SeqLM",
    "CausalLM",
    "LSTMClassifier",
    "CNNClassifier",
    "CNNImageClassifier",
    "LSTMSeq2Seq",
    "LSTMLanguageModel",
}


def test_every_task_model_class_has_a_fixture():
    assert {entry["class"] for entry in MANIFEST.values()} == TASK_CLASSES


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_saved_file_loads_and_reproduces_its_outputs(name):
    entry = MANIFEST[name]
    keras.utils.set_random_seed(0)
    model = keras.saving.load_model(FIXTURES / f"{name}.keras")
    assert type(model).__name__ == entry["class"]
    assert_same_outputs(outputs_of(model, entry["case"]), entry["expected"], atol=1e-5, where=name)


def _old_config(name):
    with zipfile.ZipFile(FIXTURES / f"{name}.keras") as archive:
        return json.loads(archive.read("config.json"))["config"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_old_config_value_is_still_an_attribute_of_the_loaded_model(name):
    """Code that read `model.hidden_dim`, `model.position`, ... of an old model still reads the same value."""
    model = keras.saving.load_model(FIXTURES / f"{name}.keras")
    for key, value in _old_config(name).items():
        if key in ("name", "trainable") or key.endswith("preprocessor") or key in OLD_RANK_ARGUMENTS:
            continue
        current = getattr(model, model.config_attributes.get(key, key))  # LSTMSeq2Seq: attention_type
        if isinstance(current, tuple):
            current = list(current)
        assert current == value, (name, key, current, value)
