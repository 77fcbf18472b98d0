"""Backbones: functional stacks of `zoo.layers` from named inputs to final hidden states.

A task model puts a head on a backbone's output. Every structural option
a checkpoint family needs (norm type and placement, position encoding,
per-projection biases, grouped-query heads, activation, tied embeddings,
embedding scale) is a constructor argument; `from_preset("tiny")` builds
a small one for tests.
"""

from zoo.models.backbones.backbone import Backbone
from zoo.models.backbones.decoder_backbone import TransformerDecoderBackbone
from zoo.models.backbones.encoder_backbone import TransformerEncoderBackbone
from zoo.models.backbones.encoder_decoder_backbone import EncoderDecoderBackbone
from zoo.models.backbones.vit_backbone import ViTBackbone

__all__ = [
    "Backbone",
    "EncoderDecoderBackbone",
    "TransformerDecoderBackbone",
    "TransformerEncoderBackbone",
    "ViTBackbone",
]
