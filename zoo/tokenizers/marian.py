"""Marian (opus-mt) tokenization inside the graph: a SentencePiece model's pieces -> `vocab.json` ids.

An opus-mt checkpoint holds `source.spm`, `target.spm` and `vocab.json`.
The model's ids are not the SentencePiece ids: `vocab.json` maps every
piece (of both models, usually) to the id of the embedding row, and a
piece it lacks becomes `<unk>`. As transformers' `MarianTokenizer` does:

- the special tokens of `vocab.json` (`</s>`, `<unk>`, `<pad>`) written in
  a text are matched whole and become their ids; each text between them is
  tokenized on its own (so each gets SentencePiece's leading `▁`);
- a segment that starts with a language code `>>xx<<` (multilingual
  targets) keeps the code as one token, then tokenizes the rest;
- decoding drops the special tokens, joins the pieces, turns `▁` into a
  space and strips the ends (no SentencePiece call: the pieces are text).

tensorflow-text's `SentencepieceTokenizer` runs the `sentencepiece`
library itself, with the model's normalization (nmt_nfkc), so the pieces
are the library's. TensorFlow ops only, so the layer runs in SavedModels.
"""

import base64
import re

import keras
import tensorflow as tf

from zoo._keras_compat import accept_string_inputs

SPECIAL_TOKENS = ("</s>", "<unk>", "<pad>")
LANGUAGE_CODE = r"^>>(?s:.*?)<<"
WORD_BOUNDARY = "\u2581"  # SentencePiece's ▁


@keras.saving.register_keras_serializable(package="zoo")
class MarianTokenizer(keras.layers.Layer):
    """Strings <-> Marian model ids: one side's SentencePiece model and the checkpoint's `vocab.json`.

    Args:
        model: the side's serialized SentencePiece model (`source.spm` or
            `target.spm`; bytes, or base64 text in a saved config).
        vocabulary: dict piece -> model id (`vocab.json`), with `<unk>`.
        special_tokens: the tokens matched whole in text (each in
            `vocabulary`); default `</s>`, `<unk>`, `<pad>` where present.

    Example:
    >>> tokenizer = MarianTokenizer(source_spm_bytes, json.load(open("vocab.json")))
    >>> tokenizer.tokenize(["Could not open file %s"])  # ragged ids, no EOS
    """

    def __init__(self, model, vocabulary, special_tokens=None, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)
        self.model = model if isinstance(model, bytes) else base64.b64decode(model)
        self.vocabulary = {str(piece): int(index) for piece, index in dict(vocabulary).items()}
        if "<unk>" not in self.vocabulary:
            raise ValueError("a Marian vocabulary needs '<unk>'; vocab.json lacks it")
        if special_tokens is None:
            special_tokens = [token for token in SPECIAL_TOKENS if token in self.vocabulary]
        self.special_tokens = [str(token) for token in special_tokens]
        missing = [token for token in self.special_tokens if token not in self.vocabulary]
        if missing:
            raise ValueError(f"special tokens {missing} are not in the vocabulary")
        self.unk_id = self.vocabulary["<unk>"]
        self._special_pattern = "|".join(re.escape(token) for token in sorted(self.special_tokens, key=len)[::-1])
        self._build_tables()
        self.built = True

    def _build_tables(self):
        import tensorflow_text as tf_text

        self._tokenizer = tf_text.SentencepieceTokenizer(model=self.model, out_type=tf.string)
        pieces = tf.constant(list(self.vocabulary), tf.string)
        ids = tf.constant(list(self.vocabulary.values()), tf.int32)
        self._piece_to_id = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(pieces, ids), self.unk_id)
        self._id_to_piece = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(ids, pieces), "")

    @property
    def saved_model_resources(self):
        """The tokenizer op's model and the lookup tables, which SavedModel exports must track."""
        return [self._tokenizer, self._piece_to_id, self._id_to_piece]

    @property
    def vocabulary_size(self):
        """One more than the largest id."""
        return max(self.vocabulary.values()) + 1

    def _pieces(self, texts):
        """SentencePiece pieces of each text, ragged `(B, None)`; rebuilt once if TensorFlow dropped the model."""
        try:
            return self._tokenizer.tokenize(texts)
        except tf.errors.NotFoundError:  # tf.random.set_seed clears the op's resource (see SentencePiecePreprocessor)
            if not tf.executing_eagerly():
                raise
            self._build_tables()
            return self._tokenizer.tokenize(texts)

    def tokenize(self, texts):
        """Model ids of each text, ragged `(B, None)` int32, no EOS added."""
        import tensorflow_text as tf_text

        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            texts = texts[tf.newaxis]
        segments = tf_text.regex_split(texts, self._special_pattern, self._special_pattern)  # (B, None)
        flat = segments.flat_values
        special = tf.strings.regex_full_match(flat, self._special_pattern)
        has_code = tf.logical_and(tf.logical_not(special), tf.strings.regex_full_match(flat, LANGUAGE_CODE + "(?s:.*)"))
        rest = tf.where(has_code, tf.strings.regex_replace(flat, LANGUAGE_CODE, "", replace_global=False), flat)
        pieces = self._pieces(tf.where(special, "", rest))  # (S, None), empty for special segments
        ids = tf.ragged.map_flat_values(self._piece_to_id.lookup, pieces)
        code = tf.strings.regex_replace(flat, "(" + LANGUAGE_CODE + r")(?s:.*)", r"\1")  # the code, or the special
        first = tf.RaggedTensor.from_row_lengths(
            self._piece_to_id.lookup(tf.boolean_mask(code, special | has_code)),
            tf.cast(special | has_code, tf.int64),
        )  # a special token or a language code: one id before the pieces
        ids = tf.concat([first, ids], axis=1)
        return tf.RaggedTensor.from_row_splits(ids.flat_values, tf.gather(ids.row_splits, segments.row_splits))

    def detokenize(self, token_ids):
        """Ids `(B, T)` -> text `(B,)`: special tokens dropped, pieces joined, `▁` as spaces, ends stripped."""
        token_ids = tf.convert_to_tensor(token_ids, dtype=tf.int32)
        drop = tf.constant([self.vocabulary[token] for token in self.special_tokens] or [-1], tf.int32)
        keep = tf.reduce_all(tf.not_equal(token_ids[..., tf.newaxis], drop), axis=-1)
        pieces = tf.ragged.map_flat_values(self._id_to_piece.lookup, tf.ragged.boolean_mask(token_ids, keep))
        text = tf.strings.reduce_join(pieces, axis=-1)
        return tf.strings.strip(tf.strings.regex_replace(text, WORD_BOUNDARY, " "))

    def call(self, texts):
        return self.tokenize(texts)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "model": base64.b64encode(self.model).decode("ascii"),
                "vocabulary": self.vocabulary,
                "special_tokens": self.special_tokens,
            }
        )
        return config
