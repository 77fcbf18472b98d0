"""Decoder-only (GPT-style) language model with KV-cached generation."""

import keras
from keras import ops

from zoo.checkpoints.decoder import load_decoder
from zoo.generation import beam_search, get_sampler, sample_loop
from zoo.models.backbones import TransformerDecoderBackbone
from zoo.models.generative import GenerativeTask
from zoo.models.task import preset_config, upgrade_rank_arguments

# The constructor arguments of CausalLM before it took a backbone (issue 20); still read from old
# `.keras` files and taken by `from_preset`, mapped to a `TransformerDecoderBackbone`.
FLAT_ARGUMENTS = {
    "vocabulary_size": None,
    "sequence_length": None,
    "hidden_dim": 256,
    "num_layers": 4,
    "num_heads": 4,
    "intermediate_dim": 1024,
    "num_key_value_heads": None,
    "dropout": 0.1,
    "activation": "gelu",
    "position": "learned",
    "low_rank": None,
}


@keras.saving.register_keras_serializable(package="zoo")
class CausalLM(GenerativeTask):
    """A decoder-only backbone with a next-token head (Radford et al. 2018/2019), with KV-cached generation.

    Inputs are `token_ids` and `padding_mask` `(B, T)`; the output is
    next-token logits `(B, T, vocabulary_size)`: the backbone's final
    hidden states projected by `lm_head` (a `Dense`), or by the transposed
    token table when the backbone has `tie_word_embeddings` (GPT-2).
    `generate` runs the prompt through the model once (prefill, filling
    every block's KV cache), then samples token by token with the
    fixed-size cache inside one compiled loop.

    Args:
        backbone: a `zoo.models.TransformerDecoderBackbone` (every
            structural option: sizes, norms, positions, biases, grouped-query
            heads, `low_rank`, tied embeddings).
        preprocessor: optional tokenizer layer with `tokenize`, `detokenize`,
            `vocabulary_size` and special ids (`cls_id` used as BOS,
            `sep_id` as EOS, `pad_id`), so `generate` takes and returns
            strings.
        bos_token_id, end_token_id, pad_token_id: ints (taken from the
            preprocessor when given).

    Instead of a backbone, the constructor (and `from_preset`, and files
    saved before backbones) takes the flat arguments of earlier versions:
    `vocabulary_size`, `sequence_length`, `hidden_dim`, `num_layers`,
    `num_heads`, `intermediate_dim`, `num_key_value_heads`, `dropout`,
    `activation`, `position` (`"learned"` or `"rotary"`) and `low_rank`
    (see `backbone_from_arguments`); the config then holds the backbone.

    Example:
    >>> model = CausalLM.from_preset("tiny", preprocessor=preprocessor)
    >>> model.generate(["To be, or not"], max_length=64, sampler="top_p", p=0.9, seed=1)
    >>> gpt2_like = CausalLM(TransformerDecoderBackbone.from_preset("tiny_gpt2"))
    """

    layer_arguments = ("backbone", "preprocessor")
    backbone_class = TransformerDecoderBackbone
    flat_arguments = FLAT_ARGUMENTS

    def __init__(self, backbone=None, preprocessor=None, bos_token_id=2, end_token_id=3, pad_token_id=0, **kwargs):
        def build(flat):  # the sizes of earlier versions (and of their saved files)
            if preprocessor is not None:
                flat.setdefault("vocabulary_size", preprocessor.vocabulary_size)
            return self.backbone_from_arguments(**upgrade_rank_arguments(flat))

        backbone = self.checked_backbone(backbone, self.pop_flat_arguments(kwargs), build)
        if preprocessor is not None:
            # Checkpoints pad their token table (Qwen2: 151,936 rows for 151,665 tokens): every
            # tokenizer id must have a row; rows beyond the tokenizer are never produced by it.
            if preprocessor.vocabulary_size > backbone.vocabulary_size:
                raise ValueError(
                    f"the preprocessor has {preprocessor.vocabulary_size} token ids but the model's embedding "
                    f"has {backbone.vocabulary_size} rows; every id needs a row"
                )
            bos_token_id, end_token_id, pad_token_id = preprocessor.cls_id, preprocessor.sep_id, preprocessor.pad_id

        # === Head ===
        # The graph is built from the backbone's own inputs and outputs, so the model's layers are
        # the backbone's layers plus the head: the weight layout of files saved before backbones.
        lm_head = None if backbone.tie_word_embeddings else keras.layers.Dense(backbone.vocabulary_size, name="lm_head")
        hidden = backbone.output  # (B, T, D)
        logits = backbone.logits(hidden) if lm_head is None else lm_head(hidden)  # (B, T, V)
        super().__init__(inputs=backbone.input, outputs=logits, **kwargs)
        self.backbone, self.lm_head = backbone, lm_head

        # === Config ===
        self.preprocessor = preprocessor
        self.bos_token_id, self.end_token_id, self.pad_token_id = bos_token_id, end_token_id, pad_token_id

    @classmethod
    def backbone_from_arguments(cls, **arguments):
        """The `TransformerDecoderBackbone` that the flat arguments of earlier CausalLMs describe.

        Args:
            **arguments: `vocabulary_size`, `sequence_length` and optionally
                `hidden_dim`, `num_layers`, `num_heads`, `intermediate_dim`,
                `num_key_value_heads`, `dropout`, `activation`, `position`
                (`"learned"` or `"rotary"`), `low_rank`.

        Raises:
            ValueError: an unknown argument, a missing size, or another `position`.
        """
        unknown = sorted(set(arguments) - set(FLAT_ARGUMENTS))
        if unknown:
            raise ValueError(f"unknown CausalLM arguments {unknown}; expected some of {sorted(FLAT_ARGUMENTS)}")
        values = {**FLAT_ARGUMENTS, **arguments}
        if values["vocabulary_size"] is None or values["sequence_length"] is None:
            raise ValueError("CausalLM needs vocabulary_size and sequence_length (or a preprocessor)")
        position = values.pop("position")
        if position not in ("learned", "rotary"):
            raise ValueError(f"position must be 'learned' or 'rotary'. Received: position={position!r}")
        # Earlier CausalLMs were pre-LN with a final LayerNorm (epsilon 1e-5), biases everywhere.
        return TransformerDecoderBackbone(position_encoding=position, normalize_first=True, **values)

    @classmethod
    def from_checkpoint(cls, path, sequence_length=None, preprocessor="auto"):
        """A CausalLM with the weights of a Hugging Face gpt2 / llama / mistral / qwen2 checkpoint directory.

        The directory holds `config.json` and `model.safetensors` (or a
        sharded `model.safetensors.index.json`); read without PyTorch, every
        option checked (`zoo.checkpoints.decoder_config`), every tensor
        mapped or named unused (`zoo.checkpoints.decoder`).

        Args:
            path: the checkpoint directory.
            sequence_length: optional int, shorter than the checkpoint's
                `max_position_embeddings` (a smaller KV cache and position table).
            preprocessor: `"auto"` (the checkpoint's own tokenizer, from
                `tokenizer.json`, `vocab.json` + `merges.txt` or
                `tokenizer.model`, by `zoo.tokenizers.load_checkpoint_tokenizer`;
                none when the directory has no tokenizer files), `None` (token
                ids only), or a tokenizer layer.

        Returns:
            A `CausalLM`; its BOS / EOS / pad ids come from the checkpoint's
            generation_config.json / config.json (pad falls back to EOS).

        Raises:
            FileNotFoundError: a missing directory, `config.json` or weights.
            ValueError: an unsupported `model_type` or option (naming the
                key), a corrupt file, a missing or misshapen tensor, or a
                tokenizer with more ids than the embedding has rows.
        """
        checkpoint = load_decoder(path, sequence_length)
        arguments = checkpoint.backbone_arguments()
        if isinstance(preprocessor, str) and preprocessor == "auto":
            preprocessor = _checkpoint_tokenizer(checkpoint.path, arguments["sequence_length"])
        bos, eos, pad = checkpoint.special_token_ids()
        model = cls(
            TransformerDecoderBackbone(**arguments),
            preprocessor=preprocessor,
            bos_token_id=bos,
            end_token_id=eos,
            pad_token_id=0 if pad is None else pad,
        )
        if preprocessor is not None:  # the checkpoint's own ids, not the tokenizer's guesses
            model.bos_token_id, model.end_token_id = bos, eos
            model.pad_token_id = 0 if pad is None else pad
        checkpoint.assign(model)
        return model

    @classmethod
    def from_preset(cls, name, preprocessor=None, **overrides):
        """Build from a named preset (flat arguments); the vocabulary size follows the preprocessor when given."""
        config = preset_config(cls, "causal_lm", name, overrides, FLAT_ARGUMENTS)
        if preprocessor is None and "vocabulary_size" not in config:
            raise ValueError("CausalLM.from_preset needs a preprocessor or vocabulary_size")
        return cls(preprocessor=preprocessor, **config)

    # === The backbone's structure, for generation, exports and inspection ===

    vocabulary_size = property(lambda self: self.backbone.vocabulary_size)
    sequence_length = property(lambda self: self.backbone.sequence_length)
    hidden_dim = property(lambda self: self.backbone.hidden_dim)
    num_layers = property(lambda self: self.backbone.num_layers)
    num_heads = property(lambda self: self.backbone.num_heads)
    intermediate_dim = property(lambda self: self.backbone.intermediate_dim)
    num_key_value_heads = property(lambda self: self.backbone.num_key_value_heads)
    dropout = property(lambda self: self.backbone.dropout)
    activation = property(lambda self: self.backbone.activation)
    embedding = property(lambda self: self.backbone.embedding)
    decoder_layers = property(lambda self: self.backbone.decoder_layers)
    final_norm = property(lambda self: self.backbone.final_norm)
    low_rank = property(lambda self: self.backbone.low_rank)

    @property
    def position(self):
        """`"learned"`, `"sinusoidal"` or `"rotary"` (the backbone's `position_encoding`)."""
        return self.backbone.position_encoding

    # === Step-by-step decoding ===

    def empty_cache(self, batch_size, max_length):
        """Zeroed KV caches of every layer: `(B, L, 2, max_length, H_kv, D_head)`."""
        return self.backbone.empty_cache(batch_size, max_length)

    def call_with_cache(self, token_ids, cache, cache_index):
        """Logits `(B, t, V)` for `token_ids` `(B, t)` at positions `cache_index ...`, and the updated cache.

        With `t > 1` this is the prefill of a prompt chunk; with `t == 1`
        one decoding step. Keys/values are written into `cache` at
        `cache_index`; every query attends to the cache up to itself.
        """
        hidden, cache = self.backbone.call_with_cache(token_ids, cache, cache_index)
        logits = self.backbone.logits(hidden) if self.lm_head is None else self.lm_head(hidden)
        return logits, cache

    def _next_fn(self, use_cache):
        if use_cache:

            def next_fn(token_ids, cache, index):
                logits, cache = self.call_with_cache(token_ids, cache, index)
                return logits[:, 0], cache

            return next_fn

        def next_fn_uncached(token_ids, buffer, index):
            buffer = ops.slice_update(buffer, (0, index), token_ids)
            positions = ops.arange(buffer.shape[1])[None, :]
            logits = self(
                {"token_ids": buffer, "padding_mask": ops.cast(positions <= index, "int32") * ops.ones_like(buffer)},
                training=False,
            )
            return ops.take(logits, ops.expand_dims(index, 0), axis=1)[:, 0], buffer

        return next_fn_uncached

    def generate_ids(
        self,
        token_ids,
        padding_mask,
        max_length=None,
        sampler="greedy",
        num_beams=4,
        length_penalty=0.0,
        use_cache=True,
        stop_length=None,
    ):
        """Prompt ids `(B, P)` (padding on either side) -> ids `(B, max_length)`, prompts first; see `generate`.

        `stop_length` (a scalar tensor allowed, greedy/sampling only) stops
        filling after that many positions, for a length chosen at run time.
        """
        max_length = self.sequence_length if max_length is None else max_length
        token_ids = ops.convert_to_tensor(token_ids, "int32")
        padding_mask = ops.cast(ops.convert_to_tensor(padding_mask), "int32")
        prompt_width = token_ids.shape[1]
        if prompt_width is None:
            raise ValueError("generate_ids needs prompts of a static width; pad them (see generate)")
        if max_length > self.sequence_length:
            raise ValueError(
                f"max_length must be at most the model's sequence_length {self.sequence_length}. "
                f"Received: max_length={max_length}"
            )
        if prompt_width >= max_length:
            raise ValueError(
                f"max_length must be greater than the prompt width {prompt_width}. Received: max_length={max_length}"
            )
        token_ids, padding_mask = right_align(token_ids, padding_mask)
        batch_size = ops.shape(token_ids)[0]
        extra = max_length - prompt_width
        buffer = ops.concatenate(
            [
                ops.where(padding_mask > 0, token_ids, self.pad_token_id),
                ops.full((batch_size, extra), self.pad_token_id, "int32"),
            ],
            axis=1,
        )
        prompt_mask = ops.concatenate([padding_mask > 0, ops.zeros((batch_size, extra), "bool")], axis=1)
        if use_cache:
            # Prefill the whole prompt width at once. Shorter prompts' padding positions get keys and
            # values too, but the loop rewrites every position from the shortest prompt's end on
            # before any query reaches it.
            _, cache = self.call_with_cache(buffer[:, :prompt_width], self.empty_cache(batch_size, max_length), 0)
        else:
            cache = ops.concatenate(
                [buffer, ops.zeros((batch_size, self.sequence_length - max_length), "int32")], axis=1
            )
        next_fn = self._next_fn(use_cache)
        if sampler == "beam":
            token_ids, _ = beam_search(
                next_fn, buffer, prompt_mask, cache, num_beams, self.end_token_id, self.pad_token_id, length_penalty
            )
            return token_ids
        sampler = get_sampler(sampler) if isinstance(sampler, str) else sampler
        token_ids, _ = sample_loop(
            next_fn, buffer, prompt_mask, cache, sampler, self.end_token_id, self.pad_token_id, stop_length
        )
        return token_ids

    # === GenerativeTask hooks (see zoo.models.generative) ===

    generate_id_names = ("token_ids", "padding_mask")

    @property
    def generate_id_limits(self):
        return self.vocabulary_size, None

    def generate_preprocess(self, texts):
        if self.preprocessor is None:
            raise ValueError("generate() on strings needs a model built with a preprocessor")
        return self.pack_prompts(texts)

    def prepare_generate(self, token_ids, padding_mask, max_length):
        # One prompt width per max_length (one compiled function): the prompts are right-aligned
        # and padded to max_length - 1; the prefill covers that width.
        token_ids, padding_mask = self._pad_prompts(token_ids, padding_mask, max_length)
        return token_ids, padding_mask, max_length

    def strip_prompts(self, generated, padding_mask):
        lengths = ops.convert_to_numpy(ops.sum(ops.cast(padding_mask, "int32"), axis=1))
        positions = ops.convert_to_numpy(ops.arange(generated.shape[1]))[None, :]
        return ops.convert_to_numpy(ops.where(positions < lengths[:, None], self.pad_token_id, generated))

    def _pad_prompts(self, token_ids, padding_mask, max_length):
        import numpy as np

        max_length = self.sequence_length if max_length is None else max_length
        if not 2 <= max_length <= self.sequence_length:
            raise ValueError(
                f"max_length must be in [2, {self.sequence_length}] (the model's sequence_length). "
                f"Received: max_length={max_length}"
            )
        token_ids = np.asarray(ops.convert_to_numpy(token_ids), "int32")
        padding_mask = np.asarray(ops.convert_to_numpy(padding_mask), "int32")
        lengths = padding_mask.sum(axis=1)
        if token_ids.ndim != 2 or token_ids.shape != padding_mask.shape:
            raise ValueError(
                "token_ids and padding_mask must both be (batch, width). "
                f"Received: {token_ids.shape}, {padding_mask.shape}"
            )
        if (lengths < 1).any():
            raise ValueError("every prompt needs at least one token (e.g. BOS)")
        if lengths.max() >= max_length:
            raise ValueError(
                f"max_length must be greater than the longest prompt ({lengths.max()} tokens). "
                f"Received: max_length={max_length}"
            )
        aligned, mask = (ops.convert_to_numpy(x) for x in right_align(token_ids, padding_mask))
        width = max_length - 1
        if aligned.shape[1] >= width:
            return aligned[:, :width], mask[:, :width]
        pad = ((0, 0), (0, width - aligned.shape[1]))
        return np.pad(aligned, pad, constant_values=self.pad_token_id), np.pad(mask, pad)

    def pack_prompts(self, texts):
        """`[BOS] pieces...` of each prompt (no EOS), right-padded: `(token_ids, padding_mask)` NumPy `(B, P)`.

        `P` is the longest prompt; a prompt longer than `sequence_length - 1`
        keeps its end (room for one new token).
        """
        packed = self.preprocessor.generate_preprocess(texts, self.sequence_length - 1)
        token_ids, padding_mask = (ops.convert_to_numpy(x) for x in packed)
        width = int(padding_mask.sum(axis=1).max())
        return token_ids[:, :width], padding_mask[:, :width]

    def detokenize(self, token_ids):
        """Ids `(B, T)` -> strings, cut at the first EOS, special tokens removed.

        The preprocessor's `generate_postprocess` does the work (in
        TensorFlow ops, which exported graphs call directly).
        """
        if self.preprocessor is None:
            raise ValueError("detokenize needs a model built with a preprocessor")
        texts = self.preprocessor.generate_postprocess(token_ids, self.end_token_id, self.pad_token_id)
        return [text.decode("utf-8", "replace") for text in ops.convert_to_numpy(texts)]


TOKENIZER_FILES = (("tokenizer.json",), ("vocab.json", "merges.txt"), ("tokenizer.model",))


def _checkpoint_tokenizer(directory, sequence_length):
    """The checkpoint's own tokenizer via `zoo.tokenizers.load_checkpoint_tokenizer`.

    None (a token-id model) when the directory has no tokenizer files or
    this zoo has no such loader.
    """
    import zoo.tokenizers

    loader = getattr(zoo.tokenizers, "load_checkpoint_tokenizer", None)
    has_files = any(all((directory / name).is_file() for name in names) for names in TOKENIZER_FILES)
    return loader(directory, sequence_length) if loader is not None and has_files else None


def right_align(token_ids, padding_mask):
    """Move each row's real tokens to the front (left padding -> right padding), keeping their order."""
    width = ops.shape(token_ids)[1]
    positions = ops.arange(width)[None, :]
    # Real tokens sort first by position, padding after them.
    keys = ops.where(padding_mask > 0, positions, positions + width)
    order = ops.argsort(keys, axis=1)
    token_ids = ops.take_along_axis(token_ids, order, axis=1)
    padding_mask = ops.take_along_axis(padding_mask, order, axis=1)
    return token_ids, padding_mask
