"""Root-mean-square layer normalization (Zhang & Sennrich 2019) and the blocks' norm factory."""

import keras
from keras import ops

NORM_TYPES = ("layer_norm", "rms_norm")


@keras.saving.register_keras_serializable(package="zoo")
class RMSNorm(keras.layers.Layer):
    """RMS normalization over the last axis: `x / sqrt(mean(x^2) + epsilon) * scale`.

    Unlike layer normalization it neither subtracts the mean nor adds a
    bias (LLaMA, Qwen2, Mistral). The statistics are computed in float32
    whatever the compute dtype, as LLaMA's reference code does.

    Args:
        epsilon: float > 0, added to the mean square.
        scale_initializer: initializer of the `(D,)` weight `scale`.

    Call arguments:
        inputs: `(..., D)`.

    Returns:
        `(..., D)`, in the layer's compute dtype.

    Raises:
        ValueError: for a non-positive `epsilon`.

    Example:
    >>> y = RMSNorm(epsilon=1e-6)(keras.random.normal((2, 5, 16)))
    """

    def __init__(self, epsilon=1e-6, scale_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon!r}")
        self.epsilon = epsilon
        self.scale_initializer = keras.initializers.get(scale_initializer)

    def build(self, inputs_shape):
        self.scale = self.add_weight(name="scale", shape=(inputs_shape[-1],), initializer=self.scale_initializer)
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        mean_square = ops.mean(ops.square(x), axis=-1, keepdims=True)
        normalized = ops.cast(x * ops.rsqrt(mean_square + self.epsilon), self.compute_dtype)
        return normalized * ops.cast(self.scale, self.compute_dtype)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "epsilon": self.epsilon,
                "scale_initializer": keras.initializers.serialize(self.scale_initializer),
            }
        )
        return config


def normalization_layer(norm_type, epsilon, name, dtype=None):
    """A `keras.layers.LayerNormalization` (`"layer_norm"`) or an `RMSNorm` (`"rms_norm"`).

    Args:
        norm_type: one of `NORM_TYPES`.
        epsilon: float, the layer's epsilon.
        name: str, the layer name.
        dtype: optional dtype policy.

    Returns:
        An unbuilt layer.

    Raises:
        ValueError: for an unknown `norm_type`.
    """
    if norm_type == "layer_norm":
        return keras.layers.LayerNormalization(epsilon=epsilon, dtype=dtype, name=name)
    if norm_type == "rms_norm":
        return RMSNorm(epsilon=epsilon, dtype=dtype, name=name)
    raise ValueError(f"norm_type must be one of {NORM_TYPES}. Received: norm_type={norm_type!r}")
