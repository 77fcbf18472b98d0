"""Encoder-decoder Transformer for translation and summarization, with cached generation."""

import keras
from keras import ops

from zoo.checkpoints.seq2seq import load_seq2seq
from zoo.checkpoints.warm_start import from_encoder_checkpoint
from zoo.models.backbones import EncoderDecoderBackbone
from zoo.models.encoder_decoder import EncoderDecoderTask, sized_by_preprocessors, special_token_ids
from zoo.models.presets import get_preset
from zoo.models.task import upgrade_rank_arguments

# The constructor arguments of Seq2SeqLM before it took a backbone (issue 20); still read from old
# `.keras` files and taken by `from_preset`, mapped to an `EncoderDecoderBackbone`.
FLAT_ARGUMENTS = {
    "source_vocabulary_size": None,
    "target_vocabulary_size": None,
    "source_length": None,
    "target_length": None,
    "hidden_dim": 256,
    "num_encoder_layers": 3,
    "num_decoder_layers": 3,
    "num_heads": 4,
    "intermediate_dim": 512,
    "dropout": 0.1,
    "activation": "relu",
    "normalize_first": True,
    "low_rank": None,
}
SIZES = ("source_vocabulary_size", "target_vocabulary_size", "source_length", "target_length")


def project(backbone, lm_head, logits_bias, hidden):
    """Decoder hidden states `(B, T, D)` -> logits `(B, T, V)`: `lm_head`, or the tied table (+ `logits_bias`)."""
    if lm_head is not None:
        return lm_head(hidden)
    logits = backbone.logits(hidden)
    return logits if logits_bias is None else logits_bias(logits)


