"""Decoder-only Transformer backbone (GPT-2, LLaMA, Qwen2) with a fixed-size KV cache."""

import keras
from keras import ops

from zoo.layers import TransformerDecoder
from zoo.layers.position import check_rope_scaling
from zoo.models.backbones.backbone import Backbone
from zoo.models.backbones.stack import (
    block_arguments,
    check_options,
    check_positive_integers,
    dropout_layer,
    embed,
    low_rank_plan,
    optional_norm,
    token_embedding,
)


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoderBackbone(Backbone):
    """Token embedding -> `num_layers` causal `TransformerDecoder` blocks -> final norm.

    Inputs are `token_ids` and `padding_mask` `(B, T)`; the output is the
    final hidden states `(B, T, hidden_dim)`. Every structural option of a
    checkpoint family is an argument:

    - GPT-2: `position_encoding="learned"`, `activation="gelu_approximate"`,
      `normalize_first=True`, all biases, `tie_word_embeddings=True`.
    - LLaMA: `norm_type="rms_norm"`, `position_encoding="rotary"`,
      `rope_theta`, `activation="swiglu"`, `num_key_value_heads`,
      `use_attention_bias=False`, `use_mlp_bias=False`.
    - Qwen2: as LLaMA with `use_attention_bias=True,
      use_attention_output_bias=False` (biases on q/k/v only).

    Step by step: `empty_cache` makes the KV caches of every block and
    `call_with_cache` runs a chunk of tokens at `cache_index`.

    Args:
        vocabulary_size: int, number of token ids.
        sequence_length: int, the longest sequence (size of a learned
            position table; the longest cache).
        hidden_dim: int, token width.
        num_layers: int, number of decoder blocks.
        num_heads: int, query heads; must divide `hidden_dim`.
        intermediate_dim: int, feed-forward width.
        num_key_value_heads: int dividing `num_heads` (grouped-query
            attention); `None` for `num_heads`.
        activation: feed-forward activation, one of
            `zoo.layers.feedforward.ACTIVATIONS`.
        dropout: float in [0, 1), in the blocks and after the embedding.
        norm_type: `"layer_norm"` or `"rms_norm"`.
        normalize_first: bool, pre-LN (True) or post-LN blocks.
        layer_norm_epsilon: float, of every norm.
        use_final_norm: bool, a norm (`final_norm`) after the last block.
        position_encoding: `"learned"`, `"sinusoidal"` or `"rotary"`.
        position_offset: int, rows skipped at the start of a learned
            position table (OPT: 2).
        sinusoidal_layout: `"interleaved"` or `"concatenated"`.
        rope_theta: float, the RoPE base with rotary positions.
        rope_scaling: `None` or a dict in Hugging Face's layout rescaling the
            rotary frequencies: `{"rope_type": "linear", "factor": ...}` or
            Llama 3.1's `{"rope_type": "llama3", "factor",
            "low_freq_factor", "high_freq_factor",
            "original_max_position_embeddings"}` (see
            `zoo.layers.RotaryEmbedding`).
        use_attention_bias: bool, biases on the q/k/v (and by default o)
            projections.
        use_attention_output_bias: bool or `None` (follows
            `use_attention_bias`), a bias on the attention output projection.
        use_mlp_bias: bool, biases on the feed-forward layers.
        use_embedding_norm: bool, a norm (`embedding_norm`) after the
            embedding.
        embedding_scale: optional float multiplying the token embeddings.
        tie_word_embeddings: bool, whether the task's output projection is
            the transposed token table (`logits`).
        low_rank: `None` (dense) or `{fnmatch pattern: rank or None}` over
            projection paths (`"decoder_0/self_attention/query"`,
            `"decoder_1/feedforward/output"`, `"embedding/token_embedding"`):
            low-rank projections and a factorized token table (see
            `zoo.models.task.low_rank_arguments`).

    Raises:
        ValueError: for a non-positive size, `num_heads` not dividing
            `hidden_dim`, or an unknown option value.

    Example:
    >>> backbone = TransformerDecoderBackbone.from_preset("tiny_llama")
    >>> hidden = backbone({"token_ids": ids, "padding_mask": mask})  # (B, T, D)
    >>> cache = backbone.empty_cache(batch_size=2, max_length=32)
    >>> hidden, cache = backbone.call_with_cache(ids[:, :5], cache, cache_index=0)
    """

    preset_family = "decoder_backbone"

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        hidden_dim,
        num_layers,
        num_heads,
        intermediate_dim,
        num_key_value_heads=None,
        activation="gelu",
        dropout=0.0,
        norm_type="layer_norm",
        normalize_first=True,
        layer_norm_epsilon=1e-5,
        use_final_norm=True,
        position_encoding="learned",
        position_offset=0,
        sinusoidal_layout="interleaved",
        rope_theta=10000.0,
        rope_scaling=None,
        use_attention_bias=True,
        use_attention_output_bias=None,
        use_mlp_bias=True,
        use_embedding_norm=False,
        embedding_scale=None,
        tie_word_embeddings=False,
        low_rank=None,
        **kwargs,
    ):
        check_positive_integers(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
        )
        check_options(hidden_dim, num_heads, norm_type, dropout, position_encoding)
        rope_scaling = check_rope_scaling(rope_scaling)
        if rope_scaling is not None and position_encoding != "rotary":
            raise ValueError(
                "rope_scaling needs position_encoding='rotary'. "
                f"Received: position_encoding={position_encoding!r}, rope_scaling={rope_scaling!r}"
            )

        # === Layers ===
        names = [f"decoder_{index}" for index in range(num_layers)]
        ranks, embedding_ranks = low_rank_plan(low_rank, activation, dict.fromkeys(names, False), ["embedding"])
        embedding = token_embedding(
            "embedding",
            vocabulary_size,
            sequence_length,
            hidden_dim,
            position_encoding,
            position_offset,
            sinusoidal_layout,
            embedding_scale,
            embedding_ranks["embedding"],
        )
        embedding_norm = optional_norm(use_embedding_norm, norm_type, layer_norm_epsilon, "embedding_norm")
        embedding_dropout = dropout_layer(dropout, "embedding_dropout")
        blocks = block_arguments(locals(), position_encoding == "rotary", rope_theta)
        decoder_layers = [TransformerDecoder(name=name, **blocks, **ranks[name]) for name in names]
        final_norm = optional_norm(use_final_norm, norm_type, layer_norm_epsilon, "final_norm")

        # === Functional graph ===
        token_ids = keras.Input((None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
        x = embed(embedding, embedding_norm, embedding_dropout, token_ids)  # (B, T, D)
        for layer in decoder_layers:
            x = layer(x, decoder_padding_mask=padding_mask)
        if final_norm is not None:
            x = final_norm(x)
        super().__init__(inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=x, **kwargs)
        _scale_rotary(decoder_layers, rope_scaling)
        self.embedding, self.embedding_norm = embedding, embedding_norm
        self.decoder_layers, self.final_norm = decoder_layers, final_norm

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.num_key_value_heads = num_key_value_heads
        self.activation = activation
        self.dropout = dropout
        self.norm_type = norm_type
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_final_norm = use_final_norm
        self.position_encoding = position_encoding
        self.position_offset = position_offset
        self.sinusoidal_layout = sinusoidal_layout
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.use_attention_bias = use_attention_bias
        self.use_attention_output_bias = use_attention_output_bias
        self.use_mlp_bias = use_mlp_bias
        self.use_embedding_norm = use_embedding_norm
        self.embedding_scale = embedding_scale
        self.tie_word_embeddings = tie_word_embeddings
        self.low_rank = None if low_rank is None else dict(low_rank)

    # === Step-by-step decoding ===

    def empty_cache(self, batch_size, max_length, split=False):
        """Zeroed KV caches of every block: `(B, num_layers, 2, max_length, H_kv, D_head)`.

        Args:
            batch_size: int or scalar tensor.
            max_length: int, the cache length (at most `sequence_length`
                with learned positions).
            split: bool; True gives a tuple with one `(keys, values)` pair
                `(B, H_kv, max_length, D_head)` per block instead (the split
                layout of `zoo.layers.MultiHeadAttention`): a decoding step
                then writes its new rows without copying the other blocks'
                caches, and attends without transposing them.

        Returns:
            A tensor (or the tuple) in the blocks' compute dtype.
        """
        caches = [layer.init_cache(batch_size, max_length, split=split) for layer in self.decoder_layers]
        return tuple(caches) if split else ops.stack(caches, axis=1)

    def call_with_cache(self, token_ids, cache, cache_index, padding_mask=None):
        """Hidden states of `token_ids` at positions `cache_index ...`, and the updated cache.

        With `T > 1` this is the prefill of a prompt chunk; with `T == 1`
        one decoding step. Keys and values are written into `cache` at
        `cache_index`; every token attends to the cache up to itself.

        Args:
            token_ids: `(B, T)` int ids.
            cache: `(B, num_layers, 2, max_length, H_kv, D_head)`, or the
                split tuple, from `empty_cache` or a previous call.
            cache_index: int or scalar tensor, position of `token_ids[:, 0]`.
            padding_mask: optional `(B, max_length)` mask over the cache
                positions, True/1 for real tokens.

        Returns:
            `(hidden_states, cache)`: `(B, T, hidden_dim)` (after the final
            norm) and the updated cache.
        """
        split = isinstance(cache, (tuple, list))
        x = embed(self.embedding, self.embedding_norm, None, token_ids, start_index=cache_index)
        updated = []
        for index, layer in enumerate(self.decoder_layers):
            x, layer_cache = layer(
                x,
                decoder_padding_mask=padding_mask,
                self_attention_cache=tuple(cache[index]) if split else cache[:, index],
                self_attention_cache_index=cache_index,
            )
            updated.append(tuple(layer_cache) if split else layer_cache)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return x, tuple(updated) if split else ops.stack(updated, axis=1)


def _scale_rotary(decoder_layers, rope_scaling):
    """Give every block's (weightless) `RotaryEmbedding` the frequency scaling `rope_scaling`.

    The blocks build their attention (and its rotary layer) when the
    functional graph is traced; every later call, cached or not, reads the
    rotary layer's `rope_scaling`, so setting it here, before any real call,
    changes the model. (`TransformerDecoder` / `MultiHeadAttention` take no
    scaling argument of their own yet.)
    """
    if rope_scaling is None:
        return
    for layer in decoder_layers:
        layer.self_attention._rotary.rope_scaling = dict(rope_scaling)
