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

from zoo._keras_compat import keras_hub_byte_pair_pieces
from zoo.tokenizers.checkpoint_preprocessor import CheckpointPreprocessor
from zoo.tokenizers.preprocessor import valid_utf8

WHITESPACE = r"\t\n\x{0B}\f\r\x{85}\p{Z}"  # Unicode White_Space
# \p{L} and \p{N} as Oniguruma's Unicode 16 tables read them: RE2's tables (an older Unicode) lack the
# letters and digits of the scripts added since (found by tests/tokenizers/test_parity.py's code-point sweep).
LETTER = (
    r"\p{L}"
    r"\x{1C89}-\x{1C8A}\x{A7CB}-\x{A7CD}\x{A7DA}-\x{A7DC}\x{105C0}-\x{105F3}\x{10D4A}-\x{10D65}"
    r"\x{10D6F}-\x{10D85}\x{10EC2}-\x{10EC4}\x{11380}-\x{11389}\x{1138B}\x{1138E}\x{11390}-\x{113B5}"
    r"\x{113B7}\x{113D1}\x{113D3}\x{11BC0}-\x{11BE0}\x{13460}-\x{143FA}\x{16100}-\x{1611D}\x{16D40}-"
    r"\x{16D6C}\x{18CFF}\x{1E5D0}-\x{1E5ED}\x{1E5F0}\x{2EBF0}-\x{2EE5D}"
)
NUMBER = (
    r"\p{N}"
    r"\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{16130}-\x{16139}\x{16D70}-\x{16D79}"
    r"\x{1CCF0}-\x{1CCF9}\x{1E5F1}-\x{1E5FA}"
)
# The checkpoints' split regexes, each without its `\s+(?!\S)` alternative, and whether the regex's
# `\s*[\r\n]+` alternative keeps a whitespace run up to its last line break whole.
PRETOKENIZERS = {
    # GPT-2 (and tokenizers' ByteLevel(use_regex=True)).
    "gpt2": (
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{LETTER}]+| ?[{NUMBER}]+| ?[^{WHITESPACE}{LETTER}{NUMBER}]+|[{WHITESPACE}]+",
        False,
    ),
    # Llama-3: digits in groups of up to three, case-insensitive contractions.
    "llama3": (
        rf"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n{LETTER}{NUMBER}]?[{LETTER}]+|[{NUMBER}]{{1,3}}"
        rf"| ?[^{WHITESPACE}{LETTER}{NUMBER}]+[\r\n]*|[{WHITESPACE}]*[\r\n]+|[{WHITESPACE}]+",
        True,
    ),
    # Qwen2: as Llama-3 with single digits.
    "qwen2": (
        rf"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n{LETTER}{NUMBER}]?[{LETTER}]+|[{NUMBER}]"
        rf"| ?[^{WHITESPACE}{LETTER}{NUMBER}]+[\r\n]*|[{WHITESPACE}]*[\r\n]+|[{WHITESPACE}]+",
        True,
    ),
}
# SmolLM's Digits pre-tokenizer: one piece per character that Rust's `char::is_numeric` calls numeric
# (Nd, Nl, No; Unicode 17): NUMBER plus two more scripts' digits.
DIGIT = rf"[{NUMBER}\x{{11DE0}}-\x{{11DE9}}\x{{16FF4}}-\x{{16FF6}}]"
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


def regex_split(texts, pattern):
    """`tf_text.regex_split(texts, pattern, pattern)` -> `(pieces, ends)` ragged `(B, None)`, read past NUL bytes.

    tensorflow-text's split stops at a text's first NUL byte (the rest is
    lost); the split runs on a copy with NUL read as U+0001 (which every
    pattern here treats alike) and the pieces are cut from the original.
    """
    import tensorflow_text as tf_text

    _, begins, ends = tf_text.regex_split_with_offsets(
        tf.strings.regex_replace(texts, r"\x00", "\x01"), pattern, pattern
    )
    pieces = tf.strings.substr(
        tf.gather(texts, begins.value_rowids()), begins.flat_values, ends.flat_values - begins.flat_values
    )
    return begins.with_flat_values(pieces), ends


