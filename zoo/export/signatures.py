"""The export endpoints of every zoo task model: imports the builders zoo ships, which register.

A new model family adds one module beside these (its builders decorated
with `zoo.export.registry.register_endpoint`) and one import line here.
`saved_model_endpoint(model)` and `tflite_endpoints(model)` then find its
builders by the model's class (or its nearest registered base class).
"""

from zoo.export import (  # noqa: F401  (each module registers its builders)
    causal_lm,
    image_classifier,
    lstm_seq2seq,
    question_answerer,
    seq2seq,
    text_classifier,
    text_embedder,
)
from zoo.export.endpoint import Endpoint
from zoo.export.registry import registered_classes, saved_model_endpoint, tflite_endpoints

__all__ = ["Endpoint", "registered_classes", "saved_model_endpoint", "tflite_endpoints"]
