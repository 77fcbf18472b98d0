"""Mean pooling over the real (non-padding) tokens of a sequence."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMeanPooling(keras.layers.Layer):
    """Average of the token vectors where `padding_mask` is 1.

    The sentence-embedding pooling of sentence-transformers, and the
    `pooling="mean"` option of the text classifier. A row with no real
    tokens gives zeros.

    Call arguments:
        inputs: `(B, T, D)`.
        padding_mask: `(B, T)`, 1/True for real tokens.

    Returns:
        `(B, D)`.

    Example:
    >>> pooled = MaskedMeanPooling()(keras.random.normal((2, 5, 8)), padding_mask=keras.ops.ones((2, 5)))
    """

    def call(self, inputs, padding_mask):
        mask = ops.cast(ops.expand_dims(padding_mask, -1), inputs.dtype)  # (B, T, 1)
        total = ops.sum(inputs * mask, axis=1)
        count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1.0, inputs.dtype))
        return total / count

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return (inputs_shape[0], inputs_shape[-1])
