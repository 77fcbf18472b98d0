"""Export endpoints of `ImageClassifier`: uint8 images in, labels and probabilities out."""

import numpy as np
import tensorflow as tf
from keras import ops

from zoo.export.endpoint import Endpoint, checked_shape
from zoo.export.registry import register_endpoint
from zoo.models import CNNImageClassifier, ImageClassifier

# The CNN baseline shares the endpoints of the ViT.
MODELS = (ImageClassifier, CNNImageClassifier)


def _probabilities(model, images):
    return {"probabilities": ops.convert_to_numpy(ops.softmax(model(images, training=False), axis=-1))}


def _sample_images(model, batch_size=4, seed=0):
    height, width = model.image_size
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(batch_size, height, width, model.num_channels), dtype=np.uint8)


@register_endpoint(*MODELS)
def saved_model_endpoint(model):
    """uint8 images of any batch size and any height/width (resized) -> labels and probabilities."""
    height, width = model.image_size
    class_names = tf.constant(model.class_names)

    def serve(images):
        images = checked_shape(images, [None, None, None, model.num_channels], "images")
        # A data dependency, so the check runs before the resize (which would fail first, unclearly).
        with tf.control_dependencies(
            [
                tf.debugging.assert_positive(
                    tf.shape(images)[1:3],
                    message="images must be at least 1 pixel high and wide (resized to the model's size)",
                )
            ]
        ):
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
        expected = _probabilities(model, inputs["images"].astype("float32"))
        expected["class_id"] = expected["probabilities"].argmax(-1)
        return expected

    return Endpoint(
        function=serve,
        input_signature={"images": tf.TensorSpec((None, None, None, model.num_channels), tf.uint8, name="images")},
        reference=reference,
        sample_inputs={"images": _sample_images(model)},
        tolerances={"probabilities": 1e-5},
    )


@register_endpoint(*MODELS, kind="tflite")
def tflite_endpoints(model):
    """float32 raw-pixel images `(B, H, W, C)` -> probabilities (uint8 in and out when int8)."""
    height, width = model.image_size

    def serve(images):
        return {"probabilities": tf.nn.softmax(model(images, training=False), axis=-1)}

    spec = tf.TensorSpec((None, height, width, model.num_channels), tf.float32, name="images")
    return {
        "images": Endpoint(
            function=serve,
            input_signature={"images": spec},
            reference=lambda inputs: _probabilities(model, inputs["images"].astype("float32")),
            sample_inputs={"images": _sample_images(model)},
            tolerances={"probabilities": 1e-4},
        )
    }
