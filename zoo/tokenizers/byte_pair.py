"""Byte-level BPE (GPT-2, Llama-3, Qwen2, SmolLM) inside the graph, exact to Hugging Face `tokenizers`.

Byte-level BPE has three steps: pre-tokenization (a regex splits text into
words), a byte-to-character map (every UTF-8 byte becomes one printable
character, so any text is covered) and the merges (the lowest-ranked
adjacent pair is merged until none applies). The last two are keras-hub's
`BytePairTokenizer` pieces (its static lookup tables and its merge loop),
reached through `zoo._keras_compat`. Its pre-tokenization is not exact
(keras-hub splits `"trailing   "` into `"trailing", " ", " ", " "` where
GPT-2 keeps `"   "` one word, and it ignores the Llama-3 / Qwen2 regex).
The checkpoints' regexes hold a lookahead, `\\s+(?!\\S)`, which RE2 (the
regex engine of TensorFlow) cannot run. `pretokenize` gets the same words
without it: it cuts every whitespace run that a non-space follows before
its last character (where `\\s+(?!\\S)` ends), then splits each piece with
the regex less that alternative. `\\s` is spelled out as Unicode White_Space,
as Oniguruma (Hugging Face's engine) reads it; RE2's `\\s` is ASCII only.
SmolLM's tokenizers first isolate every digit (`Digits(individual_digits=True)`:
Rust's `char::is_numeric`, whose Unicode is newer than RE2's `\\p{N}`, hence
`DIGIT`), then split each stretch between digits with GPT-2's regex.
"""

import re

import keras
import tensorflow as tf

from zoo._keras_compat import accept_string_inputs, keras_hub_byte_pair_pieces
from zoo.tokenizers.preprocessor import pack_prompts, start_empty_prompts, unpack_generated

WHITESPACE = r"\t\n\x{0B}\f\r\x{85}\p{Z}"  # Unicode White_Space
# The checkpoints' split regexes, each without its `\s+(?!\S)` alternative, and whether the regex's
# `\s*[\r\n]+` alternative keeps a whitespace run up to its last line break whole.
PRETOKENIZERS = {
    # GPT-2 (and tokenizers' ByteLevel(use_regex=True)).
    "gpt2": (rf"'s|'t|'re|'ve|'m|'ll|'d| ?\p{{L}}+| ?\p{{N}}+| ?[^{WHITESPACE}\p{{L}}\p{{N}}]+|[{WHITESPACE}]+", False),
    # Llama-3: digits in groups of up to three, case-insensitive contractions.
    "llama3": (
        rf"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{{L}}\p{{N}}]?\p{{L}}+|\p{{N}}{{1,3}}"
        rf"| ?[^{WHITESPACE}\p{{L}}\p{{N}}]+[\r\n]*|[{WHITESPACE}]*[\r\n]+|[{WHITESPACE}]+",
        True,
    ),
    # Qwen2: as Llama-3 with single digits.
    "qwen2": (
        rf"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{{L}}\p{{N}}]?\p{{L}}+|\p{{N}}"
        rf"| ?[^{WHITESPACE}\p{{L}}\p{{N}}]+[\r\n]*|[{WHITESPACE}]*[\r\n]+|[{WHITESPACE}]+",
        True,
    ),
}
# SmolLM's Digits pre-tokenizer: one piece per character that Rust's `char::is_numeric` calls numeric
# (Nd, Nl, No): RE2's \p{N} plus the digits of Unicode 16-17 scripts, which RE2's tables predate.
DIGIT = (
    r"[\p{N}\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{11DE0}-\x{11DE9}\x{16130}-\x{16139}"
    r"\x{16D70}-\x{16D79}\x{16FF4}-\x{16FF6}\x{1CCF0}-\x{1CCF9}\x{1E5F1}-\x{1E5FA}]"
)
# Pre-tokenizers made of a digit split before another one's regex.
DIGIT_SPLIT = {"smollm": "gpt2"}  # SmolLM / SmolLM2: Sequence[Digits(individual_digits=True), ByteLevel]
# The regexes as they appear in tokenizer.json files (`\s` written as is), for recognizing them.
_LLAMA3_HEAD = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
_LLAMA3_TAIL = r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
HUGGING_FACE_REGEXES = {
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+": "gpt2",
    _LLAMA3_HEAD + r"\p{N}{1,3}" + _LLAMA3_TAIL: "llama3",
    _LLAMA3_HEAD + r"\p{N}" + _LLAMA3_TAIL: "qwen2",
}


