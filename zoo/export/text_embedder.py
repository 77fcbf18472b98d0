"""Export endpoints of `TextEmbedder`: raw strings in, L2-normalized embeddings out."""

import numpy as np
import tensorflow as tf
from keras import ops

from zoo.export.endpoint import Endpoint, checked_shape
from zoo.export.registry import register_endpoint
from zoo.export.runtime import as_strings
from zoo.export.text_classifier import SAMPLE_TEXTS, token_id_samples
from zoo.models import TextEmbedder


def _sample_texts():
    return {"text": np.array(SAMPLE_TEXTS, dtype=object)}


def _keras_embeddings(model, inputs):
    return ops.convert_to_numpy(model({name: tf.constant(value) for name, value in inputs.items()}, training=False))


def _text_endpoint(model, tolerance, custom_ops=False):
    if model.preprocessor is None:
        raise ValueError(
            "a string-in export needs a TextEmbedder with a preprocessor; "
            "build it with from_checkpoint(...) or from_preset(..., vocabulary=...)"
        )

    def serve(text):
        if not custom_ops:  # the SavedModel (the TFLite interpreter checks shapes itself)
            text = checked_shape(text, [None], "text")
        return {"embeddings": model(model.preprocessor(text), training=False)}

    return Endpoint(
        function=serve,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=lambda inputs: {
            "embeddings": _keras_embeddings(model, model.preprocessor(as_strings(inputs["text"])))
        },
        sample_inputs=_sample_texts(),
        tolerances={"embeddings": tolerance},
        custom_ops=custom_ops,
    )


@register_endpoint(TextEmbedder)
def saved_model_endpoint(model):
    """`serving_default`: strings `(B,)` -> `embeddings` `(B, hidden_dim)`."""
    return _text_endpoint(model, 1e-5)


@register_endpoint(TextEmbedder, kind="tflite")
def tflite_endpoints(model):
    """`text`: strings -> embeddings (tensorflow-text custom ops); `token_ids`: ids -> embeddings."""
    endpoints = {}
    if model.preprocessor is not None:
        endpoints["text"] = _text_endpoint(model, 1e-4, custom_ops=True)
    length = model.sequence_length

    def serve_ids(token_ids, padding_mask):
        return {"embeddings": model({"token_ids": token_ids, "padding_mask": padding_mask}, training=False)}

    endpoints["token_ids"] = Endpoint(
        function=serve_ids,
        input_signature={
            "token_ids": tf.TensorSpec((None, length), tf.int32, name="token_ids"),
            "padding_mask": tf.TensorSpec((None, length), tf.int32, name="padding_mask"),
        },
        reference=lambda inputs: {"embeddings": _keras_embeddings(model, inputs)},
        sample_inputs=token_id_samples(model),
        tolerances={"embeddings": 1e-4},
    )
    return endpoints
