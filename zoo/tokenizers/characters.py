"""Character-level tokenization (char-RNN / nanoGPT style), in TensorFlow ops."""

import collections

import keras
import tensorflow as tf

from zoo._keras_compat import accept_string_inputs
from zoo.tokenizers.preprocessor import pack_pieces, pack_prompts, string_batch, unpack_generated
from zoo.tokenizers.vocabulary import SPECIAL_TOKENS, load_vocabulary, save_vocabulary

PAD, UNK, CLS, SEP = SPECIAL_TOKENS[:4]


def train_characters(texts, *, max_size=None, min_frequency=1):
    """A character vocabulary: the special tokens, then characters by falling frequency.

    Ties are broken by code point, so the same texts give the same
    vocabulary. Characters rarer than `min_frequency`, or beyond `max_size`
    entries, map to `[UNK]`.
    """
    counts = collections.Counter()
    for text in texts:
        counts.update(text)
    if not counts:
        raise ValueError("train_characters needs at least one non-empty text")
    specials = list(SPECIAL_TOKENS)
    characters = sorted(
        (c for c, n in counts.items() if n >= min_frequency and c not in specials), key=lambda c: (-counts[c], c)
    )
    vocabulary = specials + characters
    return vocabulary if max_size is None else vocabulary[:max_size]


@keras.saving.register_keras_serializable(package="zoo")
class CharacterPreprocessor(keras.layers.Layer):
    """Raw strings <-> one token per Unicode character, with the special tokens of `TextPreprocessor`.

    Same interface as `TextPreprocessor` (`tokenize`, `detokenize`, `call`
    packing `[CLS] ... [SEP]`, `vocabulary_size`, `pad_id`/`cls_id`/`sep_id`),
    so `CausalLM` (and the other task models) take either. Characters not in
    the vocabulary become `[UNK]`; nothing is normalized or lowercased.
    Special tokens in the vocabulary are matched as whole entries only (the
    text "[PAD]" is five characters).

    Args:
        vocabulary: list of entries (special tokens, then single characters),
            or the path of a one-entry-per-line file (see `train_characters`).
        sequence_length: int >= 3, length of `call`'s packed rows.
    """

    def __init__(self, vocabulary, sequence_length, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)
        if not isinstance(sequence_length, int) or sequence_length < 3:
            raise ValueError(f"sequence_length must be an integer >= 3. Received: sequence_length={sequence_length!r}")
        if isinstance(vocabulary, str) or hasattr(vocabulary, "__fspath__"):
            vocabulary = _load_characters(vocabulary)  # a file written by save_characters
        self.vocabulary = [str(entry) for entry in vocabulary]
        missing = [token for token in (PAD, UNK, CLS, SEP) if token not in self.vocabulary]
        if missing:
            raise ValueError(f"the vocabulary lacks the special tokens {missing}")
        long_entries = [entry for entry in self.vocabulary if len(entry) != 1 and entry not in SPECIAL_TOKENS]
        if long_entries:
            raise ValueError(f"a character vocabulary holds single characters; got {long_entries[:3]}")
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError("the character vocabulary has duplicate entries")
        self.sequence_length = sequence_length
        self.pad_id = self.vocabulary.index(PAD)
        self.unk_id = self.vocabulary.index(UNK)
        self.cls_id = self.vocabulary.index(CLS)
        self.sep_id = self.vocabulary.index(SEP)
        # Code point -> id by binary search over sorted constants (no lookup-table resource, which
        # would drag TF-only ops into every export of a model holding this layer).
        characters = sorted(
            (ord(entry), index) for index, entry in enumerate(self.vocabulary) if entry not in SPECIAL_TOKENS
        )
        self._codes = tf.constant([code for code, _ in characters] or [-1], tf.int32)
        self._ids = tf.constant([index for _, index in characters] or [self.unk_id], tf.int32)
        self._strings = tf.constant(["" if entry in (PAD, CLS, SEP) else entry for entry in self.vocabulary], tf.string)
        self.built = True

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def tokenize(self, texts):
        """Character ids of each text as a ragged `(B, None)` int32 tensor, no special tokens."""
        codes = tf.strings.unicode_decode(
            string_batch(texts), "UTF-8", errors="replace"
        )  # ragged (B, None) code points
        return tf.ragged.map_flat_values(self._lookup, codes)

    def _lookup(self, codes):
        position = tf.minimum(tf.searchsorted(self._codes, codes), tf.size(self._codes) - 1)
        found = tf.gather(self._codes, position) == codes
        return tf.where(found, tf.gather(self._ids, position), self.unk_id)

    def detokenize(self, token_ids):
        """Ids `(B, T)` -> strings (`[PAD]`, `[CLS]`, `[SEP]` dropped; `[UNK]` kept as "[UNK]")."""
        token_ids = tf.convert_to_tensor(token_ids, dtype=tf.int32)
        return tf.strings.reduce_join(tf.gather(self._strings, token_ids), axis=-1)

    def call(self, texts):
        return pack_pieces(self.tokenize(texts), self.sequence_length, self.cls_id, self.sep_id, self.pad_id)

    def generate_preprocess(self, texts, width):
        """Prompts for generation: `[CLS]` (BOS) + pieces, no `[SEP]`, right-padded to `width`.

        See `pack_prompts`; returns `(token_ids, padding_mask)` int32 `(B, width)`.
        """
        return pack_prompts(self.tokenize(texts), width, self.cls_id, self.pad_id)

    def generate_postprocess(self, token_ids, end_token_id=None, pad_token_id=None, strip=True):
        """Generated ids `(B, T)` -> a `tf.string` tensor `(B,)`, cut at the first end token.

        See `unpack_generated`; the ids default to this layer's `sep_id` and `pad_id`.
        """
        end_token_id = self.sep_id if end_token_id is None else end_token_id
        pad_token_id = self.pad_id if pad_token_id is None else pad_token_id
        return unpack_generated(self.detokenize, token_ids, end_token_id, pad_token_id, strip)

    def compute_output_spec(self, texts):
        spec = keras.KerasTensor((None, self.sequence_length), dtype="int32")
        return {"token_ids": spec, "padding_mask": spec}

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary": self.vocabulary, "sequence_length": self.sequence_length})
        return config


_ESCAPES = {"\n": "\\n", "\r": "\\r"}  # line breaks as two-character escapes (no entry is 2 characters)


def save_characters(vocabulary, path):
    """Write a character vocabulary one entry per line, with newline and carriage return escaped."""
    save_vocabulary([_ESCAPES.get(entry, entry) for entry in vocabulary], path)


def _load_characters(path):
    unescape = {escaped: character for character, escaped in _ESCAPES.items()}
    return [unescape.get(entry, entry) for entry in load_vocabulary(path)]
