"""`CheckpointPreprocessor`: what the layers of a checkpoint's own tokenizer share (byte-level BPE, SentencePiece)."""

import keras

from zoo._keras_compat import accept_string_inputs
from zoo.tokenizers.preprocessor import (
    drop_ids,
    pack_prompts,
    start_empty_prompts,
    string_batch,
    unpack_generated,
    valid_utf8,
)


class CheckpointPreprocessor(keras.layers.Layer):
    """Raw strings <-> a checkpoint tokenizer's ids, with its BOS/EOS/PAD, in TensorFlow ops.

    The interface of `TextPreprocessor` that `CausalLM` uses: `tokenize`,
    `detokenize`, `generate_preprocess`, `generate_postprocess`,
    `vocabulary_size`, `cls_id` (BOS, or `None` when the checkpoint adds
    none), `sep_id` (EOS) and `pad_id` (PAD, else EOS, else 0). Text that is
    not valid UTF-8 is read as Python's and Rust's lossy decoding do (one
    U+FFFD per maximal invalid subsequence), the text a Hugging Face
    tokenizer would be handed.

    A subclass checks and builds its own tables, then calls
    `_set_special_ids(ids, what)`, and implements `_tokenize` (valid UTF-8
    `(B,)` -> ragged int32 ids `(B, None)`), `_detokenize` (ragged ids ->
    `(B,)` text) and `_dropped_ids` (ids that decoding leaves out).

    Args:
        sequence_length: int >= 2, the longest row of `call`.
        bos_token, eos_token, pad_token: optional special tokens.
        add_bos: bool, whether prompts start with `bos_token`.
    """

    def __init__(self, sequence_length, bos_token=None, eos_token=None, pad_token=None, add_bos=False, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)
        if not isinstance(sequence_length, int) or sequence_length < 2:
            raise ValueError(f"sequence_length must be an integer >= 2. Received: sequence_length={sequence_length!r}")
        self.sequence_length = sequence_length
        self.bos_token, self.eos_token, self.pad_token, self.add_bos = bos_token, eos_token, pad_token, add_bos

    def _set_special_ids(self, ids, what):
        """`cls_id`, `sep_id`, `pad_id` from `ids` (token -> id); `what` names the table in errors."""
        for name in ("bos_token", "eos_token", "pad_token"):
            token = getattr(self, name)
            if token is not None and token not in ids:
                raise ValueError(f"{name} {token!r} is not {what}")
        if self.add_bos and self.bos_token is None:
            raise ValueError("add_bos=True needs a bos_token")
        self.cls_id = ids[self.bos_token] if self.add_bos else None
        self.sep_id = None if self.eos_token is None else ids[self.eos_token]
        pad = self.pad_token if self.pad_token is not None else self.eos_token
        self.pad_id = 0 if pad is None else ids[pad]

    def tokenize(self, texts):
        """Ids of each text, ragged `(B, None)` int32, no BOS/EOS added."""
        return self._tokenize(valid_utf8(string_batch(texts)))

    def detokenize(self, token_ids):
        """Ids `(B, T)` -> text `(B,)`, special tokens and padding dropped."""
        return self._detokenize(drop_ids(token_ids, self._dropped_ids()))

    def call(self, texts):
        """`{"token_ids", "padding_mask"}` `(B, sequence_length)`: [BOS] ids, right-padded, truncated."""
        token_ids, padding_mask = self.generate_preprocess(texts, self.sequence_length)
        return {"token_ids": token_ids, "padding_mask": padding_mask}

    def generate_preprocess(self, texts, width):
        """Prompts: `[BOS]` (when the checkpoint adds one) + ids, right-padded to `width`; long ones keep their end.

        Without a BOS, an empty text becomes the end-of-text token (see `start_empty_prompts`).
        """
        token_ids, padding_mask = pack_prompts(self.tokenize(texts), width, self.cls_id, self.pad_id)
        if self.cls_id is None and self.sep_id is not None:  # an empty text starts from end-of-text
            token_ids, padding_mask = start_empty_prompts(token_ids, padding_mask, self.sep_id)
        return token_ids, padding_mask

    def generate_postprocess(self, token_ids, end_token_id=None, pad_token_id=None, strip=True):
        """Generated ids `(B, T)` -> `tf.string` `(B,)`, cut at the first end token."""
        end_token_id = self.sep_id if end_token_id is None else end_token_id
        pad_token_id = self.pad_id if pad_token_id is None else pad_token_id
        end_token_id = -1 if end_token_id is None else end_token_id
        return unpack_generated(self.detokenize, token_ids, end_token_id, pad_token_id, strip)

    def compute_output_spec(self, texts):
        spec = keras.KerasTensor((None, self.sequence_length), dtype="int32")
        return {"token_ids": spec, "padding_mask": spec}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "bos_token": self.bos_token,
                "eos_token": self.eos_token,
                "pad_token": self.pad_token,
                "add_bos": self.add_bos,
            }
        )
        return config

    def _tokenize(self, texts):
        raise NotImplementedError

    def _detokenize(self, token_ids):
        raise NotImplementedError

    def _dropped_ids(self):
        raise NotImplementedError
