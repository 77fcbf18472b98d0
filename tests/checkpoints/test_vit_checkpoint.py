"""ImageClassifier.from_checkpoint on a tiny Hugging Face ViTForImageClassification, against transformers.

The checkpoint and its references (`reference/vit/tiny/`) were written by
transformers on PyTorch: `reference.npz` by `tools/make_vit_reference.py`
(4 uint8 images at the model's 32x32, ImageNet mean/std) and `resized.npz`
by `tools/make_vit_resize_reference.py` (images of other sizes, resized by
transformers' ViTImageProcessor: PIL bilinear, antialiased when shrinking).
"""

import json
import pathlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_run
from zoo.models import ImageClassifier

DIRECTORY = pathlib.Path(__file__).parent / "reference" / "vit" / "tiny"
REFERENCE = dict(np.load(DIRECTORY / "reference.npz"))
RESIZED = dict(np.load(DIRECTORY / "resized.npz"))
RESIZED_SIZES = sorted(key.removeprefix("images_") for key in RESIZED if key.startswith("images_"))


@pytest.fixture(scope="module")
def model():
    return ImageClassifier.from_checkpoint(DIRECTORY)


def test_logits_match_transformers_for_uint8_images(model):
    images = REFERENCE["images"]
    assert images.dtype == np.uint8 and images.shape == (4, 32, 32, 3)
    logits = model.predict(images, verbose=0)
    np.testing.assert_allclose(logits, REFERENCE["logits"], atol=1e-4, rtol=0)
    assert np.abs(REFERENCE["logits"]).max() > 0.1  # the reference is not all near zero


def test_labels_come_from_id2label(model):
    id2label = json.loads((DIRECTORY / "config.json").read_text())["id2label"]
    assert (
        model.class_names == [id2label[str(index)] for index in range(len(id2label))] == ["cat", "dog", "bird", "fish"]
    )
    result = model.classify(REFERENCE["images"])
    assert result["labels"] == [model.class_names[i] for i in REFERENCE["logits"].argmax(-1)]


def test_the_processor_config_becomes_in_graph_preprocessing(model):
    processor = json.loads((DIRECTORY / "preprocessor_config.json").read_text())
    backbone = model.backbone
    assert backbone.resize_images and backbone.pixel_scale == processor["rescale_factor"]
    assert list(backbone.pixel_mean) == processor["image_mean"] and list(backbone.pixel_std) == processor["image_std"]
    assert model.count_params() == sum(
        int(np.prod(shape)) for shape in _checkpoint_shapes().values()
    )  # every checkpoint tensor, no extra weights (the preprocessing holds none)


@pytest.mark.parametrize("size", RESIZED_SIZES)
def test_other_sizes_are_resized_in_the_graph_like_transformers(model, size):
    """Antialiased bilinear, as PIL: a plain bilinear shrink of random pixels is off by tens of levels."""
    images = RESIZED[f"images_{size}"]
    logits = model.predict(images, verbose=0)
    # The processor rounds its resized pixels to uint8 (PIL), zoo keeps floats: within 1 of 255 per pixel.
    np.testing.assert_allclose(logits, RESIZED[f"logits_{size}"], atol=3e-3, rtol=0)


def test_keras_round_trip_gives_the_same_logits(model, tmp_path):
    path = tmp_path / "vit.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ImageClassifier) and loaded.class_names == model.class_names
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(REFERENCE["images"], verbose=0), REFERENCE["logits"], atol=1e-4)
    images = RESIZED["images_48x48"]
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_export_run_saved_model_takes_uint8_and_matches(model, tmp_path):
    summary = export_run(
        model,
        tmp_path / "vit",
        sample_inputs={"images": REFERENCE["images"]},
        quantizations=(None,),
        log=lambda _: None,
    )
    serve = tf.saved_model.load(str(tmp_path / "vit" / "saved_model" / "1")).signatures["serving_default"]
    assert serve.structured_input_signature[1]["images"].dtype == tf.uint8
    outputs = serve(images=tf.constant(REFERENCE["images"]))
    expected = tf.nn.softmax(REFERENCE["logits"]).numpy()
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    labels = [label.decode() for label in outputs["label"].numpy()]
    assert labels == [model.class_names[i] for i in expected.argmax(-1)]
    for size in RESIZED_SIZES:  # another size: the SavedModel resizes as the Keras model does
        resized = serve(images=tf.constant(RESIZED[f"images_{size}"]))["probabilities"].numpy()
        np.testing.assert_allclose(resized, tf.nn.softmax(RESIZED[f"logits_{size}"]).numpy(), atol=3e-3)
    assert set(summary["tflite"]) and all(entry["path"] for entry in summary["tflite"].values())


def test_a_new_head_keeps_the_loaded_backbone(model):
    fresh = ImageClassifier.from_checkpoint(DIRECTORY, num_classes=3, class_names=["a", "b", "c"])
    assert fresh.class_names == ["a", "b", "c"] and fresh.num_classes == 3
    images = REFERENCE["images"]
    hidden = [keras.Model(m.inputs, m.get_layer("final_norm").output)(images) for m in (model, fresh)]
    np.testing.assert_allclose(np.asarray(hidden[0]), np.asarray(hidden[1]), atol=1e-6)
    assert fresh.predict(images, verbose=0).shape == (4, 3)


# === Bad input ===


def _checkpoint_shapes():
    from safetensors.numpy import load_file

    return {name: value.shape for name, value in load_file(str(DIRECTORY / "model.safetensors")).items()}


def copy_checkpoint(tmp_path):
    return pathlib.Path(shutil.copytree(DIRECTORY, tmp_path / "tiny"))


def edit_json(path, **changes):
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps({key: value for key, value in config.items() if value is not ...}))


