"""Export endpoints of text classifiers: raw strings in, labels and probabilities out.

`TextClassifier`, `LSTMClassifier` and `CNNClassifier` share them: they use
only the model's call on `{"token_ids", "padding_mask"}` and its
`preprocessor`, `class_names`, `sequence_length` and `vocabulary_size`.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from zoo.export.endpoint import Endpoint, checked_shape
from zoo.export.registry import register_endpoint
from zoo.export.runtime import as_strings
from zoo.models import CNNClassifier, LSTMClassifier, TextClassifier

# Baselines share the endpoints of their Transformer counterpart.
MODELS = (TextClassifier, LSTMClassifier, CNNClassifier)

# Parity samples that exercise the preprocessor's edge cases.
SAMPLE_TEXTS = [
    "a gorgeous, witty film",
    "the plot is a mess and the acting is worse .",
    "",
    "Ça a été très, très BIEN ! 😀 ",
    "word " * 10_000,
]


def _sample_texts():
    return {"text": np.array(SAMPLE_TEXTS, dtype=object)}


def _require_preprocessor(model):
    if model.preprocessor is None:
        raise ValueError(
            f"a string-in export needs a {type(model).__name__} with a preprocessor; "
            "build it with from_preset(..., vocabulary=...)"
        )


def _keras_probabilities(model, inputs):
    logits = model({name: tf.constant(value) for name, value in inputs.items()}, training=False)
    return ops.convert_to_numpy(ops.softmax(logits, axis=-1))


def _preprocess_endpoint(model):
    def preprocess(text):
        return model.preprocessor(checked_shape(text, [None], "text"))

    def reference(inputs):
        return {name: value.numpy() for name, value in model.preprocessor(as_strings(inputs["text"])).items()}

    return Endpoint(
        function=preprocess,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=reference,
        sample_inputs=_sample_texts(),
        tolerances={},
    )


@register_endpoint(*MODELS)
def saved_model_endpoint(model):
    """`serving_default`: strings `(B,)` -> label, class_id, probabilities; `preprocess`: strings -> ids."""
    _require_preprocessor(model)
    class_names = tf.constant(model.class_names)

    def serve(text):
        text = checked_shape(text, [None], "text")
        probabilities = tf.nn.softmax(model(model.preprocessor(text), training=False), axis=-1)
        class_id = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "class_id": class_id, "label": tf.gather(class_names, class_id)}

    def reference(inputs):
        probabilities = _keras_probabilities(model, model.preprocessor(as_strings(inputs["text"])))
        return {"probabilities": probabilities, "class_id": probabilities.argmax(-1)}

    return Endpoint(
        function=serve,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=reference,
        sample_inputs=_sample_texts(),
        tolerances={"probabilities": 1e-5},
        extra_signatures={"preprocess": _preprocess_endpoint(model)},
    )


@register_endpoint(*MODELS, kind="tflite")
def tflite_endpoints(model):
    """`text`: strings -> probabilities (tensorflow-text custom ops); `token_ids`: ids -> probabilities."""
    length = model.sequence_length
    endpoints = {}
    if model.preprocessor is not None:

        def serve_text(text):
            return {"probabilities": tf.nn.softmax(model(model.preprocessor(text), training=False), axis=-1)}

        endpoints["text"] = Endpoint(
            function=serve_text,
            input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
            reference=lambda inputs: {
                "probabilities": _keras_probabilities(model, model.preprocessor(as_strings(inputs["text"])))
            },
            sample_inputs=_sample_texts(),
            tolerances={"probabilities": 1e-4},
            custom_ops=True,
        )

    def serve_ids(token_ids, padding_mask):
        inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
        return {"probabilities": tf.nn.softmax(model(inputs, training=False), axis=-1)}

    endpoints["token_ids"] = Endpoint(
        function=serve_ids,
        input_signature={
            "token_ids": tf.TensorSpec((None, length), tf.int32, name="token_ids"),
            "padding_mask": tf.TensorSpec((None, length), tf.int32, name="padding_mask"),
        },
        reference=lambda inputs: {"probabilities": _keras_probabilities(model, inputs)},
        sample_inputs=token_id_samples(model),
        tolerances={"probabilities": 1e-4},
    )
    return endpoints


def token_id_samples(model, count=4):
    """Random token ids with padding masks of random lengths, `(count, model.sequence_length)`."""
    length = model.sequence_length
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, length + 1, size=count)
    padding_mask = (np.arange(length)[None, :] < lengths[:, None]).astype("int32")
    token_ids = rng.integers(0, model.vocabulary_size, size=(count, length)).astype("int32") * padding_mask
    return {"token_ids": token_ids, "padding_mask": padding_mask}
