"""Transformer encoder block: self-attention + feed-forward, pre- or post-LN."""

import keras

from zoo.layers.attention import PROJECTIONS as ATTENTION_PROJECTIONS
from zoo.layers.attention import MultiHeadAttention
from zoo.layers.feedforward import PROJECTIONS as FEEDFORWARD_PROJECTIONS
from zoo.layers.feedforward import FeedForward
from zoo.layers.low_rank import check_rank_option, resolve_ranks
from zoo.layers.normalization import NORM_TYPES, normalization_layer


def head_dim(hidden_dim, num_heads):
    """`hidden_dim // num_heads`, or a clear error if it does not divide."""
    if hidden_dim % num_heads:
        raise ValueError(f"num_heads must divide hidden_dim; received hidden_dim={hidden_dim}, num_heads={num_heads}")
    return hidden_dim // num_heads


def block_arguments(block):
    """The constructor arguments shared by encoder and decoder blocks."""
    return {
        "num_heads": block.num_heads,
        "intermediate_dim": block.intermediate_dim,
        "dropout": block.dropout,
        "activation": block.activation,
        "layer_norm_epsilon": block.layer_norm_epsilon,
        "normalize_first": block.normalize_first,
        "num_key_value_heads": block.num_key_value_heads,
        "use_rotary": block.use_rotary,
        "rotary_max_wavelength": block.rotary_max_wavelength,
        "norm_type": block.norm_type,
        "use_attention_bias": block.use_attention_bias,
        "use_attention_output_bias": block.use_attention_output_bias,
        "use_mlp_bias": block.use_mlp_bias,
        "kernel_initializer": keras.initializers.serialize(block.kernel_initializer),
        "bias_initializer": keras.initializers.serialize(block.bias_initializer),
        "projection_rank": block.projection_rank,
        "ffn_rank": block.ffn_rank,
        "layer_ranks": block.layer_ranks,
    }


def block_projection_paths(attention_sublayers, activation):
    """Paths of a block's dense projections relative to the block, e.g. `"self_attention/query"`."""
    paths = [f"{sublayer}/{name}" for sublayer in attention_sublayers for name in ATTENTION_PROJECTIONS]
    names = [name for name in FEEDFORWARD_PROJECTIONS if name != "gate" or activation == "swiglu"]
    return paths + [f"feedforward/{name}" for name in names]


