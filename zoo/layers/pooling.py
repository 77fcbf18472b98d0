"""Mean and max pooling over the real (non-padding) tokens of a sequence."""

import keras
from keras import ops


class _SequencePooling(keras.layers.Layer):
    """`(B, T, D)` -> `(B, D)` over the positions an explicit `padding_mask` marks real.

    An implicit Keras mask on the input (an LSTM's outputs carry one) is
    consumed quietly: the pooled output has no time axis left to mask.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return (inputs_shape[0], inputs_shape[-1])


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMeanPooling(_SequencePooling):
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


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMaxPooling(_SequencePooling):
    """Largest value of each feature over the token vectors where `padding_mask` is 1.

    Max-over-time pooling (Kim 2014) in which padded positions never win,
    whatever their values. A row with no real tokens gives zeros.

    Call arguments:
        inputs: `(B, T, D)`.
        padding_mask: `(B, T)`, 1/True for real tokens.

    Returns:
        `(B, D)`.

    Example:
    >>> pooled = MaskedMaxPooling()(keras.random.normal((2, 5, 8)), padding_mask=keras.ops.ones((2, 5)))
    """

    def call(self, inputs, padding_mask):
        mask = ops.expand_dims(ops.cast(padding_mask, "bool"), -1)  # (B, T, 1)
        masked = ops.where(mask, inputs, ops.cast(float("-inf"), inputs.dtype))
        pooled = ops.max(masked, axis=1)  # (B, D); -inf for a row without real tokens
        return ops.where(ops.any(mask, axis=1), pooled, ops.zeros_like(pooled))
