"""SavedModel and TFLite exports reload and match Keras; failures never leave bad files."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from zoo.export import ExportParityError, export_saved_model, export_tflite, run_tflite
from zoo.models import ImageClassifier

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(7, 8, 8, 1), dtype=np.uint8)


@pytest.fixture(scope="module")
def model():
    model = ImageClassifier.from_preset("tiny", class_names=list("abcdefghij"))
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(IMAGES, np.arange(7), epochs=3, verbose=0)  # not at initialization
    return model


def keras_probabilities(model, images):
    return tf.nn.softmax(model(images.astype("float32"))).numpy()


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    path, report = export_saved_model(model, tmp_path_factory.mktemp("export") / "vit")
    return path, report


def test_saved_model_layout_and_parity_report(saved_model):
    path, report = saved_model
    assert path.name == "1" and (path / "saved_model.pb").is_file()  # TF Serving: base/<version>/
    assert report.batch_sizes == [4, 1]
    assert report.max_abs_diff["probabilities"] <= 1e-5


@pytest.mark.parametrize("batch_size", [1, 7])
def test_saved_model_serves_uint8_batches_of_any_size(model, saved_model, batch_size):
    serve = tf.saved_model.load(str(saved_model[0])).signatures["serving_default"]
    outputs = serve(images=tf.constant(IMAGES[:batch_size]))
    expected = keras_probabilities(model, IMAGES[:batch_size])
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    labels = [label.decode() for label in outputs["label"].numpy()]
    assert labels == [model.class_names[i] for i in expected.argmax(-1)]


@pytest.mark.parametrize("size", [(16, 16), (5, 11)])
def test_saved_model_resizes_other_image_sizes(model, saved_model, size):
    """Another height/width is resized (antialiased) to the model's 8x8 in the graph, as Keras
    would see the resized images; the model's own size is passed through unchanged."""
    serve = tf.saved_model.load(str(saved_model[0])).signatures["serving_default"]
    images = RNG.integers(0, 256, size=(3, *size, 1), dtype=np.uint8)
    outputs = serve(images=tf.constant(images))
    resized = tf.image.resize(images.astype("float32"), (8, 8), antialias=True).numpy()
    expected = keras_probabilities(model, resized)
    assert outputs["probabilities"].shape == (3, 10)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(outputs["class_id"].numpy(), expected.argmax(-1))


def test_saved_model_cli_shows_string_outputs(saved_model):
    saved_model_cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    shown = subprocess.run(
        [
            *saved_model_cli,
            "show",
            "--dir",
            str(saved_model[0]),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "images" in shown and "DT_UINT8" in shown and "DT_STRING" in shown


def test_float_tflite_matches_keras_for_two_batch_sizes(model, tmp_path):
    path, report = export_tflite(model, tmp_path / "model.tflite")
    content = path.read_bytes()
    for batch in (IMAGES[:1], IMAGES):
        out = run_tflite(content, {"images": batch.astype("float32")})["probabilities"]
        np.testing.assert_allclose(out, keras_probabilities(model, batch), atol=1e-4)
    assert report.top1_agreement == 1.0


def test_int8_tflite_takes_uint8_and_stays_close(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    # Trained until it is sure of each image, so that top-1 agreement means something: the
    # module's 3-epoch model has near-ties that int8 round-off flips either way.
    model = ImageClassifier.from_preset("tiny", class_names=list("abcdefghij"))
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(IMAGES, np.arange(7), epochs=40, verbose=0)
    np.testing.assert_array_equal(keras_probabilities(model, IMAGES).argmax(-1), np.arange(7))
    calibration = RNG.integers(0, 256, size=(64, 8, 8, 1), dtype=np.uint8)
    path, report = export_tflite(
        model, tmp_path / "int8.tflite", quantize="int8", representative_data={"images": calibration}
    )
    details = Interpreter(model_path=str(path)).get_input_details()[0]
    assert details["dtype"] == np.uint8
    out = run_tflite(path.read_bytes(), {"images": IMAGES.astype("float32")})["probabilities"]
    expected = keras_probabilities(model, IMAGES)
    assert np.abs(out - expected).max() < 0.1
    np.testing.assert_array_equal(out.argmax(-1), expected.argmax(-1))  # the same top-1 class
    assert report.max_abs_diff["probabilities"] < 0.1 and report.top1_agreement == 1.0


@pytest.mark.parametrize("quantize", ["dynamic", "float16"])
def test_weight_quantized_variants(model, tmp_path, quantize):
    path, report = export_tflite(model, tmp_path / f"{quantize}.tflite", quantize=quantize)
    assert path.stat().st_size > 0
    assert report.max_abs_diff["probabilities"] < 2e-2


def test_parity_failure_raises_and_writes_nothing(model, tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"previous good export")
    with pytest.raises(ExportParityError, match=r"output 'probabilities' differs from Keras by .* tolerance is 0"):
        export_tflite(model, target, quantize="float16", tolerance=0.0)
    assert target.read_bytes() == b"previous good export"


def test_export_argument_errors(model, tmp_path):
    with pytest.raises(ValueError, match="quantize must be one of"):
        export_tflite(model, tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match="must end with .tflite"):
        export_tflite(model, tmp_path / "m.bin")
    with pytest.raises(ValueError, match="needs representative_data"):
        export_tflite(model, tmp_path / "m.tflite", quantize="int8")
    with pytest.raises(TypeError, match="no SavedModel export for Sequential"):
        export_saved_model(tf.keras.Sequential(), tmp_path / "x")
