"""Multi-head attention with a fixed-size KV cache and grouped-query heads."""

import contextlib

import keras
from keras import ops

from zoo.layers.initializers import clone_initializer
from zoo.layers.low_rank import LowRankDense, check_rank_option, resolve_ranks
from zoo.layers.masking import combine_masks, compute_causal_mask, merge_padding_and_attention_mask
from zoo.layers.position import RotaryEmbedding

# Added to masked logits before the softmax; finite so that a fully masked
# row gives a uniform distribution instead of NaN.
_MASKED_LOGIT = -1e9

IMPLEMENTATIONS = ("auto", "fused", "explicit")
PROJECTIONS = ("query", "key", "value", "attention_output")


def _fused_is_faster():
    """Whether `ops.dot_product_attention` beats the explicit einsum path on this backend.

    On TensorFlow it is not fused: the same einsums plus scaling and masking
    of the full score tensor, measured ~10% slower forward+backward
    (benchmarks/results/encoder_throughput.json). JAX and PyTorch dispatch
    to fused kernels (cuDNN / flash attention on GPUs).
    """
    return keras.backend.backend() != "tensorflow"


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention with an optional KV cache.

    `softmax(Q K^T / sqrt(key_dim) + mask) V` per head, with learned
    projections `Q = query W_q`, `K = key W_k`, `V = value W_v` and an output
    projection over the concatenated heads. With `num_key_value_heads <
    num_heads` (grouped-query attention) several query heads share one key /
    value head, shrinking the KV cache.

    The KV cache is a single tensor of fixed shape
    `(B, 2, max_length, num_key_value_heads, key_dim)` (keys at index 0,
    values at 1). Decoding writes the new keys/values at `cache_index` and
    returns the updated cache, so every step has static shapes (XLA- and
    TFLite-friendly). For cross-attention, pass a cache made once with
    `compute_key_value(encoder_outputs)` and no `cache_index`: it is used
    as is.

    The self-attention cache may instead be *split*: a tuple `(keys,
    values)` of `(B, num_key_value_heads, max_length, key_dim)` tensors
    (heads first, from `init_split_cache`), returned as a tuple. A step
    then writes only its new rows and reads the cache in place: no
    stacking, no transposed or repeated copy per step (what Keras
    generation uses; the stacked layout stays for exports). Inference
    only: no attention dropout, no fused kernel.

    Args:
        num_heads: int, number of query heads.
        key_dim: int, size of each head for queries and keys.
        value_dim: int, size of each value head. Defaults to `key_dim`.
        num_key_value_heads: int dividing `num_heads`, number of key/value
            heads. Defaults to `num_heads` (standard multi-head attention).
        output_dim: int, size of the output. Defaults to the query's last
            dimension.
        dropout: float in [0, 1), dropout on the attention probabilities.
        use_bias: bool, whether the query, key and value projections (and,
            unless `use_output_bias` says otherwise, the output projection)
            have biases.
        use_output_bias: bool or `None`, whether the output projection has
            a bias; `None` follows `use_bias`. Qwen2 has biases on the
            query, key and value projections only (`use_bias=True,
            use_output_bias=False`).
        use_rotary: bool, apply rotary position embedding to queries and
            keys (positions start at `cache_index` when decoding).
        rotary_max_wavelength: float, RoPE base frequency.
        kernel_initializer, bias_initializer: initializers of the projections.
        attention_implementation: `"fused"` (`keras.ops.dot_product_attention`),
            `"explicit"` (einsum + softmax), or `"auto"`: fused where the
            backend has a faster kernel, explicit on TensorFlow (measured
            faster there). Dropout in training and returned scores always
            use the explicit path. Both compute the same function.
        projection_rank: `None` (dense projections), an int (every
            projection is a `LowRankDense` of that rank), or a dict from some
            of `"query"`, `"key"`, `"value"`, `"attention_output"` to an int
            or `None` (dense). Layer and weight names do not change
            (`query/u_kernel`, `query/v_kernel`, `query/bias`).

    Call arguments:
        query: `(B, Tq, D)`.
        value: `(B, Tk, D)`; defaults to `query` (self-attention).
        key: `(B, Tk, D)`; defaults to `value`.
        padding_mask: `(B, Tk)` mask over keys, True/1 for real tokens. With
            a self-attention cache, `Tk` is the cache length.
        attention_mask: `(B, Tq, Tk)`, True/1 where attention is allowed.
        use_causal_mask: bool, forbid attending to later positions.
        cache: optional KV cache (stacked or split), see above.
        cache_index: int or scalar tensor, position where the new keys and
            values are written (and of the first query). `None` with a cache
            means the cache is precomputed (cross-attention).
        training: bool, enables dropout.
        return_attention_scores: bool, also return the `(B, num_heads, Tq,
            Tk)` attention probabilities.

    Returns:
        `output` `(B, Tq, output_dim)`; then the attention probabilities if
        requested; then the updated cache if a cache was given.

    Recording attention scores:
        `with layer.record_scores() as scores:` makes every call of the
        layer inside the block append its `(B, num_heads, Tq, Tk)`
        attention probabilities to the list `scores`, also when the layer
        runs inside a model that does not ask for them (how
        `zoo.attention_maps` reads a whole model). Outputs, weights and
        config do not change; the probabilities come from the explicit
        path. Record eager calls (`model(x)`, not `predict`): inside a
        traced function the entries would be symbolic tensors.

    Example:
    >>> x = keras.random.normal((2, 10, 64))
    >>> attention = MultiHeadAttention(num_heads=4, key_dim=16)
    >>> y = attention(x, padding_mask=keras.ops.ones((2, 10)), use_causal_mask=True)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        num_key_value_heads=None,
        output_dim=None,
        dropout=0.0,
        use_bias=True,
        use_output_bias=None,
        use_rotary=False,
        rotary_max_wavelength=10000.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        attention_implementation="auto",
        projection_rank=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if attention_implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"attention_implementation must be one of {IMPLEMENTATIONS}. "
                f"Received: attention_implementation={attention_implementation!r}"
            )
        for name, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        num_key_value_heads = num_heads if num_key_value_heads is None else num_key_value_heads
        if num_key_value_heads <= 0 or num_heads % num_key_value_heads:
            raise ValueError(
                "num_key_value_heads must divide num_heads. Received: "
                f"num_heads={num_heads}, num_key_value_heads={num_key_value_heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
        if use_rotary and key_dim % 2:
            raise ValueError(f"use_rotary needs an even key_dim. Received: key_dim={key_dim}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = key_dim if value_dim is None else value_dim
        self.num_key_value_heads = num_key_value_heads
        self.output_dim = output_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.use_output_bias = use_output_bias
        self.use_rotary = use_rotary
        self.rotary_max_wavelength = rotary_max_wavelength
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.attention_implementation = attention_implementation
        self.projection_rank = check_rank_option(projection_rank, PROJECTIONS, "projection_rank")
        if attention_implementation == "auto":
            self._use_fused = _fused_is_faster()
        else:
            self._use_fused = attention_implementation == "fused"
        self._dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self._record_score = None  # `list.append` of the `record_scores` block, if one is open
        self._rotary = (
            RotaryEmbedding(rotary_max_wavelength, dtype=self.dtype_policy, name="rotary") if use_rotary else None
        )

    def _projection(self, name, equation, output_shape, bias_axes):
        rank = resolve_ranks(self.projection_rank, PROJECTIONS, "projection_rank")[name]
        use_bias = self.use_bias
        if name == "attention_output" and self.use_output_bias is not None:
            use_bias = self.use_output_bias
        if rank is not None:
            return LowRankDense(
                None,
                rank,
                use_bias=use_bias,
                kernel_initializer=clone_initializer(self.kernel_initializer),
                bias_initializer=clone_initializer(self.bias_initializer),
                output_shape=output_shape[1:],  # drop the sequence axis
                input_axes=2 if name == "attention_output" else 1,
                dtype=self.dtype_policy,
                name=name,
            )
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if use_bias else None,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        output_dim = self.output_dim or query_shape[-1]
        kv_heads = self.num_key_value_heads
        self.query_dense = self._projection("query", "btd,dnh->btnh", (None, self.num_heads, self.key_dim), "nh")
        self.key_dense = self._projection("key", "btd,dnh->btnh", (None, kv_heads, self.key_dim), "nh")
        self.value_dense = self._projection("value", "btd,dnh->btnh", (None, kv_heads, self.value_dim), "nh")
        self.output_dense = self._projection("attention_output", "btnh,nhd->btd", (None, output_dim), "d")
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((query_shape[0], query_shape[1], self.num_heads, self.value_dim))
        self.built = True

    def compute_key_value(self, value, key=None):
        """Project `value` (and `key`, default `value`) once into a cache `(B, 2, Tk, Hkv, D)`.

        Used for cross-attention during decoding; keys are not rotated.
        """
        key = value if key is None else key
        if self.key_dim != self.value_dim:
            raise ValueError(
                "a stacked KV cache needs value_dim == key_dim. Received: "
                f"key_dim={self.key_dim}, value_dim={self.value_dim}"
            )
        return ops.stack([self.key_dense(key), self.value_dense(value)], axis=1)

    def init_split_cache(self, batch_size, max_length):
        """An empty split cache: zeroed keys and values `(B, Hkv, max_length, D)` each, as a tuple."""
        shape = (batch_size, self.num_key_value_heads, max_length, self.key_dim)
        return ops.zeros(shape, dtype=self.compute_dtype), ops.zeros(shape, dtype=self.compute_dtype)

    def _project_and_cache(self, key, value, cache, cache_index):
        """Keys/values to attend to `(B, Tk, Hkv, D)` each (split cache: `(B, Hkv, Tk, D)`), and the new cache."""
        if cache is not None and cache_index is None:  # precomputed cross-attention cache
            return cache[:, 0, ...], cache[:, 1, ...], cache
        start = 0 if cache_index is None else cache_index
        new_key = self.key_dense(key)  # (B, T, Hkv, D)
        new_value = self.value_dense(value)
        if self._rotary is not None:
            new_key = self._rotary(new_key, start_index=start)
        if cache is None:
            return new_key, new_value, None
        if isinstance(cache, (tuple, list)):  # split cache: write the new rows only, heads first
            key_cache = ops.slice_update(cache[0], (0, 0, cache_index, 0), ops.transpose(new_key, (0, 2, 1, 3)))
            value_cache = ops.slice_update(cache[1], (0, 0, cache_index, 0), ops.transpose(new_value, (0, 2, 1, 3)))
            return key_cache, value_cache, (key_cache, value_cache)
        key_cache = ops.slice_update(cache[:, 0, ...], (0, cache_index, 0, 0), new_key)
        value_cache = ops.slice_update(cache[:, 1, ...], (0, cache_index, 0, 0), new_value)
        return key_cache, value_cache, ops.stack([key_cache, value_cache], axis=1)

    @contextlib.contextmanager
    def record_scores(self):
        """Within the block, each call appends its attention probabilities to the yielded list.

        The entries are `(B, num_heads, Tq, Tk)` tensors, one per call, in call order.

        Example:
        >>> with attention.record_scores() as scores:
        ...     attention(x, padding_mask=mask)
        >>> scores[0].shape  # (B, num_heads, Tq, Tk); rows sum to 1, masked keys get 0

        Raises:
            RuntimeError: a `record_scores` block of this layer is already open.
        """
        if self._record_score is not None:
            raise RuntimeError(f"{self.name} is already recording its attention scores")
        records = []
        self._record_score = records.append  # a bound method: Keras does not track it as state
        try:
            yield records
        finally:
            self._record_score = None

    def _attend_split(self, query, key, value, mask):
        """Attention of queries `(B, Tq, N, D)` over a split cache `(B, Hkv, Tk, D)` (inference, no dropout).

        Each key/value head serves its `N / Hkv` query heads through a
        reshape of the queries (no repeated keys), and the contractions
        read the cache in its own layout (no transposed copy of it).
        """
        batch_size, query_length = ops.shape(query)[0], ops.shape(query)[1]
        groups = self.num_heads // self.num_key_value_heads
        scale = ops.cast(1.0 / (self.key_dim**0.5), query.dtype)
        query = ops.reshape(query * scale, (batch_size, query_length, self.num_key_value_heads, groups, self.key_dim))
        logits = ops.cast(ops.einsum("btkgh,bksh->bkgts", query, key), "float32")  # (B, Hkv, G, Tq, Tk)
        if mask is not None:
            logits = ops.where(mask[:, None, None], logits, _MASKED_LOGIT)
        scores = ops.cast(ops.softmax(logits, axis=-1), value.dtype)
        output = ops.einsum("bkgts,bksh->btkgh", scores, value)  # (B, Tq, Hkv, G, D)
        output = ops.reshape(output, (batch_size, query_length, self.num_heads, self.value_dim))
        return output, ops.reshape(scores, (batch_size, self.num_heads, query_length, ops.shape(key)[2]))

    def _attend(self, query, key, value, mask, training, return_scores):
        """Scaled dot-product attention over `(B, T, H, D)` tensors."""
        groups = self.num_heads // self.num_key_value_heads
        if groups > 1:  # grouped-query: each key/value head serves `groups` query heads
            key = ops.repeat(key, groups, axis=2)
            value = ops.repeat(value, groups, axis=2)
        use_dropout = training and self.dropout > 0
        if self._use_fused and not (use_dropout or return_scores):
            # Same math as below, fused by the backend where it can.
            mask = None if mask is None else ops.expand_dims(mask, 1)  # (B, 1, Tq, Tk)
            return ops.dot_product_attention(query, key, value, mask=mask), None
        scale = ops.cast(1.0 / (self.key_dim**0.5), query.dtype)
        logits = ops.einsum("btnh,bsnh->bnts", query * scale, key)  # (B, N, Tq, Tk)
        logits = ops.cast(logits, "float32")
        if mask is not None:
            logits = ops.where(ops.expand_dims(mask, 1), logits, _MASKED_LOGIT)
        scores = ops.cast(ops.softmax(logits, axis=-1), value.dtype)
        output = ops.einsum("bnts,bsnh->btnh", self._dropout_layer(scores, training=training), value)
        return output, scores

    def call(
        self,
        query,
        value=None,
        key=None,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        cache=None,
        cache_index=None,
        training=None,
        return_attention_scores=False,
    ):
        value = query if value is None else value
        key = value if key is None else key
        query_heads = self.query_dense(query)  # (B, Tq, N, D)
        if self._rotary is not None:
            query_heads = self._rotary(query_heads, start_index=0 if cache_index is None else cache_index)
        key_heads, value_heads, new_cache = self._project_and_cache(key, value, cache, cache_index)

        split = isinstance(new_cache, tuple)
        batch_size, query_length = ops.shape(query)[0], ops.shape(query)[1]
        key_length = ops.shape(key_heads)[2 if split else 1]
        causal_mask = None
        if use_causal_mask:
            causal_mask = compute_causal_mask(
                batch_size, query_length, key_length, 0 if cache_index is None else cache_index
            )
        mask = combine_masks(
            merge_padding_and_attention_mask(query_length, padding_mask, attention_mask),
            causal_mask,
        )
        recording = self._record_score is not None
        return_scores = return_attention_scores or recording
        if split:
            attended, scores = self._attend_split(query_heads, key_heads, value_heads, mask)
        else:
            attended, scores = self._attend(query_heads, key_heads, value_heads, mask, training, return_scores)
        if recording:
            self._record_score(scores)
        output = self.output_dense(attended)  # (B, Tq, output_dim)
        results = (output,)
        if return_attention_scores:
            results += (scores,)
        if cache is not None:
            results += (new_cache,)
        return results[0] if len(results) == 1 else results

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "output_dim": self.output_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "use_output_bias": self.use_output_bias,
                "use_rotary": self.use_rotary,
                "rotary_max_wavelength": self.rotary_max_wavelength,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "attention_implementation": self.attention_implementation,
                "projection_rank": self.projection_rank,
            }
        )
        return config