def pretokenize(texts, pretokenizer="gpt2"):
    """Strings `(B,)` -> ragged words `(B, None)`, the words of the checkpoint's split regex.

    Args:
        texts: a `tf.string` tensor `(B,)`.
        pretokenizer: a key of `PRETOKENIZERS` or `DIGIT_SPLIT`.

    Returns:
        A ragged `tf.string` tensor `(B, None)`; joined, each row is its text.
    """
    import tensorflow_text as tf_text

    if pretokenizer in DIGIT_SPLIT:  # every digit alone, then the regex over each stretch between digits
        stretches = tf_text.regex_split(texts, DIGIT, DIGIT)  # (B, None)
        words = pretokenize(stretches.flat_values, DIGIT_SPLIT[pretokenizer])  # (S, None)
        return tf.RaggedTensor.from_row_splits(words.flat_values, tf.gather(words.row_splits, stretches.row_splits))

    pattern, newline_runs = PRETOKENIZERS[pretokenizer]
    total = tf.cast(tf.strings.length(texts), tf.int64)  # (B,) bytes
    runs, _, ends = tf_text.regex_split_with_offsets(texts, f"[{WHITESPACE}]+", f"[{WHITESPACE}]+")
    row = runs.value_rowids()
    pieces, ends = runs.flat_values, ends.flat_values
    is_run = tf.strings.regex_full_match(pieces, f"[{WHITESPACE}]+")
    # The part of a run that `\s+(?!\S)` sees: all of it, or what follows its last line break.
    tail = tf.strings.regex_replace(pieces, r"(?s)^.*[\r\n]", "") if newline_runs else pieces
    tail_length = tf.strings.length(tail, unit="UTF8_CHAR")
    last = tf.strings.substr(tail, tf.maximum(tail_length - 1, 0), tf.ones_like(tail_length), unit="UTF8_CHAR")
    cut = is_run & (tail_length >= 2) & (ends < tf.gather(total, row))  # a run that a non-space follows
    cuts = tf.RaggedTensor.from_value_rowids(
        tf.boolean_mask(ends - tf.cast(tf.strings.length(last), tf.int64), cut),
        tf.boolean_mask(row, cut),
        nrows=tf.shape(texts, out_type=tf.int64)[0],
    )
    starts = tf.concat([tf.RaggedTensor.from_tensor(tf.zeros_like(total)[:, None]), cuts], axis=1)
    stops = tf.concat([cuts, tf.RaggedTensor.from_tensor(total[:, None])], axis=1)
    segments = tf.strings.substr(
        tf.gather(texts, starts.value_rowids()), starts.flat_values, stops.flat_values - starts.flat_values
    )
    words = tf_text.regex_split(segments, pattern, pattern)  # (segments, None)
    return tf.RaggedTensor.from_row_splits(words.flat_values, tf.gather(words.row_splits, starts.row_splits))


