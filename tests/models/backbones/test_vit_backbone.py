"""ViTBackbone: NumPy reference per option, round trips, errors."""

import numpy as np
import pytest
from backbone_checks import assert_round_trips

import backbone_reference as reference
from helpers import to_numpy
from zoo.models import ViTBackbone

CONFIGURATIONS = {
    "vit": {},
    "no_class_token_post_ln_relu": dict(
        use_class_token=False, normalize_first=False, use_final_norm=False, activation="relu"
    ),
    "rms_swiglu_no_bias_rgb_rectangular": dict(
        image_size=(8, 12),
        num_channels=3,
        norm_type="rms_norm",
        activation="swiglu",
        use_attention_bias=False,
        use_mlp_bias=False,
        num_heads=4,
        num_key_value_heads=2,
    ),
}


def build(name, seed=0):
    model = ViTBackbone.from_preset("tiny", **CONFIGURATIONS[name])
    reference.randomize(model, seed)
    return model


def images_for(model, batch_size=2, seed=0):
    shape = (batch_size, *model.image_size, model.num_channels)
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_matches_numpy_reference(name):
    model = build(name)
    images = images_for(model)
    actual = to_numpy(model({"images": images}))
    patches = (model.image_size[0] // 4) * (model.image_size[1] // 4)
    assert actual.shape == (2, patches + model.use_class_token, model.hidden_dim)
    expected = reference.vit_backbone(model, images.astype("float64"))
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_images_are_independent_within_a_batch():
    model = build("vit")
    images = images_for(model)
    changed = images.copy()
    changed[1] = 1.0 - changed[1]
    before, after = to_numpy(model({"images": images})), to_numpy(model({"images": changed}))
    np.testing.assert_allclose(after[0], before[0], atol=1e-6)
    assert np.abs(after[1] - before[1]).max() > 1e-3


def test_config_and_keras_file_round_trip(tmp_path):
    model = build("rms_swiglu_no_bias_rgb_rectangular")
    loaded = assert_round_trips(model, {"images": images_for(model)}, tmp_path)
    assert loaded.image_size == (8, 12)


def test_has_no_token_table_and_errors_name_the_value():
    model = ViTBackbone.from_preset("tiny")
    with pytest.raises(AttributeError, match="no token table"):
        _ = model.token_embedding
    with pytest.raises(ValueError, match="patch_size must divide image_size"):
        ViTBackbone.from_preset("tiny", patch_size=3)
    with pytest.raises(ValueError, match="Received: image_size=0"):
        ViTBackbone.from_preset("tiny", image_size=0)
    with pytest.raises(ValueError, match=r"unknown preset 'huge' for vit_backbone"):
        ViTBackbone.from_preset("huge")
