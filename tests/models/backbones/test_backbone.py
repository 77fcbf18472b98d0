"""What every backbone shares: presets, configs read from the constructor, today's weight paths."""

import pytest

from zoo.models import (
    PRESETS,
    CausalLM,
    EncoderDecoderBackbone,
    ImageClassifier,
    Seq2SeqLM,
    TextEmbedder,
    TransformerDecoderBackbone,
    TransformerEncoderBackbone,
    ViTBackbone,
)
from zoo.models.backbones.backbone import constructor_arguments

BACKBONES = {
    "encoder_backbone": TransformerEncoderBackbone,
    "decoder_backbone": TransformerDecoderBackbone,
    "encoder_decoder_backbone": EncoderDecoderBackbone,
    "vit_backbone": ViTBackbone,
}


def weight_shapes(model):
    return {variable.path: tuple(variable.shape) for variable in model.weights}


@pytest.mark.parametrize("family", sorted(BACKBONES))
def test_config_holds_every_constructor_argument_and_rebuilds_the_preset(family):
    backbone_class = BACKBONES[family]
    assert backbone_class.preset_family == family and "tiny" in PRESETS[family]
    model = backbone_class.from_preset("tiny", name="custom")
    config = model.get_config()
    assert set(config) == set(constructor_arguments(backbone_class)) | {"name", "trainable"}
    for key, value in PRESETS[family]["tiny"].items():
        if key in ("image_size", "patch_size") and isinstance(value, int):
            value = [value, value]  # stored as (height, width)
        assert config[key] == value, key
    rebuilt = backbone_class.from_config(config)
    assert rebuilt.name == "custom" and weight_shapes(rebuilt) == weight_shapes(model)


def test_configs_without_the_newer_options_take_the_defaults():
    config = TransformerDecoderBackbone.from_preset("tiny").get_config()
    for key in ("rope_theta", "use_attention_output_bias", "embedding_scale", "position_offset"):
        config.pop(key)
    rebuilt = TransformerDecoderBackbone.from_config(config)
    assert (rebuilt.rope_theta, rebuilt.use_attention_output_bias) == (10000.0, None)


def test_unknown_overrides_and_presets_are_errors():
    message = r"unknown EncoderDecoderBackbone arguments \['num_layers'\]"
    with pytest.raises(ValueError, match=message):
        EncoderDecoderBackbone.from_preset("tiny", num_layers=2)
    with pytest.raises(ValueError, match="unknown preset 'base' for encoder_backbone"):
        TransformerEncoderBackbone.from_preset("base")


# The backbones name their layers as today's task models do, so rewiring a task onto its
# backbone keeps the weight paths (and old `.keras` files) of everything but the head.


def test_encoder_backbone_has_the_text_embedders_weights():
    embedder = TextEmbedder.from_preset("tiny", vocabulary_size=1000)
    backbone = TransformerEncoderBackbone.from_preset("tiny", num_layers=1, num_segments=0, layer_norm_epsilon=1e-5)
    assert weight_shapes(backbone) == weight_shapes(embedder)


def test_decoder_backbone_has_the_causal_lms_weights_but_its_head():
    causal_lm = CausalLM.from_preset("tiny", vocabulary_size=1000)
    backbone = TransformerDecoderBackbone.from_preset("tiny", num_layers=1, activation="gelu")
    model_weights = weight_shapes(causal_lm)
    head = sorted(set(model_weights) - set(weight_shapes(backbone)))
    assert head == ["lm_head/bias", "lm_head/kernel"]
    assert weight_shapes(backbone).items() <= model_weights.items()


def test_encoder_decoder_backbone_has_the_seq2seq_lms_weights_but_its_head():
    seq2seq = Seq2SeqLM.from_preset("tiny", source_vocabulary_size=1000, target_vocabulary_size=1000)
    backbone = EncoderDecoderBackbone.from_preset("tiny")
    model_weights = weight_shapes(seq2seq)
    head = sorted(set(model_weights) - set(weight_shapes(backbone)))
    assert head == ["lm_head/bias", "lm_head/kernel"]
    assert weight_shapes(backbone).items() <= model_weights.items()


def test_vit_backbone_has_the_image_classifiers_weights_but_its_head():
    classifier = ImageClassifier.from_preset("tiny")
    backbone = ViTBackbone.from_preset("tiny", num_layers=1)
    model_weights = weight_shapes(classifier)
    head = sorted(set(model_weights) - set(weight_shapes(backbone)))
    assert head == ["logits/bias", "logits/kernel"]
    assert weight_shapes(backbone).items() <= model_weights.items()
