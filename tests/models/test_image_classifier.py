import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.models import ImageClassifier

IMAGES = np.random.default_rng(0).integers(0, 256, size=(5, 8, 8, 1), dtype=np.uint8)


@pytest.fixture(scope="module")
def model():
    return ImageClassifier.from_preset("tiny", class_names=list("abcdefghij"))


def test_forward_shapes_and_classify(model):
    assert model(IMAGES).shape == (5, 10)
    result = model.classify(IMAGES)
    assert result["probabilities"].shape == (5, 10)
    np.testing.assert_allclose(result["probabilities"].sum(-1), 1.0, atol=1e-5)
    assert result["labels"] == [model.class_names[i] for i in result["class_ids"]]
    assert set(result["labels"]) <= set("abcdefghij")


def test_pixels_are_rescaled_inside_the_model(model):
    # uint8 0..255 and float 0..255 give the same logits: the model divides by 255 itself.
    np.testing.assert_allclose(to_numpy(model(IMAGES)), to_numpy(model(IMAGES.astype("float32"))), atol=1e-6)


def test_keras_round_trip(model, tmp_path):
    path = tmp_path / "vit.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ImageClassifier)
    assert loaded.class_names == model.class_names
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(IMAGES, verbose=0), model.predict(IMAGES, verbose=0), atol=1e-6)


@pytest.mark.parametrize("pooling", ["class_token", "mean"])
def test_pooling_reads_the_class_token_or_the_mean_of_the_final_hidden_states(pooling):
    model = ImageClassifier.from_preset("tiny", pooling=pooling)
    hidden = to_numpy(keras.Model(model.inputs, model.get_layer("final_norm").output)(IMAGES))  # (B, T, D)
    pooled = hidden[:, 0] if pooling == "class_token" else hidden.mean(1)  # [CLS], or every patch
    head = model.get_layer("logits")
    expected = pooled @ to_numpy(head.kernel) + to_numpy(head.bias)
    np.testing.assert_allclose(to_numpy(model(IMAGES)), expected, atol=1e-5)
    assert hidden.shape[1] == (1 if pooling == "class_token" else 0) + (8 // 4) ** 2


def test_mean_pooling_variant_has_no_class_token():
    model = ImageClassifier.from_preset("tiny", pooling="mean")
    assert model(IMAGES).shape == (5, 10)
    assert model.count_params() == ImageClassifier.from_preset("tiny").count_params() - 16 - 16


@pytest.mark.parametrize(
    "images,message",
    [
        (
            np.zeros((2, 9, 9, 1), "uint8"),
            r"expected images of shape \(batch, 8, 8, 1\); received shape \(2, 9, 9, 1\)",
        ),
        (np.zeros((8, 8, 1), "uint8"), r"received shape \(8, 8, 1\)"),
        (np.zeros((2, 8, 8, 3), "uint8"), r"received shape \(2, 8, 8, 3\)"),
        (np.full((2, 8, 8, 1), "x"), "expected uint8 or float pixel values"),
    ],
)
def test_bad_images_get_clear_errors(model, images, message):
    with pytest.raises(ValueError, match=message):
        model.predict(images)
    with pytest.raises(ValueError, match=message):
        model.classify(images)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="class_names has 2 names; expected num_classes=10"):
        ImageClassifier.from_preset("tiny", class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"unknown ImageClassifier arguments \['hidden_size'\]"):
        ImageClassifier.from_preset("tiny", hidden_size=8)
    with pytest.raises(ValueError, match="patch_size must divide image_size"):
        ImageClassifier.from_preset("tiny", patch_size=3)
    with pytest.raises(ValueError, match="pooling must be"):
        ImageClassifier.from_preset("tiny", pooling="max")


def test_one_training_step_reduces_loss():
    model = ImageClassifier.from_preset("tiny")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    labels = np.arange(5) % 10
    before = model.evaluate(IMAGES, labels, verbose=0)
    model.fit(IMAGES, labels, epochs=5, verbose=0)
    assert model.evaluate(IMAGES, labels, verbose=0) < before
