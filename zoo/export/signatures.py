"""What each task model exposes when exported: serving functions and parity references.

An `Endpoint` bundles a TensorFlow function body, its input signature, a
Keras reference for parity checks and sample inputs. `zoo.export` turns it
into a SavedModel signature or a TFLite model; new task models add one
builder here (TensorFlow-only code stays out of `zoo.layers`/`zoo.models`).
"""

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf
from keras import ops

from zoo.models import ImageClassifier


@dataclasses.dataclass
class Endpoint:
    """A function to export plus how to check it.

    Attributes:
        function: takes the named input tensors, returns a dict of tensors.
        input_signature: dict name -> `tf.TensorSpec`.
        reference: takes a dict of NumPy inputs, returns the Keras model's
            expected outputs (dict name -> NumPy array).
        sample_inputs: dict of NumPy inputs used when the caller gives none.
        tolerances: dict output name -> max abs difference allowed (float
            outputs); other compared outputs must match exactly.
    """

    function: Callable
    input_signature: dict
    reference: Callable
    sample_inputs: dict
    tolerances: dict


def _image_probabilities(model, images):
    return {"probabilities": ops.convert_to_numpy(ops.softmax(model(images, training=False), axis=-1))}


def _sample_images(model, batch_size=4, seed=0):
    height, width = model.image_size
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(batch_size, height, width, model.num_channels), dtype=np.uint8)


def image_classifier_saved_model(model):
    """uint8 images of any batch size and any height/width (resized) -> labels and probabilities."""
    height, width = model.image_size
    class_names = tf.constant(model.class_names)

    def serve(images):
        pixels = tf.cast(images, tf.float32)
        same_size = tf.logical_and(tf.shape(pixels)[1] == height, tf.shape(pixels)[2] == width)
        pixels = tf.cond(
            same_size,
            lambda: pixels,
            lambda: tf.image.resize(pixels, (height, width), antialias=True),
        )
        pixels = tf.ensure_shape(pixels, (None, height, width, model.num_channels))
        probabilities = tf.nn.softmax(model(pixels, training=False), axis=-1)
        class_id = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "class_id": class_id, "label": tf.gather(class_names, class_id)}

    def reference(inputs):
        expected = _image_probabilities(model, inputs["images"].astype("float32"))
        expected["class_id"] = expected["probabilities"].argmax(-1)
        return expected

    return Endpoint(
        function=serve,
        input_signature={"images": tf.TensorSpec((None, None, None, model.num_channels), tf.uint8, name="images")},
        reference=reference,
        sample_inputs={"images": _sample_images(model)},
        tolerances={"probabilities": 1e-5},
    )


def image_classifier_tflite(model):
    """float32 raw-pixel images `(B, H, W, C)` -> probabilities (uint8 in and out when int8)."""
    height, width = model.image_size

    def serve(images):
        return {"probabilities": tf.nn.softmax(model(images, training=False), axis=-1)}

    return Endpoint(
        function=serve,
        input_signature={"images": tf.TensorSpec((None, height, width, model.num_channels), tf.float32, name="images")},
        reference=lambda inputs: _image_probabilities(model, inputs["images"].astype("float32")),
        sample_inputs={"images": _sample_images(model)},
        tolerances={"probabilities": 1e-4},
    )


_SAVED_MODEL_ENDPOINTS = {ImageClassifier: image_classifier_saved_model}
_TFLITE_ENDPOINTS = {ImageClassifier: image_classifier_tflite}


def _lookup(table, model, what):
    for model_class, builder in table.items():
        if isinstance(model, model_class):
            return builder(model)
    supported = ", ".join(cls.__name__ for cls in table)
    raise TypeError(f"no {what} export for {type(model).__name__}; supported models: {supported}")


def saved_model_endpoint(model):
    return _lookup(_SAVED_MODEL_ENDPOINTS, model, "SavedModel")


def tflite_endpoint(model):
    return _lookup(_TFLITE_ENDPOINTS, model, "TFLite")
