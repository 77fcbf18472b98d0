"""Position-wise feed-forward network (relu / gelu / gelu_approximate / silu / swiglu)."""

import keras
from keras import ops

from zoo.layers.initializers import clone_initializer
from zoo.layers.low_rank import LowRankDense, check_rank_option, resolve_ranks

ACTIVATIONS = ("relu", "gelu", "gelu_approximate", "silu", "swiglu")
PROJECTIONS = ("intermediate", "gate", "output")


@keras.saving.register_keras_serializable(package="zoo")
class FeedForward(keras.layers.Layer):
    """Position-wise feed-forward block: `W_2 act(W_1 x)` applied to each token.

    With `activation="swiglu"` (Shazeer 2020), the hidden layer is
    `silu(x W_gate) * (x W_1)`, one more `D x intermediate_dim` matrix.

    Args:
        intermediate_dim: int, width of the hidden layer.
        activation: `"relu"`; `"gelu"` (exact, with erf: BERT, ViT);
            `"gelu_approximate"` (the tanh approximation, GPT-2's
            `gelu_new`); `"silu"` (`x * sigmoid(x)`, Marian's `swish`);
            or `"swiglu"` (gated silu: LLaMA, Qwen2).
        output_dim: int, width of the output. Defaults to the input width.
        dropout: float in [0, 1), dropout on the hidden activations.
        use_bias: bool, whether the dense layers have biases.
        kernel_initializer, bias_initializer: initializers.
        ffn_rank: `None` (dense layers), an int (every dense layer is a
            `LowRankDense` of that rank), or a dict from some of
            `"intermediate"`, `"gate"`, `"output"` to an int or `None`
            (dense). Layer names do not change.

    Call arguments:
        inputs: `(B, T, D)`.
        training: bool, enables dropout.

    Example:
    >>> y = FeedForward(intermediate_dim=128, activation="gelu")(keras.random.normal((2, 5, 32)))
    """

    def __init__(
        self,
        intermediate_dim,
        activation="relu",
        output_dim=None,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        ffn_rank=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(intermediate_dim, int) or intermediate_dim <= 0:
            raise ValueError(
                f"intermediate_dim must be a positive integer. Received: intermediate_dim={intermediate_dim!r}"
            )
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}. Received: activation={activation!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.output_dim = output_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.ffn_rank = check_rank_option(ffn_rank, PROJECTIONS, "ffn_rank")
        if isinstance(ffn_rank, dict) and ffn_rank.get("gate") is not None and activation != "swiglu":
            raise ValueError(
                f"ffn_rank sets a 'gate' rank, but only swiglu has a gate. Received: activation={activation!r}"
            )
        self._dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def _dense(self, units, name):
        rank = resolve_ranks(self.ffn_rank, PROJECTIONS, "ffn_rank")[name]
        if rank is not None:
            return LowRankDense(
                units,
                rank,
                use_bias=self.use_bias,
                kernel_initializer=clone_initializer(self.kernel_initializer),
                bias_initializer=clone_initializer(self.bias_initializer),
                dtype=self.dtype_policy,
                name=name,
            )
        return keras.layers.Dense(
            units,
            use_bias=self.use_bias,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, inputs_shape):
        output_dim = self.output_dim or inputs_shape[-1]
        hidden_shape = tuple(inputs_shape[:-1]) + (self.intermediate_dim,)
        self.intermediate_dense = self._dense(self.intermediate_dim, "intermediate")
        self.intermediate_dense.build(inputs_shape)
        self.gate_dense = None
        if self.activation == "swiglu":
            self.gate_dense = self._dense(self.intermediate_dim, "gate")
            self.gate_dense.build(inputs_shape)
        self.output_dense = self._dense(output_dim, "output")
        self.output_dense.build(hidden_shape)
        self.built = True

    def call(self, inputs, training=None):
        hidden = self.intermediate_dense(inputs)  # (B, T, intermediate_dim)
        if self.activation == "relu":
            hidden = ops.relu(hidden)
        elif self.activation == "gelu":
            hidden = ops.gelu(hidden, approximate=False)
        elif self.activation == "gelu_approximate":
            hidden = ops.gelu(hidden, approximate=True)
        elif self.activation == "silu":
            hidden = ops.silu(hidden)
        else:
            hidden = ops.silu(self.gate_dense(inputs)) * hidden
        hidden = self._dropout_layer(hidden, training=training)
        return self.output_dense(hidden)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.output_dim or inputs_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "output_dim": self.output_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "ffn_rank": self.ffn_rank,
            }
        )
        return config
