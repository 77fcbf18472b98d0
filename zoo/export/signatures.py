"""Which export endpoints each task model has (TensorFlow-only code stays out of zoo.models).

A new task model adds a module here with `saved_model_endpoint(model)` and
`tflite_endpoints(model)` (variant name -> `Endpoint`, the first being the
default) and one line in `_BUILDERS`.
"""

from zoo.export import causal_lm, image_classifier, question_answerer, seq2seq, text_classifier, text_embedder
from zoo.export import lstm_seq2seq
from zoo.export.endpoint import Endpoint
from zoo.models import CausalLM, ImageClassifier, QuestionAnswerer, Seq2SeqLM, TextClassifier, TextEmbedder
from zoo.models import LSTMSeq2Seq
from zoo.models import CNNClassifier, CNNImageClassifier, LSTMClassifier

_BUILDERS = {
    ImageClassifier: image_classifier,
    TextClassifier: text_classifier,
    TextEmbedder: text_embedder,
    Seq2SeqLM: seq2seq,
    CausalLM: causal_lm,
    QuestionAnswerer: question_answerer,
    LSTMSeq2Seq: lstm_seq2seq,  # the recurrent counterpart of Seq2SeqLM
    # Baselines share the endpoints of their Transformer counterparts.
    LSTMClassifier: text_classifier,
    CNNClassifier: text_classifier,
    CNNImageClassifier: image_classifier,
}


def _module(model, what):
    for model_class, module in _BUILDERS.items():
        if isinstance(model, model_class):
            return module
    supported = ", ".join(cls.__name__ for cls in _BUILDERS)
    raise TypeError(f"no {what} export for {type(model).__name__}; supported models: {supported}")


def saved_model_endpoint(model):
    """The `serving_default` `Endpoint` of `model` (with any extra signatures)."""
    return _module(model, "SavedModel").saved_model_endpoint(model)


def tflite_endpoints(model):
    """The TFLite variants of `model`: name -> `Endpoint`, default first."""
    return _module(model, "TFLite").tflite_endpoints(model)


__all__ = ["Endpoint", "saved_model_endpoint", "tflite_endpoints"]
