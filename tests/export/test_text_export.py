"""String-in exports of a TextClassifier: SavedModel and TFLite (text and token-id variants)."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_saved_model, export_tflite, run_tflite, tflite_variants
from zoo.models import TextClassifier
from zoo.tokenizers import SPECIAL_TOKENS

VOCABULARY = list(SPECIAL_TOKENS) + "a the film is witty gorgeous dull plot mess , ! . ca ete".split()
EDGE_CASES = ["a gorgeous, witty film", "", "the film " * 10_000, "Ça été 😀", b"\xff\xfe dull \xc3"]


@pytest.fixture(scope="module")
def model():
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, class_names=["negative", "positive"])
    inputs = {k: v.numpy() for k, v in model.preprocessor(["witty film", "dull mess"] * 4).items()}
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(inputs, np.array([1, 0] * 4), epochs=3, verbose=0)
    return model


def keras_probabilities(model, texts):
    return tf.nn.softmax(model(model.preprocessor(texts))).numpy()


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    path, _ = export_saved_model(model, tmp_path_factory.mktemp("text") / "sentiment")
    return tf.saved_model.load(str(path))


@pytest.mark.parametrize("batch", [EDGE_CASES, EDGE_CASES[:1]])
def test_saved_model_takes_raw_strings(model, saved_model, batch):
    outputs = saved_model.signatures["serving_default"](text=tf.constant(batch))
    expected = keras_probabilities(model, batch)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    labels = [label.decode() for label in outputs["label"].numpy()]
    assert labels == [model.class_names[i] for i in expected.argmax(-1)]


def test_preprocess_signature_gives_the_keras_ids(model, saved_model):
    exported = saved_model.signatures["preprocess"](text=tf.constant(EDGE_CASES))
    expected = model.preprocessor(EDGE_CASES)
    for name in ("token_ids", "padding_mask"):
        np.testing.assert_array_equal(exported[name].numpy(), expected[name].numpy())
    # The 10,000-word text is truncated to sequence_length with [SEP] last.
    assert exported["token_ids"].numpy()[2, -1] == VOCABULARY.index("[SEP]")


def test_tflite_variants(model):
    assert tflite_variants(model) == ["text", "token_ids"]
    assert tflite_variants(TextClassifier.from_preset("tiny", vocabulary_size=20)) == ["token_ids"]


@pytest.mark.parametrize("quantize,atol", [(None, 1e-4), ("dynamic", 2e-2)])
def test_string_in_tflite_matches_keras(model, tmp_path, quantize, atol):
    path, report = export_tflite(model, tmp_path / "text.tflite", quantize=quantize, variant="text")
    content = path.read_bytes()
    for batch in (EDGE_CASES, EDGE_CASES[:1]):
        out = run_tflite(content, {"text": batch})["probabilities"]
        np.testing.assert_allclose(out, keras_probabilities(model, batch), atol=atol)


def test_token_id_tflite_matches_keras(model, tmp_path):
    path, _ = export_tflite(model, tmp_path / "ids.tflite", variant="token_ids")
    inputs = {k: v.numpy() for k, v in model.preprocessor(EDGE_CASES).items()}
    out = run_tflite(path.read_bytes(), inputs)["probabilities"]
    np.testing.assert_allclose(out, keras_probabilities(model, EDGE_CASES), atol=1e-4)


def test_string_variant_cannot_be_int8(model, tmp_path):
    with pytest.raises(ValueError, match="quantize='int8' needs numeric inputs"):
        export_tflite(model, tmp_path / "x.tflite", quantize="int8", variant="text", representative_data={})
    with pytest.raises(ValueError, match=r"unknown TFLite variant 'images'"):
        export_tflite(model, tmp_path / "x.tflite", variant="images")