@keras.saving.register_keras_serializable(package="zoo")
class BytePairPreprocessor(keras.layers.Layer):
    """Raw strings <-> byte-level BPE ids of a checkpoint, all in TensorFlow ops.

    The interface of `TextPreprocessor` that `CausalLM` uses: `tokenize`,
    `detokenize`, `generate_preprocess`, `generate_postprocess`,
    `vocabulary_size`, `cls_id` (BOS, or `None` when the checkpoint adds
    none: GPT-2, Qwen2), `sep_id` (EOS) and `pad_id`. Special tokens
    (`<|endoftext|>`, `<|im_start|>`, ...) written in a text are matched
    whole and become their ids, as Hugging Face tokenizers do. The layer's
    config holds the vocabulary and merges, so `.keras` files carry it.

    Args:
        vocabulary: dict token -> id (`vocab.json`, or tokenizer.json's
            `model.vocab`), special tokens included.
        merges: list of `"a b"` merge rules, in rank order.
        sequence_length: int >= 2, the longest row of `call`.
        pretokenizer: `"gpt2"`, `"llama3"`, `"qwen2"` (see `PRETOKENIZERS`) or
            `"smollm"` (digits split first, see `DIGIT_SPLIT`).
        special_tokens: tokens matched whole in text (each in `vocabulary`).
        bos_token, eos_token, pad_token: optional special tokens.
        add_bos: bool, whether prompts start with `bos_token`.
        normalization: `None` or `"NFC"` (Qwen2's tokenizer.json normalizer).

    Example:
    >>> preprocessor = load_checkpoint_tokenizer("path/to/gpt2", sequence_length=128)
    >>> preprocessor.tokenize(["Hello world"])  # ragged ids
    """

    def __init__(
        self,
        vocabulary,
        merges,
        sequence_length,
        pretokenizer="gpt2",
        special_tokens=(),
        bos_token=None,
        eos_token=None,
        pad_token=None,
        add_bos=False,
        normalization=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)
        if pretokenizer not in PRETOKENIZERS and pretokenizer not in DIGIT_SPLIT:
            names = sorted([*PRETOKENIZERS, *DIGIT_SPLIT])
            raise ValueError(f"pretokenizer must be one of {names}. Received: {pretokenizer!r}")
        if not isinstance(sequence_length, int) or sequence_length < 2:
            raise ValueError(f"sequence_length must be an integer >= 2. Received: sequence_length={sequence_length!r}")
        self.vocabulary = {str(token): int(index) for token, index in dict(vocabulary).items()}
        self.merges = [" ".join(merge) if isinstance(merge, (list, tuple)) else str(merge) for merge in merges]
        self.sequence_length, self.pretokenizer = sequence_length, pretokenizer
        self.special_tokens = [str(token) for token in special_tokens]
        self.bos_token, self.eos_token, self.pad_token, self.add_bos = bos_token, eos_token, pad_token, add_bos
        for name in ("bos_token", "eos_token", "pad_token"):
            token = getattr(self, name)
            if token is not None and token not in self.vocabulary:
                raise ValueError(f"{name} {token!r} is not in the vocabulary")
        missing = [token for token in self.special_tokens if token not in self.vocabulary]
        if missing:
            raise ValueError(f"special tokens {missing[:3]} are not in the vocabulary")
        if normalization not in (None, "NFC"):
            raise ValueError(f"normalization must be None or 'NFC'. Received: normalization={normalization!r}")
        self.normalization = normalization
        if add_bos and bos_token is None:
            raise ValueError("add_bos=True needs a bos_token")
        self.cls_id = self.vocabulary[bos_token] if add_bos else None
        self.sep_id = None if eos_token is None else self.vocabulary[eos_token]
        pad = pad_token if pad_token is not None else eos_token
        self.pad_id = 0 if pad is None else self.vocabulary[pad]
        self._pieces = keras_hub_byte_pair_pieces(self.vocabulary, self.merges)
        specials = sorted(self.special_tokens, key=len, reverse=True)  # the longest match first
        self._special_pattern = "|".join(re.escape(token) for token in specials) or None
        self._special_ids = tf.constant([self.vocabulary[token] for token in self.special_tokens] or [-1], tf.int32)
        self.built = True

    @property
    def saved_model_resources(self):
        """The lookup tables SavedModel exports must track (see `zoo.export.archive`)."""
        return [self._pieces]

    @property
    def vocabulary_size(self):
        """One more than the largest id (ids may have gaps)."""
        return max(self.vocabulary.values()) + 1

    def tokenize(self, texts):
        """Ids of each text as a ragged `(B, None)` int32 tensor, no BOS/EOS added."""
        import tensorflow_text as tf_text

        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            texts = texts[tf.newaxis]
        if self.normalization is not None:
            texts = tf_text.normalize_utf8(texts, self.normalization)
        if self._special_pattern is None:
            return self._encode(texts)
        segments = tf_text.regex_split(texts, self._special_pattern, self._special_pattern)  # (B, None)
        flat = segments.flat_values
        special = tf.strings.regex_full_match(flat, self._special_pattern)
        ordinary = self._encode(tf.where(special, "", flat))  # (S, None), empty rows for special segments
        special_ids = self._pieces.token_to_id(tf.boolean_mask(flat, special))
        special_rows = tf.RaggedTensor.from_row_lengths(tf.cast(special_ids, tf.int32), tf.cast(special, tf.int64))
        ids = tf.concat([ordinary, special_rows], axis=1)  # each row holds one of the two
        return tf.RaggedTensor.from_row_splits(ids.flat_values, tf.gather(ids.row_splits, segments.row_splits))

    def _encode(self, texts):
        words = pretokenize(texts, self.pretokenizer)  # (B, None)
        merged = self._pieces.merge(words.flat_values)  # (W, None) BPE tokens
        ids = tf.cast(self._pieces.token_to_id(merged.flat_values), tf.int32)
        return tf.RaggedTensor.from_row_splits(ids, tf.gather(merged.row_splits, words.row_splits))

    def detokenize(self, token_ids):
        """Ids `(B, T)` -> UTF-8 text `(B,)`, special tokens dropped, invalid bytes as U+FFFD."""
        token_ids = tf.convert_to_tensor(token_ids, dtype=tf.int32)
        drop = tf.constant([self.vocabulary[token] for token in self.special_tokens] + [self.pad_id], tf.int32)
        keep = tf.reduce_all(tf.not_equal(token_ids[..., tf.newaxis], drop), axis=-1)
        text = self._pieces.detokenize(tf.ragged.boolean_mask(token_ids, keep))
        # Ids may end inside a character (a cut, or a model's odd output): U+FFFD as Hugging Face decodes it.
        return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)

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
        return unpack_generated(
            self.detokenize, token_ids, -1 if end_token_id is None else end_token_id, pad_token_id, strip
        )

    def compute_output_spec(self, texts):
        spec = keras.KerasTensor((None, self.sequence_length), dtype="int32")
        return {"token_ids": spec, "padding_mask": spec}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "merges": self.merges,
                "sequence_length": self.sequence_length,
                "pretokenizer": self.pretokenizer,
                "special_tokens": self.special_tokens,
                "bos_token": self.bos_token,
                "eos_token": self.eos_token,
                "pad_token": self.pad_token,
                "add_bos": self.add_bos,
                "normalization": self.normalization,
            }
        )
        return config
