"""Luong-style global attention of RNN decoder states over encoder outputs ("general" or additive score)."""

import keras
from keras import ops

from zoo.layers.initializers import clone_initializer

# Added to the scores of padded source positions; their softmax weight is then exactly 0.
_MASKED_SCORE = -1e9

SCORES = ("general", "additive")


@keras.saving.register_keras_serializable(package="zoo")
class GlobalAttention(keras.layers.Layer):
    """Global attention "on top" of a recurrent decoder (Luong et al. 2015).

    For every decoder state `h_t` (a query) and encoder output `a_s` (a
    value), a score:

    - `"general"` (Luong): `h_t^T W_a a_s`;
    - `"additive"` (Bahdanau et al. 2015): `v^T tanh(W_q h_t + W_k a_s)`.

    The weights `softmax_s(score)` over real source positions (padded ones
    get exactly 0) average the values into a context `c_t`, and the output
    is the attentional vector `tanh(W_c [c_t; h_t])`. Every query is
    independent of the others, so a decoder can run it over all its
    positions at once (teacher forcing) or one step at a time.

    The key projection (`W_a a_s` or `W_k a_s`) depends only on the source:
    decoding computes it once with `project_keys(values)` and passes it as
    `keys`.

    Args:
        units: int, width of the output (and of the additive score's hidden layer).
        score: `"general"` or `"additive"`.
        kernel_initializer: initializer of the projections.

    Call arguments:
        query: `(B, T, Dq)` decoder states.
        values: `(B, S, Dv)` encoder outputs.
        padding_mask: optional `(B, S)`, True/1 for real source tokens.
        keys: optional `(B, S, K)`, `project_keys(values)` computed beforehand.
        return_attention_weights: bool, also return the weights `(B, T, S)`.

    A Keras mask on the query (an LSTM run with a mask attaches one) is not
    propagated: the output carries none.

    Returns:
        `(B, T, units)`, then the attention weights if requested.

    Example:
    >>> attention = GlobalAttention(64)
    >>> out = attention(decoder_states, encoder_outputs, padding_mask=source_mask)
    """

    def __init__(self, units, score="general", kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer. Received: units={units!r}")
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}. Received: score={score!r}")
        self.units = units
        self.score = score
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True  # accepts a masked query (e.g. an LSTM's outputs); see compute_mask

    def _dense(self, units, name, activation=None):
        return keras.layers.Dense(
            units,
            activation=activation,
            use_bias=False,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, values_shape, padding_mask_shape=None, keys_shape=None):
        query_dim, values_dim = query_shape[-1], values_shape[-1]
        # "general": keys live in the query's space; "additive": in the hidden layer's.
        self.key_dense = self._dense(query_dim if self.score == "general" else self.units, "key")
        self.key_dense.build(values_shape)
        if self.score == "additive":
            self.query_dense = self._dense(self.units, "query")
            self.query_dense.build(query_shape)
            self.score_vector = self.add_weight(
                (self.units,), initializer=clone_initializer(self.kernel_initializer), name="score_vector"
            )
        self.output_dense = self._dense(self.units, "attention_output", activation="tanh")
        self.output_dense.build((*query_shape[:-1], values_dim + query_dim))
        self.built = True

    def project_keys(self, values):
        """The source side of the score, `(B, S, K)`: computed once per source when decoding."""
        return self.key_dense(values)

    def scores(self, query, keys):
        """Unnormalized scores `(B, T, S)`."""
        if self.score == "general":
            return ops.einsum("btd,bsd->bts", query, keys)
        hidden = ops.tanh(ops.expand_dims(self.query_dense(query), 2) + ops.expand_dims(keys, 1))  # (B, T, S, U)
        return ops.einsum("btsu,u->bts", hidden, self.score_vector)

    def call(self, query, values, padding_mask=None, keys=None, return_attention_weights=False):
        keys = self.project_keys(values) if keys is None else keys
        scores = ops.cast(self.scores(query, keys), "float32")  # (B, T, S)
        if padding_mask is not None:
            real = ops.expand_dims(ops.cast(padding_mask, "bool"), 1)  # (B, 1, S)
            scores = ops.where(real, scores, _MASKED_SCORE)
        weights = ops.cast(ops.softmax(scores, axis=-1), values.dtype)
        context = ops.einsum("bts,bsd->btd", weights, values)  # (B, T, Dv)
        output = self.output_dense(ops.concatenate([context, query], axis=-1))  # (B, T, units)
        return (output, weights) if return_attention_weights else output

    def compute_mask(self, query, values, padding_mask=None, keys=None, return_attention_weights=False, mask=None):
        # Padding is explicit (`padding_mask`); the output carries no Keras mask, so a loss
        # on it weighs positions only by the sample weights it is given.
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            score=self.score,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