class _Block(keras.layers.Layer):
    """Shared constructor, sublayer factories and residual wiring of the blocks."""

    # The attention sublayers a block of this class may have (for `layer_ranks` keys).
    _attention_sublayers = ("self_attention",)

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        num_key_value_heads=None,
        use_rotary=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        projection_rank=None,
        ffn_rank=None,
        layer_ranks=None,
        rotary_max_wavelength=10000.0,
        norm_type="layer_norm",
        use_attention_bias=True,
        use_attention_output_bias=None,
        use_mlp_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
        if norm_type not in NORM_TYPES:
            raise ValueError(f"norm_type must be one of {NORM_TYPES}. Received: norm_type={norm_type!r}")
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.num_key_value_heads = num_key_value_heads
        self.use_rotary = use_rotary
        self.rotary_max_wavelength = rotary_max_wavelength
        self.norm_type = norm_type
        self.use_attention_bias = use_attention_bias
        self.use_attention_output_bias = use_attention_output_bias
        self.use_mlp_bias = use_mlp_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.projection_rank = check_rank_option(projection_rank, ATTENTION_PROJECTIONS, "projection_rank")
        self.ffn_rank = check_rank_option(ffn_rank, FEEDFORWARD_PROJECTIONS, "ffn_rank")
        paths = block_projection_paths(self._attention_sublayers, activation)
        self.layer_ranks = check_rank_option(layer_ranks, paths, "layer_ranks")
        # Validate the sublayer arguments now, not at the first call.
        FeedForward(intermediate_dim, activation=activation, ffn_rank=ffn_rank)
        MultiHeadAttention(
            num_heads,
            key_dim=2,
            num_key_value_heads=num_key_value_heads,
            rotary_max_wavelength=rotary_max_wavelength,
            use_rotary=use_rotary,
        )

    def _feedforward_projections(self):
        return tuple(name for name in FEEDFORWARD_PROJECTIONS if name != "gate" or self.activation == "swiglu")

    def _sublayer_ranks(self, sublayer, rank, names):
        """`rank` (the block-wide option) for one sublayer, with its `layer_ranks` entries applied."""
        ranks = resolve_ranks(rank, names, "rank")
        for path, value in (self.layer_ranks or {}).items():
            prefix, name = path.split("/")
            if prefix == sublayer:
                ranks[name] = value
        return None if all(value is None for value in ranks.values()) else ranks

    def _attention(self, name, hidden_dim, use_rotary):
        return MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=head_dim(hidden_dim, self.num_heads),
            num_key_value_heads=self.num_key_value_heads,
            dropout=self.dropout,
            use_bias=self.use_attention_bias,
            use_output_bias=self.use_attention_output_bias,
            use_rotary=use_rotary,
            rotary_max_wavelength=self.rotary_max_wavelength,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            projection_rank=self._sublayer_ranks(name, self.projection_rank, ATTENTION_PROJECTIONS),
            dtype=self.dtype_policy,
            name=name,
        )

    def _layer_norm(self, name):
        return normalization_layer(self.norm_type, self.layer_norm_epsilon, name, self.dtype_policy)

    def _build_feedforward(self, inputs_shape):
        self.feedforward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            use_bias=self.use_mlp_bias,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            ffn_rank=self._sublayer_ranks("feedforward", self.ffn_rank, self._feedforward_projections()),
            dtype=self.dtype_policy,
            name="feedforward",
        )
        self.feedforward.build(inputs_shape)
        self.feedforward_norm = self._layer_norm("feedforward_norm")
        self.feedforward_norm.build(inputs_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _residual(self, inputs, norm, sublayer, training):
        """Pre-LN: `x + f(norm(x))`; post-LN: `norm(x + f(x))`. `sublayer` may return extras."""
        outputs = sublayer(norm(inputs) if self.normalize_first else inputs)
        extras = ()
        if isinstance(outputs, tuple):
            outputs, extras = outputs[0], outputs[1:]
        outputs = inputs + self.dropout_layer(outputs, training=training)
        if not self.normalize_first:
            outputs = norm(outputs)
        return (outputs,) + extras

    def _feedforward_residual(self, inputs, training):
        (outputs,) = self._residual(
            inputs,
            self.feedforward_norm,
            lambda x: self.feedforward(x, training=training),
            training,
        )
        return outputs

    def compute_output_shape(self, inputs_shape, *args, **kwargs):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(block_arguments(self))
        return config


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoder(_Block):
    """Transformer encoder block (Vaswani et al. 2017).

    Self-attention then a position-wise feed-forward network, each wrapped in
    a residual connection with layer normalization: after the sum
    (`normalize_first=False`, post-LN, the original paper and BERT) or before
    the sublayer (`normalize_first=True`, pre-LN, GPT-2 and ViT).

    Args:
        num_heads: int, attention heads; must divide the input width.
        intermediate_dim: int, width of the feed-forward hidden layer.
        dropout: float in [0, 1), on attention probabilities, feed-forward
            activations and both residual branches.
        activation: one of `zoo.layers.feedforward.ACTIVATIONS` (`"relu"`,
            `"gelu"`, `"gelu_approximate"`, `"silu"`, `"swiglu"`).
        layer_norm_epsilon: float.
        normalize_first: bool, pre-LN instead of post-LN.
        num_key_value_heads: int dividing `num_heads`, for grouped-query
            attention. Defaults to `num_heads`.
        use_rotary: bool, rotary position embedding inside attention.
        kernel_initializer, bias_initializer: initializers.
        projection_rank: `None`, int or dict, the attention projections'
            ranks (see `MultiHeadAttention`); `None` keeps them dense.
        ffn_rank: `None`, int or dict, the feed-forward layers' ranks (see
            `FeedForward`).
        layer_ranks: optional dict from a projection path inside the block
            (`"self_attention/query"`, `"feedforward/intermediate"`, ...) to
            an int or `None` (dense), overriding the two options above.
        rotary_max_wavelength: float, the RoPE base (`rope_theta`) when
            `use_rotary`.
        norm_type: `"layer_norm"` (LayerNorm with a bias) or `"rms_norm"`
            (`zoo.layers.RMSNorm`, LLaMA).
        use_attention_bias: bool, biases on the query, key and value
            projections (and on the output projection unless
            `use_attention_output_bias` says otherwise).
        use_attention_output_bias: bool or `None` (follows
            `use_attention_bias`), a bias on the attention output
            projection. GPT-2: `True, None`; LLaMA: `False, None`; Qwen2:
            `True, False`.
        use_mlp_bias: bool, biases on the feed-forward layers.

    Call arguments:
        inputs: `(B, T, D)`.
        padding_mask: `(B, T)`, True/1 for real tokens.
        attention_mask: `(B, T, T)`, True/1 where attention is allowed.
        training: bool, enables dropout.
        return_attention_scores: bool, also return `(B, num_heads, T, T)`.

    Example:
    >>> x = keras.random.normal((2, 10, 64))
    >>> y = TransformerEncoder(num_heads=4, intermediate_dim=128)(x, padding_mask=keras.ops.ones((2, 10)))
    """

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        self.self_attention = self._attention("self_attention", hidden_dim, self.use_rotary)
        self.self_attention.build(inputs_shape)
        self.self_attention_norm = self._layer_norm("self_attention_norm")
        self.self_attention_norm.build(inputs_shape)
        self._build_feedforward(inputs_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        def attend(x):
            return self.self_attention(
                x,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                training=training,
                return_attention_scores=return_attention_scores,
            )

        outputs = self._residual(inputs, self.self_attention_norm, attend, training)
        hidden = self._feedforward_residual(outputs[0], training)  # (B, T, D)
        return (hidden, outputs[1]) if return_attention_scores else hidden
