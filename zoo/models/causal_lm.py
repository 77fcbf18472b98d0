"""Decoder-only (GPT-style) language model with KV-cached generation."""

import keras
from keras import ops

from zoo.checkpoints.decoder import load_decoder
from zoo.models import causal_lm_generate as generation
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
    every block's KV cache), then samples token by token inside one
    compiled function: a split per-block cache, one loop per cache-length
    bucket, so a step's cost follows the filled length, not `max_length`
    (`zoo.models.causal_lm_generate`).

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

    def empty_cache(self, batch_size, max_length, split=False):
        """Zeroed KV caches of every layer: `(B, L, 2, max_length, H_kv, D_head)` (`split`: see the backbone's)."""
        return self.backbone.empty_cache(batch_size, max_length, split=split)

    def call_with_cache(self, token_ids, cache, cache_index):
        """Logits `(B, t, V)` for `token_ids` `(B, t)` at positions `cache_index ...`, and the updated cache.

        With `t > 1` this is the prefill of a prompt chunk; with `t == 1`
        one decoding step. Keys/values are written into `cache` at
        `cache_index`; every query attends to the cache up to itself.
        """
        hidden, cache = self.backbone.call_with_cache(token_ids, cache, cache_index)
        logits = self.backbone.logits(hidden) if self.lm_head is None else self.lm_head(hidden)
        return logits, cache

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
        cache_buckets="auto",
    ):
        """Prompt ids `(B, P)` (padding on either side) -> ids `(B, max_length)`, prompts first; see `generate`.

        `stop_length` (a scalar tensor allowed, greedy/sampling only) stops
        filling after that many positions, for a length chosen at run time.
        The cached loop keeps a split KV cache and runs in cache-length
        buckets (`cache_buckets`: `"auto"` for 64, 128, 256, ..., a tuple
        of increasing lengths, or `None` for one loop over the whole
        cache); the tokens do not depend on it (see
        `zoo.models.causal_lm_generate`).
        """
        return generation.generate_ids(
            self,
            token_ids,
            padding_mask,
            max_length,
            sampler,
            num_beams,
            length_penalty,
            use_cache,
            stop_length,
            cache_buckets,
        )

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
        return generation.pad_prompts(self, token_ids, padding_mask, max_length)

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
