"""Task models: a backbone of `zoo.layers` plus a head, each with `from_preset`."""

from zoo.models.backbones import (
    Backbone,
    EncoderDecoderBackbone,
    TransformerDecoderBackbone,
    TransformerEncoderBackbone,
    ViTBackbone,
)
from zoo.models.baselines import CNNClassifier, CNNImageClassifier, LSTMClassifier
from zoo.models.causal_lm import CausalLM
from zoo.models.image_classifier import ImageClassifier
from zoo.models.lstm_lm import LSTMLanguageModel
from zoo.models.lstm_seq2seq import LSTMSeq2Seq
from zoo.models.presets import PRESETS, get_preset, preset_names
from zoo.models.question_answering import QuestionAnswerer
from zoo.models.seq2seq import Seq2SeqLM
from zoo.models.text_classifier import TextClassifier
from zoo.models.text_embedder import TextEmbedder

__all__ = [
    "CNNClassifier",
    "CNNImageClassifier",
    "CausalLM",
    "ImageClassifier",
    "LSTMClassifier",
    "LSTMLanguageModel",
    "LSTMSeq2Seq",
    "PRESETS",
    "QuestionAnswerer",
    "Seq2SeqLM",
    "TextClassifier",
    "TextEmbedder",
    "get_preset",
    "preset_names",
]
__all__ += [
    "Backbone",
    "EncoderDecoderBackbone",
    "TransformerDecoderBackbone",
    "TransformerEncoderBackbone",
    "ViTBackbone",
]