def pretokenize(texts, pretokenizer="gpt2"):
    """Strings `(B,)` -> ragged words `(B, None)`, the words of the checkpoint's split regex.

    Args:
        texts: a `tf.string` tensor `(B,)`.
        pretokenizer: a key of `PRETOKENIZERS` or `DIGIT_SPLIT`.

    Returns:
        A ragged `tf.string` tensor `(B, None)`; joined, each row is its text.
    """
    if pretokenizer in DIGIT_SPLIT:  # every digit alone, then the regex over each stretch between digits
        stretches, _ = regex_split(texts, DIGIT)  # (B, None)
        words = pretokenize(stretches.flat_values, DIGIT_SPLIT[pretokenizer])  # (S, None)
        return tf.RaggedTensor.from_row_splits(words.flat_values, tf.gather(words.row_splits, stretches.row_splits))

    pattern, newline_runs = PRETOKENIZERS[pretokenizer]
    total = tf.cast(tf.strings.length(texts), tf.int64)  # (B,) bytes
    runs, ends = regex_split(texts, f"[{WHITESPACE}]+")
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
    words, _ = regex_split(segments, pattern)  # (segments, None)
    return tf.RaggedTensor.from_row_splits(words.flat_values, tf.gather(words.row_splits, starts.row_splits))


@keras.saving.register_keras_serializable(package="zoo")
class BytePairPreprocessor(CheckpointPreprocessor):
    """Raw strings <-> byte-level BPE ids of a checkpoint, all in TensorFlow ops.

    The interface of `CheckpointPreprocessor` (`cls_id` is `None` where the
    checkpoint adds no BOS: GPT-2, Qwen2, SmolLM). Special tokens
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
        if pretokenizer not in PRETOKENIZERS and pretokenizer not in DIGIT_SPLIT:
            names = sorted([*PRETOKENIZERS, *DIGIT_SPLIT])
            raise ValueError(f"pretokenizer must be one of {names}. Received: {pretokenizer!r}")
        super().__init__(sequence_length, bos_token, eos_token, pad_token, add_bos, **kwargs)
        self.vocabulary = {str(token): int(index) for token, index in dict(vocabulary).items()}
        self.merges = [" ".join(merge) if isinstance(merge, (list, tuple)) else str(merge) for merge in merges]
        self.pretokenizer = pretokenizer
        self.special_tokens = [str(token) for token in special_tokens]
        missing = [token for token in self.special_tokens if token not in self.vocabulary]
        if missing:
            raise ValueError(f"special tokens {missing[:3]} are not in the vocabulary")
        if normalization not in (None, "NFC"):
            raise ValueError(f"normalization must be None or 'NFC'. Received: normalization={normalization!r}")
        self.normalization = normalization
        self._set_special_ids(self.vocabulary, "in the vocabulary")
        self._pieces = keras_hub_byte_pair_pieces(self.vocabulary, self.merges)
        specials = sorted(self.special_tokens, key=len, reverse=True)  # the longest match first
        self._special_pattern = "|".join(re.escape(token) for token in specials) or None
        self.built = True

    @property
    def saved_model_resources(self):
        """The lookup tables SavedModel exports must track (see `zoo.export.archive`)."""
        return [self._pieces]

    @property
    def vocabulary_size(self):
        """One more than the largest id (ids may have gaps)."""
        return max(self.vocabulary.values()) + 1

    def _tokenize(self, texts):
        import tensorflow_text as tf_text

        if self.normalization is not None:
            texts = tf_text.normalize_utf8(texts, self.normalization)
        if self._special_pattern is None:
            return self._encode(texts)
        segments, _ = regex_split(texts, self._special_pattern)  # (B, None)
        flat = segments.flat_values
        special = tf.strings.regex_full_match(flat, self._special_pattern)
        ordinary = self._encode(tf.where(special, "", flat))  # (S, None), empty rows for special segments
        special_ids = self._pieces.token_to_id(tf.boolean_mask(flat, special))
        special_rows = tf.RaggedTensor.from_row_lengths(tf.cast(special_ids, tf.int32), tf.cast(special, tf.int64))
        ids = tf.concat([ordinary, special_rows], axis=1)  # each row holds one of the two
        return tf.RaggedTensor.from_row_splits(ids.flat_values, tf.gather(ids.row_splits, segments.row_splits))

    def _encode(self, texts):
        words = pretokenize(texts, self.pretokenizer)  # (B, None)
        unique, index = tf.unique(words.flat_values)  # each distinct word merged once
        merged = tf.gather(self._pieces.merge(unique), index)  # (W, None) BPE tokens
        ids = tf.cast(self._pieces.token_to_id(merged.flat_values), tf.int32)
        return tf.RaggedTensor.from_row_splits(ids, tf.gather(merged.row_splits, words.row_splits))

    def _detokenize(self, token_ids):
        # Ids may end inside a character (a cut, or a model's odd output): U+FFFD as Hugging Face decodes it.
        return valid_utf8(self._pieces.detokenize(token_ids))

    def _dropped_ids(self):
        return [self.vocabulary[token] for token in self.special_tokens] + [self.pad_id]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "merges": self.merges,
                "pretokenizer": self.pretokenizer,
                "special_tokens": self.special_tokens,
                "normalization": self.normalization,
            }
        )
        return config
