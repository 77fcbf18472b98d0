"""Transformer decoder block: causal self-attention, optional cross-attention, feed-forward."""

import keras

from zoo.layers.encoder import _Block


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoder(_Block):
    """Transformer decoder block with a KV cache for step-by-step decoding.

    Causal self-attention, then (if `use_cross_attention`) attention over an
    encoder's outputs, then a feed-forward network; each in a residual
    connection with layer normalization (post-LN, or pre-LN with
    `normalize_first=True`). Whether the block has cross-attention is set by
    the constructor, never guessed from a call. Without cross-attention this
    is a GPT-style block.

    Args:
        num_heads: int, attention heads; must divide the input width.
        intermediate_dim: int, width of the feed-forward hidden layer.
        use_cross_attention: bool, add attention over `encoder_sequence`.
        dropout: float in [0, 1).
        activation: one of `zoo.layers.feedforward.ACTIVATIONS`.
        layer_norm_epsilon: float.
        normalize_first: bool, pre-LN instead of post-LN.
        num_key_value_heads: int dividing `num_heads` (grouped-query
            self-attention and cross-attention).
        use_rotary: bool, rotary position embedding in self-attention.
        kernel_initializer, bias_initializer: initializers.
        projection_rank: `None`, int or dict, the ranks of the self- and
            cross-attention projections (see `MultiHeadAttention`).
        ffn_rank: `None`, int or dict, the feed-forward layers' ranks.
        layer_ranks: optional dict from a projection path inside the block
            (`"self_attention/query"`, `"cross_attention/value"`,
            `"feedforward/output"`, ...) to an int or `None` (dense),
            overriding the two options above.
        rotary_max_wavelength: float, the RoPE base (`rope_theta`).
        norm_type: `"layer_norm"` or `"rms_norm"` (see `TransformerEncoder`).
        use_attention_bias, use_attention_output_bias: biases of the
            attention projections (see `TransformerEncoder`).
        use_mlp_bias: bool, biases on the feed-forward layers.

    Call arguments:
        decoder_sequence: `(B, T, D)`.
        encoder_sequence: `(B, S, D_enc)`, required with cross-attention
            unless `cross_attention_cache` is given.
        decoder_padding_mask: `(B, T)` over decoder keys (`(B, max_length)`
            when decoding with a cache), True/1 for real tokens.
        decoder_attention_mask: `(B, T, T)` extra self-attention mask.
        encoder_padding_mask: `(B, S)`, True/1 for real encoder tokens.
        encoder_attention_mask: `(B, T, S)`.
        self_attention_cache: `(B, 2, max_length, H_kv, D_head)`, from
            `init_cache` (or its split `(keys, values)` tuple, from
            `init_cache(..., split=True)`); the new keys/values are written at
            `self_attention_cache_index`.
        self_attention_cache_index: int or scalar tensor, position of the
            first token of `decoder_sequence`.
        cross_attention_cache: `(B, 2, S, H_kv, D_head)` from
            `compute_cross_attention_cache(encoder_sequence)`, computed once.
        training: bool, enables dropout.

    Returns:
        `(B, T, D)`, or `(outputs, updated_self_attention_cache)` when a
        self-attention cache is given.

    Example:
    >>> decoder = TransformerDecoder(num_heads=4, intermediate_dim=128, use_cross_attention=True)
    >>> y = decoder(keras.random.normal((2, 7, 64)), keras.random.normal((2, 11, 64)))
    """

    _attention_sublayers = ("self_attention", "cross_attention")

    def __init__(self, num_heads, intermediate_dim, use_cross_attention=False, **kwargs):
        super().__init__(num_heads, intermediate_dim, **kwargs)
        self.use_cross_attention = use_cross_attention
        cross = sorted(path for path in self.layer_ranks or {} if path.startswith("cross_attention/"))
        if cross and not use_cross_attention:
            raise ValueError(f"layer_ranks sets {cross}, but this TransformerDecoder has use_cross_attention=False")

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        hidden_dim = decoder_sequence_shape[-1]
        self.self_attention = self._attention("self_attention", hidden_dim, self.use_rotary)
        self.self_attention.build(decoder_sequence_shape)
        self.self_attention_norm = self._layer_norm("self_attention_norm")
        self.self_attention_norm.build(decoder_sequence_shape)
        self.cross_attention = None
        if self.use_cross_attention:
            encoder_sequence_shape = encoder_sequence_shape or decoder_sequence_shape
            self.cross_attention = self._attention("cross_attention", hidden_dim, use_rotary=False)
            self.cross_attention.build(decoder_sequence_shape, encoder_sequence_shape)
            self.cross_attention_norm = self._layer_norm("cross_attention_norm")
            self.cross_attention_norm.build(decoder_sequence_shape)
        self._build_feedforward(decoder_sequence_shape)
        self.built = True

    def init_cache(self, batch_size, max_length, split=False):
        """An empty self-attention cache `(B, 2, max_length, H_kv, D_head)`.

        With `split=True`, the split layout of `MultiHeadAttention`: a
        tuple of keys and values `(B, H_kv, max_length, D_head)` each.
        """
        attention = self.self_attention
        if split:
            return attention.init_split_cache(batch_size, max_length)
        shape = (batch_size, 2, max_length, attention.num_key_value_heads, attention.key_dim)
        return keras.ops.zeros(shape, dtype=self.compute_dtype)

    def compute_cross_attention_cache(self, encoder_sequence):
        """Project the encoder outputs once into keys/values `(B, 2, S, H_kv, D_head)`."""
        if not self.use_cross_attention:
            raise ValueError("this TransformerDecoder was built with use_cross_attention=False")
        return self.cross_attention.compute_key_value(encoder_sequence)

    def _check_cross_attention_inputs(self, encoder_sequence, cross_attention_cache):
        has_encoder = encoder_sequence is not None or cross_attention_cache is not None
        if self.use_cross_attention and not has_encoder:
            raise ValueError(
                "TransformerDecoder(use_cross_attention=True) needs encoder_sequence "
                "or cross_attention_cache; received neither"
            )
        if not self.use_cross_attention and has_encoder:
            raise ValueError(
                "encoder_sequence was passed to a TransformerDecoder built with "
                "use_cross_attention=False; construct it with use_cross_attention=True"
            )

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        decoder_attention_mask=None,
        encoder_padding_mask=None,
        encoder_attention_mask=None,
        self_attention_cache=None,
        self_attention_cache_index=None,
        cross_attention_cache=None,
        training=None,
    ):
        self._check_cross_attention_inputs(encoder_sequence, cross_attention_cache)
        if self_attention_cache is not None and self_attention_cache_index is None:
            raise ValueError("self_attention_cache needs self_attention_cache_index")

        def self_attend(x):
            return self.self_attention(
                x,
                padding_mask=decoder_padding_mask,
                attention_mask=decoder_attention_mask,
                use_causal_mask=True,
                cache=self_attention_cache,
                cache_index=self_attention_cache_index,
                training=training,
            )

        hidden, *new_cache = self._residual(decoder_sequence, self.self_attention_norm, self_attend, training)
        if self.use_cross_attention:

            def cross_attend(x):
                return self.cross_attention(
                    x,
                    value=encoder_sequence,
                    padding_mask=encoder_padding_mask,
                    attention_mask=encoder_attention_mask,
                    cache=cross_attention_cache,
                    training=training,
                )

            hidden, *_ = self._residual(hidden, self.cross_attention_norm, cross_attend, training)
        hidden = self._feedforward_residual(hidden, training)  # (B, T, D)
        return (hidden, new_cache[0]) if self_attention_cache is not None else hidden

    def get_config(self):
        config = super().get_config()
        config.update({"use_cross_attention": self.use_cross_attention})
        return config