def rewrite_tensors(directory, edit):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(directory / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


def one_line_error(error_type, match, function):
    with pytest.raises(error_type, match=match) as caught:
        function()
    assert "\n" not in str(caught.value)


def test_missing_directory_files_and_weights_are_named(tmp_path):
    one_line_error(FileNotFoundError, "does not exist", lambda: ImageClassifier.from_checkpoint(tmp_path / "nowhere"))
    for name, match in (
        ("config.json", r"config.json' does not exist"),
        ("preprocessor_config.json", r"preprocessor_config.json' does not exist"),
        ("model.safetensors", r"has no model.safetensors or model.safetensors.index.json"),
    ):
        directory = copy_checkpoint(tmp_path / name)
        (directory / name).unlink()
        one_line_error(FileNotFoundError, match, lambda directory=directory: ImageClassifier.from_checkpoint(directory))


@pytest.mark.parametrize(
    "file,changes,match",
    [
        ("config.json", {"model_type": "deit"}, r"unsupported model_type='deit'; .* reads vit"),
        ("config.json", {"hidden_act": "quick_gelu"}, r"unsupported hidden_act='quick_gelu'"),
        ("config.json", {"patch_size": 5}, r"patch_size=\[5, 5\] does not divide image_size=\[32, 32\]"),
        ("config.json", {"hidden_size": ...}, r"needs a positive integer 'hidden_size'"),
        ("preprocessor_config.json", {"resample": 3}, r"unsupported resample=3"),
        ("preprocessor_config.json", {"size": {"shortest_edge": 32}}, r"unsupported size=\{'shortest_edge': 32\}"),
        ("preprocessor_config.json", {"size": {"height": 64, "width": 64}}, r"position table is for image_size"),
        ("preprocessor_config.json", {"do_center_crop": True}, r"unsupported do_center_crop=True"),
        ("preprocessor_config.json", {"image_mean": [0.5, 0.5]}, r"unsupported image_mean=\[0.5, 0.5\]"),
    ],
)
def test_unsupported_options_name_the_key(tmp_path, file, changes, match):
    directory = copy_checkpoint(tmp_path)
    edit_json(directory / file, **changes)
    one_line_error(ValueError, match, lambda: ImageClassifier.from_checkpoint(directory))


def test_qkv_bias_false_loads_without_the_qkv_biases(tmp_path):
    directory = copy_checkpoint(tmp_path)
    edit_json(directory / "config.json", qkv_bias=False)

    def drop_qkv_biases(tensors):
        for name in [name for name in tensors if name.endswith(("query.bias", "key.bias", "value.bias"))]:
            del tensors[name]

    model = ImageClassifier.from_checkpoint(rewrite_tensors(directory, drop_qkv_biases))
    assert model.backbone.use_attention_bias is False
    assert "encoder_0/self_attention/attention_output/bias" in {w.path for w in model.weights}
    assert "encoder_0/self_attention/query/bias" not in {w.path for w in model.weights}


def test_misshapen_missing_and_unknown_tensors_are_named(tmp_path):
    name = "vit.encoder.layer.1.intermediate.dense.weight"

    def misshapen(tensors):
        tensors[name] = tensors[name][:-1]

    directory = rewrite_tensors(copy_checkpoint(tmp_path / "misshapen"), misshapen)
    one_line_error(
        ValueError,
        r"tensor 'encoder.layer.1.intermediate.dense.weight' has shape \(63, 32\); config.json implies \(64, 32\)",
        lambda: ImageClassifier.from_checkpoint(directory),
    )
    directory = rewrite_tensors(copy_checkpoint(tmp_path / "missing"), lambda tensors: tensors.pop(name))
    one_line_error(
        ValueError, r"lacks 1 tensors .*intermediate.dense.weight", lambda: ImageClassifier.from_checkpoint(directory)
    )

    def extra(tensors):
        tensors["vit.encoder.layer.0.extra.weight"] = np.zeros(3, np.float32)

    directory = rewrite_tensors(copy_checkpoint(tmp_path / "unknown"), extra)
    one_line_error(
        ValueError,
        r"does not have: \['encoder.layer.0.extra.weight'\]",
        lambda: ImageClassifier.from_checkpoint(directory),
    )


def test_a_vit_model_checkpoint_needs_num_classes_and_its_pooler_is_unused(tmp_path):
    def base_model(tensors):
        for name in [name for name in tensors if name.startswith("classifier.")]:
            del tensors[name]
        tensors["vit.pooler.dense.weight"] = np.zeros((32, 32), np.float32)
        tensors["vit.pooler.dense.bias"] = np.zeros(32, np.float32)

    directory = rewrite_tensors(copy_checkpoint(tmp_path), base_model)
    one_line_error(
        ValueError, r"no classifier tensors; pass num_classes=", lambda: ImageClassifier.from_checkpoint(directory)
    )
    assert ImageClassifier.from_checkpoint(directory, num_classes=2).class_names == ["0", "1"]


def test_id2label_must_name_the_heads_classes(tmp_path):
    directory = copy_checkpoint(tmp_path)
    edit_json(directory / "config.json", id2label={"0": "cat", "1": "dog"})
    one_line_error(
        ValueError, r"id2label has ids \[0, 1\].*4 classes", lambda: ImageClassifier.from_checkpoint(directory)
    )


def test_wrong_images_at_predict_are_one_line_errors(model):
    one_line_error(
        ValueError, r"shape \(batch, height, width, 3\)", lambda: model.predict(np.zeros((2, 32, 32, 1), np.uint8))
    )
    one_line_error(
        ValueError, r"shape \(batch, height, width, 3\)", lambda: model.predict(np.zeros((32, 32, 3), np.uint8))
    )
