"""Low-rank (factorized) dense projection."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class LowRankDense(keras.layers.Layer):
    """Dense layer with a factorized kernel `W ~= U V` (`U`: `D x rank`, `V`: `rank x units`).

    Costs `rank * (D + units)` weights and multiply-adds per token instead of
    `D * units`, so it is smaller whenever `rank < D * units / (D + units)`.
    Use it to train factorized projections from scratch, or to hold a
    truncated SVD of a trained kernel.

    Args:
        units: int, output width.
        rank: int, inner dimension of the factorization.
        activation: activation applied to the output (name or callable).
        use_bias: bool.
        kernel_initializer: initializer of both factors.
        bias_initializer: initializer of the bias.

    Call arguments:
        inputs: `(..., D)`.

    Returns:
        `(..., units)`.

    Example:
    >>> y = LowRankDense(units=256, rank=16)(keras.random.normal((2, 10, 256)))
    """

    def __init__(
        self,
        units,
        rank,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("units", units), ("rank", rank)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        self.units = units
        self.rank = rank
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, inputs_shape):
        input_dim = inputs_shape[-1]
        self.u_kernel = self.add_weight(
            name="u_kernel", shape=(input_dim, self.rank), initializer=self.kernel_initializer
        )
        self.v_kernel = self.add_weight(
            name="v_kernel", shape=(self.rank, self.units), initializer=self.kernel_initializer
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
        self.built = True

    def call(self, inputs):
        hidden = ops.matmul(inputs, ops.cast(self.u_kernel, inputs.dtype))  # (..., rank)
        outputs = ops.matmul(hidden, ops.cast(self.v_kernel, inputs.dtype))  # (..., units)
        if self.bias is not None:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "rank": self.rank,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
