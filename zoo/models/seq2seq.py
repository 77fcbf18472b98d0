"""Encoder-decoder Transformer for translation and summarization, with cached generation."""

import keras
from keras import ops

from zoo.layers import TokenAndPositionEmbedding, TransformerDecoder, TransformerEncoder
from zoo.models.encoder_decoder import EncoderDecoderTask, encoder_decoder_config, special_token_ids
from zoo.models.task import block_projection_paths, low_rank_arguments


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqLM(EncoderDecoderTask):
    """Transformer encoder-decoder (Vaswani et al. 2017) with KV-cached generation.

    Training inputs are `encoder_token_ids`/`encoder_padding_mask` `(B, S)`
    and `decoder_token_ids`/`decoder_padding_mask` `(B, T)` (the target
    shifted right, starting with `[CLS]` as BOS); the output is next-token
    logits `(B, T, target_vocabulary_size)`. `generate` encodes the source
    once, projects every decoder layer's cross-attention keys/values once,
    then decodes token by token with a fixed-size self-attention cache.

    Args:
        source_vocabulary_size, target_vocabulary_size: ints.
        source_length: int `S`, source tokens (incl. `[CLS]`/`[SEP]`).
        target_length: int `T`, decoder positions; generation makes at most
            `T - 1` tokens after BOS.
        hidden_dim, num_heads, intermediate_dim: block sizes.
        num_encoder_layers, num_decoder_layers: ints.
        dropout: float.
        activation: feed-forward activation.
        normalize_first: bool, pre-LN blocks (with final layer norms).
        source_preprocessor, target_preprocessor: `TextPreprocessor`s so
            that `generate` takes and returns strings (the target one packs
            `T + 1` tokens: decoder inputs and labels shifted by one).
        bos_token_id, end_token_id, pad_token_id: target special ids
            (taken from `target_preprocessor` when given).
        low_rank: `None` (every projection dense) or a dict from an fnmatch
            pattern over projection paths to a rank (`zoo.layers.LowRankDense`)
            or `None` (dense); the last matching pattern wins. Paths are
            `"<block>/<sublayer>/<projection>"`, e.g. `"decoder_0/cross_attention/value"`, and `"decoder_embedding/token_embedding"` a factorized token table (ALBERT-style `(V, E)` table, then
            `E -> hidden_dim`).
            `{"*attention/*": 32}` factorizes every attention projection;
            `zoo.compress.factorize` writes exact paths. The rank arguments of
            earlier versions (`projection_rank`, `ffn_rank`, `layer_ranks`,
            `embedding_rank`) are still read from old files and `from_preset`.

    Example:
    >>> model = Seq2SeqLM.from_preset("tiny", source_preprocessor=src, target_preprocessor=tgt)
    >>> model.generate(["How are you?"], max_length=32, sampler="beam", num_beams=4)
    """

    layer_arguments = ('source_preprocessor', 'target_preprocessor')

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        source_length,
        target_length,
        hidden_dim=256,
        num_encoder_layers=3,
        num_decoder_layers=3,
        num_heads=4,
        intermediate_dim=512,
        dropout=0.1,
        activation="relu",
        normalize_first=True,
        source_preprocessor=None,
        target_preprocessor=None,
        bos_token_id=2,
        end_token_id=3,
        pad_token_id=0,
        low_rank=None,
        **kwargs,
    ):
        bos_token_id, end_token_id, pad_token_id = special_token_ids(
            source_preprocessor, target_preprocessor, source_vocabulary_size, target_vocabulary_size, source_length,
            target_length, bos_token_id, end_token_id, pad_token_id,
        )

        # === Layers (kept for step-by-step decoding) ===
        encoder_names = [f"encoder_{i}" for i in range(num_encoder_layers)]
        decoder_names = [f"decoder_{i}" for i in range(num_decoder_layers)]
        blocks = {name: block_projection_paths(name, activation) for name in encoder_names}
        blocks.update({name: block_projection_paths(name, activation, cross_attention=True) for name in decoder_names})
        ranks, embedding_ranks = low_rank_arguments(low_rank, blocks, ["encoder_embedding", "decoder_embedding"])
        encoder_embedding = TokenAndPositionEmbedding(
            source_vocabulary_size, source_length, hidden_dim, scale_embeddings=True,
            embedding_rank=embedding_ranks["encoder_embedding"], name="encoder_embedding",
        )
        decoder_embedding = TokenAndPositionEmbedding(
            target_vocabulary_size, target_length, hidden_dim, scale_embeddings=True,
            embedding_rank=embedding_ranks["decoder_embedding"], name="decoder_embedding",
        )
        block = dict(dropout=dropout, activation=activation, normalize_first=normalize_first)
        encoder_layers = [
            TransformerEncoder(num_heads, intermediate_dim, name=name, **block, **ranks[name]) for name in encoder_names
        ]
        decoder_layers = [
            TransformerDecoder(
                num_heads, intermediate_dim, use_cross_attention=True, name=name, **block, **ranks[name]
            )
            for name in decoder_names
        ]
        encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")
        lm_head = keras.layers.Dense(target_vocabulary_size, name="lm_head")

        # === Functional graph ===
        # Any length up to source_length / target_length (batches are bucketed by length).
        encoder_token_ids = keras.Input((None,), dtype="int32", name="encoder_token_ids")
        encoder_padding_mask = keras.Input((None,), dtype="int32", name="encoder_padding_mask")
        decoder_token_ids = keras.Input((None,), dtype="int32", name="decoder_token_ids")
        decoder_padding_mask = keras.Input((None,), dtype="int32", name="decoder_padding_mask")
        x = keras.layers.Dropout(dropout)(encoder_embedding(encoder_token_ids))  # (B, S, D)
        for layer in encoder_layers:
            x = layer(x, padding_mask=encoder_padding_mask)
        encoded = encoder_norm(x) if normalize_first else x
        y = keras.layers.Dropout(dropout)(decoder_embedding(decoder_token_ids))  # (B, T, D)
        for layer in decoder_layers:
            y = layer(y, encoded, decoder_padding_mask=decoder_padding_mask, encoder_padding_mask=encoder_padding_mask)
        logits = lm_head(decoder_norm(y) if normalize_first else y)  # (B, T, V)
        inputs = {
            "encoder_token_ids": encoder_token_ids,
            "encoder_padding_mask": encoder_padding_mask,
            "decoder_token_ids": decoder_token_ids,
            "decoder_padding_mask": decoder_padding_mask,
        }
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        self.encoder_embedding, self.decoder_embedding = encoder_embedding, decoder_embedding
        self.encoder_layers, self.decoder_layers = encoder_layers, decoder_layers
        self.encoder_norm, self.decoder_norm, self.lm_head = encoder_norm, decoder_norm, lm_head

        # === Config ===
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.source_length = source_length
        self.target_length = target_length
        self.hidden_dim = hidden_dim
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.normalize_first = normalize_first
        self.source_preprocessor = source_preprocessor
        self.target_preprocessor = target_preprocessor
        self.low_rank = None if low_rank is None else dict(low_rank)
        self.bos_token_id, self.end_token_id, self.pad_token_id = bos_token_id, end_token_id, pad_token_id

    @classmethod
    def from_preset(cls, name, source_preprocessor=None, target_preprocessor=None, **overrides):
        """Build from a named preset; sizes and lengths follow the preprocessors when given."""
        config = encoder_decoder_config(cls, "seq2seq", name, source_preprocessor, target_preprocessor, overrides)
        return cls(source_preprocessor=source_preprocessor, target_preprocessor=target_preprocessor, **config)

    # === Step-by-step decoding ===

    def encode(self, encoder_token_ids, encoder_padding_mask):
        """Encoder outputs `(B, S, D)`."""
        x = self.encoder_embedding(encoder_token_ids)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=encoder_padding_mask)
        return self.encoder_norm(x) if self.normalize_first else x

    def cross_attention_caches(self, encoded):
        """Every decoder layer's cross-attention keys/values, projected once: `(B, L, 2, S, H, Dh)`."""
        return ops.stack([layer.compute_cross_attention_cache(encoded) for layer in self.decoder_layers], axis=1)

    def empty_caches(self, batch_size, max_length):
        """Zeroed self-attention caches of every decoder layer: `(B, L, 2, max_length, H, Dh)`."""
        return ops.stack([layer.init_cache(batch_size, max_length) for layer in self.decoder_layers], axis=1)

    def decode_step(self, token_ids, index, self_caches, cross_caches, encoder_padding_mask):
        """Logits `(B, V)` for position `index + 1` given the token at `index`, and updated caches."""
        y = self.decoder_embedding(token_ids, start_index=index)  # (B, 1, D)
        updated = []
        for i, layer in enumerate(self.decoder_layers):
            y, cache = layer(
                y,
                encoder_padding_mask=encoder_padding_mask,
                self_attention_cache=self_caches[:, i],
                self_attention_cache_index=index,
                cross_attention_cache=cross_caches[:, i],
            )
            updated.append(cache)
        y = self.decoder_norm(y) if self.normalize_first else y
        return self.lm_head(y)[:, 0], ops.stack(updated, axis=1)

    def _next_fn(self, use_cache):
        if use_cache:

            def next_fn(token_ids, cache, index):
                self_caches, cross_caches, encoder_padding_mask = cache
                logits, self_caches = self.decode_step(token_ids, index, self_caches, cross_caches, encoder_padding_mask)
                return logits, (self_caches, cross_caches, encoder_padding_mask)

            return next_fn

        def next_fn_uncached(token_ids, cache, index):
            buffer, encoder_token_ids, encoder_padding_mask = cache
            buffer = ops.slice_update(buffer, (0, index), token_ids)
            positions = ops.arange(buffer.shape[1])[None, :]
            logits = self(
                {
                    "encoder_token_ids": encoder_token_ids,
                    "encoder_padding_mask": encoder_padding_mask,
                    "decoder_token_ids": buffer,
                    "decoder_padding_mask": ops.cast(positions <= index, "int32") * ops.ones_like(buffer),
                },
                training=False,
            )
            step = ops.take(logits, ops.expand_dims(index, 0), axis=1)[:, 0]  # (B, V)
            return step, (buffer, encoder_token_ids, encoder_padding_mask)

        return next_fn_uncached

    def generate_ids(
        self, encoder_token_ids, encoder_padding_mask, max_length=None, sampler="greedy", num_beams=4,
        length_penalty=0.0, use_cache=True,
    ):
        """Token ids `(B, max_length)` starting with BOS; see `generate`."""
        max_length = self.checked_max_length(max_length)
        encoder_token_ids = ops.convert_to_tensor(encoder_token_ids, "int32")
        encoder_padding_mask = ops.convert_to_tensor(encoder_padding_mask, "int32")
        batch_size = ops.shape(encoder_token_ids)[0]
        if use_cache:
            encoded = self.encode(encoder_token_ids, encoder_padding_mask)
            cache = (self.empty_caches(batch_size, max_length), self.cross_attention_caches(encoded), encoder_padding_mask)
        else:  # the whole decoder input, rerun at every step
            cache = (self.start_tokens(batch_size, self.target_length), encoder_token_ids, encoder_padding_mask)
        return self.decode_from_bos(
            self._next_fn(use_cache), cache, batch_size, max_length, sampler, num_beams, length_penalty
        )