@keras.saving.register_keras_serializable(package="zoo")
class LogitsBias(keras.layers.Layer):
    """Adds a learned bias `(V,)` to logits `(..., V)` (a tied head's `final_logits_bias`)."""

    def build(self, logits_shape):
        self.bias = self.add_weight(name="bias", shape=(logits_shape[-1],), initializer="zeros")
        self.built = True

    def call(self, logits):
        return logits + ops.cast(self.bias, logits.dtype)

    def compute_output_shape(self, logits_shape):
        return logits_shape


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqLM(EncoderDecoderTask):
    """An encoder-decoder backbone (Vaswani et al. 2017), a next-token head, KV-cached generation.

    Training inputs are `encoder_token_ids`/`encoder_padding_mask` `(B, S)`
    and `decoder_token_ids`/`decoder_padding_mask` `(B, T)` (the target
    shifted right, starting with `[CLS]` as BOS); the output is next-token
    logits `(B, T, target_vocabulary_size)`: the backbone's decoder hidden
    states projected by `lm_head` (a `Dense`), or by the transposed decoder
    token table when the backbone has `tie_word_embeddings` (BART, Marian).
    `generate` encodes the source once, projects every decoder block's
    cross-attention keys/values once, then decodes token by token with a
    fixed-size self-attention cache.

    Args:
        backbone: a `zoo.models.EncoderDecoderBackbone` (every structural
            option: sizes, norms, positions, biases, `low_rank`, shared and
            tied token tables). Its `vocabulary_size` / `sequence_length`
            are the source's, `decoder_vocabulary_size` /
            `decoder_sequence_length` the target's; generation makes at most
            `decoder_sequence_length - 1` tokens after BOS.
        source_preprocessor, target_preprocessor: `TextPreprocessor`s so
            that `generate` takes and returns strings (the target one packs
            `T + 1` tokens: decoder inputs and labels shifted by one).
        bos_token_id, end_token_id, pad_token_id: target special ids
            (taken from `target_preprocessor` when given).
        use_logits_bias: bool, a bias added to the logits of a tied head
            (`final_logits_bias/bias`; BART's and Marian's
            `final_logits_bias`). An untied `lm_head` has its own bias.
        forced_bos_token_id, forced_eos_token_id: optional ids that
            generation forces as transformers' `generate` does: the first
            token after the decoder start, and the last position of
            `max_length` (BART, Marian).
        suppressed_token_ids: optional ids generation never emits
            (one-token `bad_words_ids`: Marian's pad).

    Instead of a backbone, the constructor (and `from_preset`, and files
    saved before backbones) takes the flat arguments of earlier versions:
    `source_vocabulary_size`, `target_vocabulary_size`, `source_length`,
    `target_length`, `hidden_dim`, `num_encoder_layers`,
    `num_decoder_layers`, `num_heads`, `intermediate_dim`, `dropout`,
    `activation`, `normalize_first` and `low_rank` (see
    `backbone_from_arguments`); the config then holds the backbone.

    Example:
    >>> model = Seq2SeqLM.from_preset("tiny", source_preprocessor=src, target_preprocessor=tgt)
    >>> model.generate(["How are you?"], max_length=32, sampler="beam", num_beams=4)
    >>> bart_like = Seq2SeqLM(EncoderDecoderBackbone.from_preset("tiny_bart"))
    """

    layer_arguments = ("backbone", "source_preprocessor", "target_preprocessor")
    backbone_class = EncoderDecoderBackbone
    flat_arguments = FLAT_ARGUMENTS

    def __init__(
        self,
        backbone=None,
        source_preprocessor=None,
        target_preprocessor=None,
        bos_token_id=2,
        end_token_id=3,
        pad_token_id=0,
        use_logits_bias=False,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        suppressed_token_ids=None,
        **kwargs,
    ):
        def build(flat):  # the sizes of earlier versions (and of their saved files)
            flat = {**sized_by_preprocessors({}, source_preprocessor, target_preprocessor), **flat}
            return self.backbone_from_arguments(**upgrade_rank_arguments(flat))

        backbone = self.checked_backbone(backbone, self.pop_flat_arguments(kwargs), build)
        bos_token_id, end_token_id, pad_token_id = special_token_ids(
            source_preprocessor,
            target_preprocessor,
            backbone.vocabulary_size,
            backbone.decoder_vocabulary_size,
            backbone.sequence_length,
            backbone.decoder_sequence_length,
            bos_token_id,
            end_token_id,
            pad_token_id,
        )

        # === Head ===
        # The graph is built from the backbone's own inputs and outputs, so the model's layers are
        # the backbone's layers plus the head: the weight layout of files saved before backbones.
        lm_head, logits_bias = None, None
        if not backbone.tie_word_embeddings:
            lm_head = keras.layers.Dense(backbone.decoder_vocabulary_size, name="lm_head")
        elif use_logits_bias:
            logits_bias = LogitsBias(name="final_logits_bias")
        hidden = backbone.output["decoder_sequence_output"]  # (B, T, D)
        logits = project(backbone, lm_head, logits_bias, hidden)  # (B, T, V)
        super().__init__(inputs=backbone.input, outputs=logits, **kwargs)
        self.backbone, self.lm_head, self.logits_bias = backbone, lm_head, logits_bias

        # === Config ===
        self.source_preprocessor = source_preprocessor
        self.target_preprocessor = target_preprocessor
        self.bos_token_id, self.end_token_id = bos_token_id, end_token_id
        self.pad_token_id = pad_token_id
        self.use_logits_bias = use_logits_bias
        self.forced_bos_token_id, self.forced_eos_token_id = forced_bos_token_id, forced_eos_token_id
        self.suppressed_token_ids = None if suppressed_token_ids is None else [int(i) for i in suppressed_token_ids]

    @classmethod
    def from_checkpoint(cls, path, source_length=None, target_length=None, preprocessors="auto"):
        """A Seq2SeqLM with the weights, tokenizers and generation rules of a Hugging Face BART or Marian directory.

        The directory holds `config.json` and `model.safetensors` (or a
        sharded index; PyTorch `.bin` files are refused), read without
        PyTorch, every option checked (`zoo.checkpoints.seq2seq_config`),
        every tensor mapped or named unused (`zoo.checkpoints.seq2seq`).
        Generation starts from the checkpoint's `decoder_start_token_id`,
        forces `forced_bos_token_id` / `forced_eos_token_id` and never
        emits one-token `bad_words_ids`, as transformers' `generate` does;
        its other generation defaults (`num_beams`, `no_repeat_ngram_size`,
        ...) are `generate` arguments here, not applied.

        Args:
            path: the checkpoint directory.
            source_length, target_length: optional ints, the longest source
                and target (default `max_position_embeddings`; shorter
                means a smaller cache).
            preprocessors: `"auto"` (the checkpoint's tokenizers: BART's
                byte-level BPE, Marian's `source.spm` / `target.spm` +
                `vocab.json`, see `zoo.checkpoints.seq2seq_tokenizers`),
                `None` (token ids only) or a `(source, target)` pair.

        Returns:
            A `Seq2SeqLM` (`generate` takes and returns strings when it has
            preprocessors).

        Raises:
            FileNotFoundError: a missing directory, `config.json`, weights
                or tokenizer file (named).
            ValueError: an unsupported `model_type` or option (naming the
                key), a corrupt file, a missing or misshapen tensor, or a
                tokenizer with more ids than the embedding has rows.
        """
        checkpoint = load_seq2seq(path, source_length, target_length)
        arguments = checkpoint.backbone_arguments()
        ids = checkpoint.generation_settings()
        if isinstance(preprocessors, str) and preprocessors == "auto":
            from zoo.checkpoints.seq2seq_tokenizers import load_seq2seq_tokenizers

            preprocessors = load_seq2seq_tokenizers(
                checkpoint.path,
                checkpoint.model_type,
                arguments["sequence_length"],
                arguments["decoder_sequence_length"],
                arguments["vocabulary_size"],
                arguments["decoder_vocabulary_size"],
                ids,
            )
        source_preprocessor, target_preprocessor = (None, None) if preprocessors is None else preprocessors
        model = cls(
            EncoderDecoderBackbone(**arguments),
            source_preprocessor=source_preprocessor,
            target_preprocessor=target_preprocessor,
            bos_token_id=ids["decoder_start"],
            end_token_id=ids["eos"],
            pad_token_id=ids["pad"],
            use_logits_bias=True,
            forced_bos_token_id=ids["forced_bos"],
            forced_eos_token_id=ids["forced_eos"],
            suppressed_token_ids=ids["suppressed"] or None,
        )
        # The checkpoint's own ids, not what the preprocessors guess.
        model.bos_token_id, model.end_token_id, model.pad_token_id = ids["decoder_start"], ids["eos"], ids["pad"]
        checkpoint.assign(model)
        return model

    # Encoder and decoder warm-started from BERT / MiniLM (Rothe et al. 2020): zoo.checkpoints.warm_start.
    from_encoder_checkpoint = classmethod(from_encoder_checkpoint)

    @classmethod
    def backbone_from_arguments(cls, **arguments):
        """The `EncoderDecoderBackbone` that the flat arguments of earlier Seq2SeqLMs describe.

        Args:
            **arguments: `source_vocabulary_size`, `target_vocabulary_size`,
                `source_length`, `target_length` and optionally
                `hidden_dim`, `num_encoder_layers`, `num_decoder_layers`,
                `num_heads`, `intermediate_dim`, `dropout`, `activation`,
                `normalize_first`, `low_rank`.

        Returns:
            An `EncoderDecoderBackbone`: learned positions, token
            embeddings scaled by `sqrt(hidden_dim)`, LayerNorms (epsilon
            1e-5), biases everywhere, and with `normalize_first` pre-LN
            blocks and final norms (else post-LN blocks, no final norms).

        Raises:
            ValueError: an unknown argument or a missing size.
        """
        unknown = sorted(set(arguments) - set(FLAT_ARGUMENTS))
        if unknown:
            raise ValueError(f"unknown Seq2SeqLM arguments {unknown}; expected some of {sorted(FLAT_ARGUMENTS)}")
        values = {**FLAT_ARGUMENTS, **arguments}
        missing = [name for name in SIZES if values[name] is None]
        if missing:
            raise ValueError(f"Seq2SeqLM needs {missing} (or preprocessors)")
        return EncoderDecoderBackbone(
            vocabulary_size=values["source_vocabulary_size"],
            sequence_length=values["source_length"],
            decoder_vocabulary_size=values["target_vocabulary_size"],
            decoder_sequence_length=values["target_length"],
            hidden_dim=values["hidden_dim"],
            num_encoder_layers=values["num_encoder_layers"],
            num_decoder_layers=values["num_decoder_layers"],
            num_heads=values["num_heads"],
            intermediate_dim=values["intermediate_dim"],
            activation=values["activation"],
            dropout=values["dropout"],
            normalize_first=values["normalize_first"],
            use_final_norm=values["normalize_first"],  # earlier post-LN models had no final norms
            layer_norm_epsilon=1e-5,
            embedding_scale=values["hidden_dim"] ** 0.5,  # scale_embeddings=True: sqrt(D)
            low_rank=values["low_rank"],
        )

    @classmethod
    def from_preset(cls, name, source_preprocessor=None, target_preprocessor=None, **overrides):
        """Build from a named preset (flat arguments); preprocessors, if given, set the sizes."""
        overrides = upgrade_rank_arguments(overrides)
        allowed = set(FLAT_ARGUMENTS) | {"bos_token_id", "end_token_id", "pad_token_id"}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise ValueError(f"unknown Seq2SeqLM arguments {unknown}; expected some of {sorted(allowed)}")
        config = {**get_preset("seq2seq", name), **overrides}
        config = sized_by_preprocessors(config, source_preprocessor, target_preprocessor)
        missing = [key for key in SIZES[:2] if key not in config]
        if missing:
            raise ValueError(f"Seq2SeqLM.from_preset needs preprocessors or {missing}")
        config["source_preprocessor"] = source_preprocessor
        config["target_preprocessor"] = target_preprocessor
        return cls(**config)

    # === The backbone's structure, for generation, exports and inspection ===

    source_vocabulary_size = property(lambda self: self.backbone.vocabulary_size)
    target_vocabulary_size = property(lambda self: self.backbone.decoder_vocabulary_size)
    source_length = property(lambda self: self.backbone.sequence_length)
    target_length = property(lambda self: self.backbone.decoder_sequence_length)
    hidden_dim = property(lambda self: self.backbone.hidden_dim)
    num_encoder_layers = property(lambda self: self.backbone.num_encoder_layers)
    num_decoder_layers = property(lambda self: self.backbone.num_decoder_layers)
    num_heads = property(lambda self: self.backbone.num_heads)
    intermediate_dim = property(lambda self: self.backbone.intermediate_dim)
    dropout = property(lambda self: self.backbone.dropout)
    activation = property(lambda self: self.backbone.activation)
    normalize_first = property(lambda self: self.backbone.normalize_first)
    low_rank = property(lambda self: self.backbone.low_rank)
    encoder_embedding = property(lambda self: self.backbone.encoder_embedding)
    decoder_embedding = property(lambda self: self.backbone.decoder_embedding)
    encoder_layers = property(lambda self: self.backbone.encoder_layers)
    decoder_layers = property(lambda self: self.backbone.decoder_layers)
    encoder_norm = property(lambda self: self.backbone.encoder_norm)
    decoder_norm = property(lambda self: self.backbone.decoder_norm)

    # === Step-by-step decoding ===

    def encode(self, encoder_token_ids, encoder_padding_mask):
        """Encoder outputs `(B, S, D)`."""
        return self.backbone.encode(encoder_token_ids, encoder_padding_mask)

    def cross_attention_caches(self, encoded):
        """Cross-attention keys/values of every decoder block, once: `(B, L, 2, S, H, Dh)`."""
        return self.backbone.cross_attention_cache(encoded)

    def empty_caches(self, batch_size, max_length):
        """Zeroed self-attention caches of every decoder block: `(B, L, 2, max_length, H, Dh)`."""
        return self.backbone.empty_cache(batch_size, max_length)

    def decode_step(self, token_ids, index, self_caches, cross_caches, encoder_padding_mask):
        """Logits `(B, V)` of position `index + 1` from the token at `index`, and the new caches."""
        hidden, self_caches = self.backbone.call_with_cache(
            token_ids, self_caches, index, cross_caches, encoder_padding_mask
        )  # (B, 1, D)
        logits = project(self.backbone, self.lm_head, self.logits_bias, hidden)
        return logits[:, 0], self_caches

    @property
    def has_generation_rules(self):
        """Whether generation changes the logits (suppressed ids, a forced BOS or EOS)."""
        return (
            bool(self.suppressed_token_ids)
            or self.forced_bos_token_id is not None
            or (self.forced_eos_token_id is not None)
        )

    def apply_generation_rules(self, logits, index, max_length):
        """Step logits `(B, V)` for position `index + 1` with the checkpoint's rules: suppressed ids, forced BOS / EOS.

        As transformers' logits processors: the forced BOS is the token
        after the decoder start (`index == 0`), the forced EOS the one at
        position `max_length - 1`; a forced step leaves every other id at
        -1e9 (after log-softmax, the forced one has log-probability 0).
        Suppressed ids get -1e9 (before the log-softmax, where transformers
        sets -inf after it: beam scores differ by their probability). An
        app looping over an exported `decode` step gets logits with the
        rules applied for `max_length = target_length`.
        """
        if not self.has_generation_rules:
            return logits
        vocabulary = ops.arange(self.target_vocabulary_size)
        if self.suppressed_token_ids:
            banned = ops.any(vocabulary[:, None] == ops.convert_to_tensor(self.suppressed_token_ids)[None, :], axis=1)
            logits = ops.where(banned[None, :], ops.cast(-1e9, logits.dtype), logits)
        for token_id, when in (
            (self.forced_bos_token_id, index == 0),
            (self.forced_eos_token_id, index == max_length - 2),
        ):
            if token_id is not None:
                only = ops.cast(ops.where(vocabulary == token_id, 0.0, -1e9)[None, :], logits.dtype)  # (1, V)
                logits = ops.where(when, only + ops.zeros_like(logits), logits)
        return logits

    def _generation_rules(self, next_fn, max_length):
        """`next_fn` whose logits follow `apply_generation_rules`."""
        if not self.has_generation_rules:
            return next_fn

        def ruled_next_fn(token_ids, cache, index):
            logits, cache = next_fn(token_ids, cache, index)  # (B, V)
            return self.apply_generation_rules(logits, index, max_length), cache

        return ruled_next_fn

    def _next_fn(self, use_cache):
        if use_cache:

            def next_fn(token_ids, cache, index):
                self_caches, cross_caches, encoder_padding_mask = cache
                logits, self_caches = self.decode_step(
                    token_ids, index, self_caches, cross_caches, encoder_padding_mask
                )
                return logits, (self_caches, cross_caches, encoder_padding_mask)

            return next_fn

        def next_fn_uncached(token_ids, cache, index):
            buffer, encoder_token_ids, encoder_padding_mask = cache
            buffer = ops.slice_update(buffer, (0, index), token_ids)
            positions = ops.arange(buffer.shape[1])[None, :]
            written = ops.cast(positions <= index, "int32") * ops.ones_like(buffer)  # (B, T)
            logits = self(
                {
                    "encoder_token_ids": encoder_token_ids,
                    "encoder_padding_mask": encoder_padding_mask,
                    "decoder_token_ids": buffer,
                    "decoder_padding_mask": written,
                },
                training=False,
            )
            step = ops.take(logits, ops.expand_dims(index, 0), axis=1)[:, 0]  # (B, V)
            return step, (buffer, encoder_token_ids, encoder_padding_mask)

        return next_fn_uncached

    def generate_ids(
        self,
        encoder_token_ids,
        encoder_padding_mask,
        max_length=None,
        sampler="greedy",
        num_beams=4,
        length_penalty=0.0,
        use_cache=True,
    ):
        """Token ids `(B, max_length)` starting with BOS; see `generate`."""
        max_length = self.checked_max_length(max_length)
        encoder_token_ids = ops.convert_to_tensor(encoder_token_ids, "int32")
        encoder_padding_mask = ops.convert_to_tensor(encoder_padding_mask, "int32")
        batch_size = ops.shape(encoder_token_ids)[0]
        if use_cache:
            encoded = self.encode(encoder_token_ids, encoder_padding_mask)
            self_caches = self.empty_caches(batch_size, max_length)
            cache = (self_caches, self.cross_attention_caches(encoded), encoder_padding_mask)
        else:  # the whole decoder input, rerun at every step
            buffer = self.start_tokens(batch_size, self.target_length)
            cache = (buffer, encoder_token_ids, encoder_padding_mask)
        next_fn = self._generation_rules(self._next_fn(use_cache), max_length)
        return self.decode_from_bos(next_fn, cache, batch_size, max_length, sampler, num_beams, length_penalty)
