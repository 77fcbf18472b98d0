"""Encoder-decoder Transformer backbone (Transformer-base, BART, Marian) with a KV cache."""

import keras
from keras import ops

from zoo.layers import TransformerDecoder, TransformerEncoder
from zoo.models.backbones.backbone import Backbone
from zoo.models.backbones.stack import (
    SharedTableEmbedding,
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
class EncoderDecoderBackbone(Backbone):
    """An encoder stack and a decoder stack with cross-attention; no head.

    Inputs are `encoder_token_ids`, `encoder_padding_mask` `(B, S)` and
    `decoder_token_ids`, `decoder_padding_mask` `(B, T)`; the output is a
    dict with `encoder_sequence_output` `(B, S, hidden_dim)` and
    `decoder_sequence_output` `(B, T, hidden_dim)`. The defaults are
    today's `Seq2SeqLM` stack (pre-LN, learned positions, relu, final
    norms). BART: post-LN (`normalize_first=False`, `use_final_norm=False`),
    `use_embedding_norm=True`, `position_offset=2`, `activation="gelu"`.
    Marian: post-LN, `position_encoding="sinusoidal"`,
    `sinusoidal_layout="concatenated"`, `embedding_scale=sqrt(hidden_dim)`,
    `activation="silu"`. Both share one token table between their sides
    (`share_token_embeddings=True`) and tie it to the output. The layer names are `Seq2SeqLM`'s
    (`encoder_embedding`, `encoder_0`, `encoder_norm`, `decoder_embedding`,
    `decoder_0`, `decoder_norm`).

    Step by step: `encode` runs the encoder once, `cross_attention_cache`
    projects its output for every decoder block, `empty_cache` makes the
    self-attention caches and `call_with_cache` decodes a chunk of tokens.

    Args:
        vocabulary_size: int, the encoder's token ids (and the decoder's
            unless `decoder_vocabulary_size` is given).
        sequence_length: int, the longest encoder sequence (and decoder
            sequence unless `decoder_sequence_length` is given).
        hidden_dim: int, token width.
        num_encoder_layers, num_decoder_layers: ints, number of blocks.
        num_heads: int, query heads; must divide `hidden_dim`.
        intermediate_dim: int, feed-forward width.
        decoder_vocabulary_size: int or `None` (same as `vocabulary_size`).
        decoder_sequence_length: int or `None` (same as `sequence_length`).
        num_key_value_heads: int dividing `num_heads`, or `None`.
        activation: feed-forward activation, one of
            `zoo.layers.feedforward.ACTIVATIONS`.
        dropout: float in [0, 1), in the blocks and after the embeddings.
        norm_type: `"layer_norm"` or `"rms_norm"`.
        normalize_first: bool, pre-LN (True) or post-LN blocks.
        layer_norm_epsilon: float, of every norm.
        use_final_norm: bool, norms after the last encoder and decoder
            blocks (`encoder_norm`, `decoder_norm`).
        use_embedding_norm: bool, norms after the embeddings
            (`encoder_embedding_norm`, `decoder_embedding_norm`; BART's
            `layernorm_embedding`).
        position_encoding: `"learned"`, `"sinusoidal"` or `"rotary"`.
        position_offset: int, rows skipped at the start of the learned
            position tables (BART: 2).
        sinusoidal_layout: `"interleaved"` or `"concatenated"` (Marian).
        rope_theta: float, the RoPE base with rotary positions.
        use_attention_bias, use_attention_output_bias, use_mlp_bias:
            biases, as in `TransformerDecoderBackbone`.
        embedding_scale: optional float multiplying the token embeddings
            of both sides (`sqrt(hidden_dim)` for `scale_embedding`).
        tie_word_embeddings: bool, whether the task's output projection is
            the transposed decoder token table (`logits`).
        share_token_embeddings: bool, one token table for both sides (BART's
            and Marian's `shared`), held by `encoder_embedding`; the decoder
            keeps its own positions. Needs `decoder_vocabulary_size ==
            vocabulary_size`.
        low_rank: `None` or `{fnmatch pattern: rank or None}` over
            projection paths (`"encoder_0/self_attention/query"`,
            `"decoder_1/cross_attention/value"`,
            `"decoder_embedding/token_embedding"`), as in
            `TransformerDecoderBackbone`; a shared table is
            `"encoder_embedding/token_embedding"`.

    Raises:
        ValueError: for a non-positive size, `num_heads` not dividing
            `hidden_dim`, or an unknown option value.

    Example:
    >>> backbone = EncoderDecoderBackbone.from_preset("tiny_bart")
    >>> outputs = backbone({"encoder_token_ids": source, "encoder_padding_mask": source_mask,
    ...                     "decoder_token_ids": target, "decoder_padding_mask": target_mask})
    >>> outputs["decoder_sequence_output"]  # (B, T, D)
    """

    preset_family = "encoder_decoder_backbone"

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        hidden_dim,
        num_encoder_layers,
        num_decoder_layers,
        num_heads,
        intermediate_dim,
        decoder_vocabulary_size=None,
        decoder_sequence_length=None,
        num_key_value_heads=None,
        activation="relu",
        dropout=0.0,
        norm_type="layer_norm",
        normalize_first=True,
        layer_norm_epsilon=1e-5,
        use_final_norm=True,
        use_embedding_norm=False,
        position_encoding="learned",
        position_offset=0,
        sinusoidal_layout="interleaved",
        rope_theta=10000.0,
        use_attention_bias=True,
        use_attention_output_bias=None,
        use_mlp_bias=True,
        embedding_scale=None,
        tie_word_embeddings=False,
        share_token_embeddings=False,
        low_rank=None,
        **kwargs,
    ):
        decoder_vocabulary_size = decoder_vocabulary_size or vocabulary_size
        decoder_sequence_length = decoder_sequence_length or sequence_length
        check_positive_integers(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            decoder_vocabulary_size=decoder_vocabulary_size,
            decoder_sequence_length=decoder_sequence_length,
            hidden_dim=hidden_dim,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
        )
        check_options(hidden_dim, num_heads, norm_type, dropout, position_encoding)
        if share_token_embeddings and decoder_vocabulary_size != vocabulary_size:
            raise ValueError(
                "share_token_embeddings needs one vocabulary for both sides. Received: "
                f"vocabulary_size={vocabulary_size}, "
                f"decoder_vocabulary_size={decoder_vocabulary_size}"
            )

        # === Layers ===
        encoder_names = [f"encoder_{index}" for index in range(num_encoder_layers)]
        decoder_names = [f"decoder_{index}" for index in range(num_decoder_layers)]
        cross_attention = dict.fromkeys(encoder_names, False) | dict.fromkeys(decoder_names, True)
        tables = ["encoder_embedding"] + ([] if share_token_embeddings else ["decoder_embedding"])
        ranks, embedding_ranks = low_rank_plan(low_rank, activation, cross_attention, tables)
        sides = {"encoder": (vocabulary_size, sequence_length)}
        sides["decoder"] = (decoder_vocabulary_size, decoder_sequence_length)
        embeddings, embedding_norms = {}, {}
        for side, (vocabulary, length) in sides.items():
            if side == "decoder" and share_token_embeddings:
                encoder_embedding = embeddings["encoder"]
                embeddings[side] = SharedTableEmbedding(
                    encoder_embedding.token_embedding,
                    encoder_embedding.token_projection,
                    length,
                    position_encoding,
                    position_offset,
                    sinusoidal_layout,
                    embedding_scale,
                    name="decoder_embedding",
                )
            else:
                embeddings[side] = token_embedding(
                    f"{side}_embedding",
                    vocabulary,
                    length,
                    hidden_dim,
                    position_encoding,
                    position_offset,
                    sinusoidal_layout,
                    embedding_scale,
                    embedding_ranks[f"{side}_embedding"],
                )
            embedding_norms[side] = optional_norm(
                use_embedding_norm, norm_type, layer_norm_epsilon, f"{side}_embedding_norm"
            )
        blocks = block_arguments(locals(), position_encoding == "rotary", rope_theta)
        encoder_layers = [TransformerEncoder(name=name, **blocks, **ranks[name]) for name in encoder_names]
        decoder_layers = [
            TransformerDecoder(use_cross_attention=True, name=name, **blocks, **ranks[name]) for name in decoder_names
        ]
        encoder_norm = optional_norm(use_final_norm, norm_type, layer_norm_epsilon, "encoder_norm")
        decoder_norm = optional_norm(use_final_norm, norm_type, layer_norm_epsilon, "decoder_norm")

        # === Functional graph ===
        names = (
            "encoder_token_ids",
            "encoder_padding_mask",
            "decoder_token_ids",
            "decoder_padding_mask",
        )
        inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in names}
        x = embed(
            embeddings["encoder"],
            embedding_norms["encoder"],
            dropout_layer(dropout, "encoder_embedding_dropout"),
            inputs["encoder_token_ids"],
        )  # (B, S, D)
        for layer in encoder_layers:
            x = layer(x, padding_mask=inputs["encoder_padding_mask"])
        encoded = x if encoder_norm is None else encoder_norm(x)
        y = embed(
            embeddings["decoder"],
            embedding_norms["decoder"],
            dropout_layer(dropout, "decoder_embedding_dropout"),
            inputs["decoder_token_ids"],
        )  # (B, T, D)
        for layer in decoder_layers:
            y = layer(
                y,
                encoded,
                decoder_padding_mask=inputs["decoder_padding_mask"],
                encoder_padding_mask=inputs["encoder_padding_mask"],
            )
        decoded = y if decoder_norm is None else decoder_norm(y)
        outputs = {"encoder_sequence_output": encoded, "decoder_sequence_output": decoded}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder_embedding = embeddings["encoder"]
        self.decoder_embedding = embeddings["decoder"]
        self.encoder_embedding_norm = embedding_norms["encoder"]
        self.decoder_embedding_norm = embedding_norms["decoder"]
        self.encoder_layers, self.decoder_layers = encoder_layers, decoder_layers
        self.encoder_norm, self.decoder_norm = encoder_norm, decoder_norm

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.decoder_vocabulary_size = decoder_vocabulary_size
        self.decoder_sequence_length = decoder_sequence_length
        self.num_key_value_heads = num_key_value_heads
        self.activation = activation
        self.dropout = dropout
        self.norm_type = norm_type
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.use_final_norm = use_final_norm
        self.use_embedding_norm = use_embedding_norm
        self.position_encoding = position_encoding
        self.position_offset = position_offset
        self.sinusoidal_layout = sinusoidal_layout
        self.rope_theta = rope_theta
        self.use_attention_bias = use_attention_bias
        self.use_attention_output_bias = use_attention_output_bias
        self.use_mlp_bias = use_mlp_bias
        self.embedding_scale = embedding_scale
        self.tie_word_embeddings = tie_word_embeddings
        self.share_token_embeddings = share_token_embeddings
        self.low_rank = None if low_rank is None else dict(low_rank)

    @property
    def token_embedding(self):
        """The decoder's `keras.layers.Embedding` (what a tied output projection uses)."""
        return self.decoder_embedding.token_embedding

    def _token_projection(self):
        return self.decoder_embedding.token_projection

    @property
    def encoder_token_embedding(self):
        """The encoder's `keras.layers.Embedding`."""
        return self.encoder_embedding.token_embedding

    # === Step-by-step decoding ===

    def encode(self, encoder_token_ids, encoder_padding_mask):
        """The encoder's output `(B, S, hidden_dim)` (after `encoder_norm`), without dropout."""
        x = embed(self.encoder_embedding, self.encoder_embedding_norm, None, encoder_token_ids)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=encoder_padding_mask)
        return x if self.encoder_norm is None else self.encoder_norm(x)

    def cross_attention_cache(self, encoder_hidden_states):
        """Keys/values of `encode`'s output for each decoder block: `(B, L, 2, S, H_kv, D)`."""
        caches = [layer.compute_cross_attention_cache(encoder_hidden_states) for layer in self.decoder_layers]
        return ops.stack(caches, axis=1)

    def empty_cache(self, batch_size, max_length):
        """Zeroed self-attention caches of the decoder blocks: `(B, L, 2, max_length, H_kv, D)`."""
        caches = [layer.init_cache(batch_size, max_length) for layer in self.decoder_layers]
        return ops.stack(caches, axis=1)

    def call_with_cache(
        self,
        token_ids,
        cache,
        cache_index,
        cross_attention_cache,
        encoder_padding_mask=None,
        padding_mask=None,
    ):
        """Decoder hidden states of `token_ids` at positions `cache_index ...`, and the new cache.

        Args:
            token_ids: `(B, T)` decoder ids.
            cache: `(B, L, 2, max_length, H_kv, D_head)` self-attention
                caches, from `empty_cache` or a previous call.
            cache_index: int or scalar tensor, position of `token_ids[:, 0]`.
            cross_attention_cache: `(B, L, 2, S, H_kv, D_head)` from
                `cross_attention_cache`.
            encoder_padding_mask: `(B, S)`, True/1 for real source tokens.
            padding_mask: optional `(B, max_length)` mask over the cache.

        Returns:
            `(hidden_states, cache)`: `(B, T, hidden_dim)` (after
            `decoder_norm`) and the updated self-attention cache.
        """
        y = embed(self.decoder_embedding, self.decoder_embedding_norm, None, token_ids, cache_index)
        updated = []
        for index, layer in enumerate(self.decoder_layers):
            y, layer_cache = layer(
                y,
                decoder_padding_mask=padding_mask,
                encoder_padding_mask=encoder_padding_mask,
                self_attention_cache=cache[:, index],
                self_attention_cache_index=cache_index,
                cross_attention_cache=cross_attention_cache[:, index],
            )
            updated.append(layer_cache)
        y = y if self.decoder_norm is None else self.decoder_norm(y)
        return y, ops.stack(updated, axis=1)
