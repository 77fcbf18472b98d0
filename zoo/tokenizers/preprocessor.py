"""In-graph text preprocessing: normalize, tokenize (WordPiece or SentencePiece), add [CLS]/[SEP], pad."""

import base64
import pathlib

import keras
import tensorflow as tf

from zoo._keras_compat import accept_string_inputs
from zoo.tokenizers.sentencepiece import load_sentencepiece, sentencepiece_pieces
from zoo.tokenizers.vocabulary import CLS, PAD, SEP, UNK, load_vocabulary


@keras.saving.register_keras_serializable(package="zoo")
class TextPreprocessor(keras.layers.Layer):
    """Raw strings -> `{"token_ids", "padding_mask"}`, all in TensorFlow ops.

    `[CLS] piece piece ... [SEP] [PAD] ...`, truncated to `sequence_length`
    (the tokens beyond `sequence_length - 2` are dropped, `[SEP]` is kept).
    Text is BERT-normalized by tensorflow-text's `FastBertNormalizer`
    (lowercase, strip accents, clean control characters), then split into
    pieces by `FastWordpieceTokenizer` (whitespace/punctuation split, a word
    with no matching pieces becomes `[UNK]`) or, given a
    `sentencepiece_model`, by `FastSentencepieceTokenizer`. These ops have
    TFLite kernels, so the layer can sit inside a string-in SavedModel *and*
    a string-in TFLite model. Invalid UTF-8 and empty strings are tokenized
    without error (`[CLS] [SEP]` for an empty string).

    Args:
        vocabulary: WordPiece tokens (list, or the path of a
            one-token-per-line file). Must contain `[PAD]`, `[UNK]`, `[CLS]`
            and `[SEP]`.
        sequence_length: int >= 3, the length of every output row.
        lowercase: bool, lowercase and strip accents.
        sentencepiece_model: instead of `vocabulary`, a serialized
            SentencePiece model (bytes, or the path of a `.model` file) with
            the same special pieces (see `train_sentencepiece`).

    Call arguments:
        texts: a string, a list of strings, or a `tf.string` tensor `(B,)`.

    Returns:
        dict with `token_ids` and `padding_mask` (1 for real tokens), both
        int32 `(B, sequence_length)`.

    Example:
    >>> preprocessor = TextPreprocessor(vocabulary, sequence_length=64)
    >>> preprocessor(["a gorgeous, witty film"])["token_ids"]
    """

    def __init__(self, vocabulary=None, sequence_length=None, lowercase=True, sentencepiece_model=None, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)  # keep tf.string tensors as they are; accept Python strings
        if (vocabulary is None) == (sentencepiece_model is None):
            raise ValueError("TextPreprocessor needs exactly one of vocabulary= (WordPiece) or sentencepiece_model=")
        if not isinstance(sequence_length, int) or sequence_length < 3:
            raise ValueError(f"sequence_length must be an integer >= 3. Received: sequence_length={sequence_length!r}")
        self.sequence_length = sequence_length
        self.lowercase = lowercase
        self.sentencepiece_model = None
        if sentencepiece_model is not None:
            self.sentencepiece_model = _read_sentencepiece(sentencepiece_model)
            self.vocabulary = sentencepiece_pieces(self.sentencepiece_model)
        else:
            if isinstance(vocabulary, (str, bytes)) or hasattr(vocabulary, "__fspath__"):
                vocabulary = load_vocabulary(vocabulary)
            self.vocabulary = [str(token) for token in vocabulary]
        missing = [token for token in (PAD, UNK, CLS, SEP) if token not in self.vocabulary]
        if missing:
            raise ValueError(f"the vocabulary lacks the special tokens {missing}")
        self.pad_id = self.vocabulary.index(PAD)
        self.cls_id = self.vocabulary.index(CLS)
        self.sep_id = self.vocabulary.index(SEP)
        self._build_tokenizer()
        self.built = True

    def _build_tokenizer(self):
        import tensorflow_text as tf_text

        self._normalizer = tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=self.lowercase)
        if self.sentencepiece_model is not None:
            self._tokenizer = tf_text.FastSentencepieceTokenizer(self.sentencepiece_model)
            return
        self._tokenizer = tf_text.FastWordpieceTokenizer(
            vocab=self.vocabulary,
            token_out_type=tf.int32,
            unknown_token=UNK,
            no_pretokenization=False,
            support_detokenization=True,
        )

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def tokenize(self, texts):
        """Word pieces of each text as a ragged `(B, None)` int32 tensor, no special tokens."""
        pieces = self._tokenizer.tokenize(self._normalizer.normalize(string_batch(texts)))
        return tf.cast(pieces, tf.int32)

    def detokenize(self, token_ids):
        """Token ids `(B, T)` back to normalized text (special tokens dropped)."""
        return self._tokenizer.detokenize(drop_ids(token_ids, [self.pad_id, self.cls_id, self.sep_id]))

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
        config.update({"sequence_length": self.sequence_length, "lowercase": self.lowercase})
        if self.sentencepiece_model is not None:
            config["sentencepiece_model"] = base64.b64encode(self.sentencepiece_model).decode("ascii")
        else:
            config["vocabulary"] = self.vocabulary
        return config


def string_batch(texts):
    """A string, a list of strings or a `tf.string` tensor -> a `tf.string` tensor `(B,)` (a scalar becomes `(1,)`)."""
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    return texts[tf.newaxis] if texts.shape.rank == 0 else texts


def valid_utf8(texts):
    """Strings with each maximal invalid UTF-8 subsequence replaced by U+FFFD, as Python's and Rust's lossy decoding."""
    return tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)


def drop_ids(token_ids, ids):
    """Ids `(B, T)` -> ragged `(B, None)` without any of `ids` (special tokens, padding)."""
    token_ids = tf.convert_to_tensor(token_ids, dtype=tf.int32)
    keep = tf.reduce_all(tf.not_equal(token_ids[..., tf.newaxis], tf.constant(list(ids), tf.int32)), axis=-1)
    return tf.ragged.boolean_mask(token_ids, keep)


def pack_pieces(pieces, sequence_length, cls_id, sep_id, pad_id):
    """Ragged ids `(B, None)` -> `{"token_ids", "padding_mask"}` `(B, sequence_length)`: `[CLS] ... [SEP] [PAD]...`.

    Rows longer than `sequence_length - 2` are truncated (`[SEP]` kept). Dense
    ops only after the ragged-to-dense step (RaggedTensorToTensor
    truncates), so the packing converts to TFLite.
    """
    body = pieces.to_tensor(default_value=pad_id, shape=[None, sequence_length - 2])
    batch_size = tf.shape(body)[0]
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(body, pad_id), tf.int32), axis=1)  # (B,); no piece is [PAD]
    token_ids = tf.concat([tf.fill([batch_size, 1], cls_id), body, tf.fill([batch_size, 1], pad_id)], axis=1)
    positions = tf.range(sequence_length)[tf.newaxis, :]
    token_ids = tf.where(positions == lengths[:, tf.newaxis] + 1, sep_id, token_ids)
    padding_mask = tf.cast(positions <= lengths[:, tf.newaxis] + 1, tf.int32)
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def pack_prompts(pieces, width, bos_id, pad_id):
    """Ragged pieces `(B, None)` -> generation prompts `(token_ids, padding_mask)` int32 `(B, width)`.

    Each row is `[BOS] pieces...` (no end token), right-padded with `pad_id`.
    A row longer than `width` keeps its last `width - 1` pieces (`width`
    without a BOS) (the end of
    a prompt is what the continuation follows). TensorFlow ops, so the
    packing runs inside exported graphs too.

    Args:
        pieces: ragged int tensor `(B, None)` (e.g. `tokenize(texts)`).
        width: int >= 2, the prompt width.
        bos_id, pad_id: the start and padding ids; `bos_id=None` for
            checkpoints whose prompts start without one (GPT-2, Qwen2).

    Returns:
        `(token_ids, padding_mask)`, both int32 `(B, width)`.
    """
    pieces = tf.cast(pieces, tf.int32)[:, -(width if bos_id is None else width - 1) :]
    packed = pieces if bos_id is None else tf.concat([tf.fill([pieces.nrows(), 1], bos_id), pieces], axis=1)
    token_ids = packed.to_tensor(default_value=pad_id, shape=[None, width])
    padding_mask = tf.sequence_mask(packed.row_lengths(), width, dtype=tf.int32)
    return token_ids, padding_mask


def start_empty_prompts(token_ids, padding_mask, start_id):
    """Give prompts with no token (an empty text, no BOS added) `start_id` as their one token.

    Checkpoints whose prompts carry no BOS (GPT-2, Qwen2) have nothing to
    continue from an empty text; like GPT-2's own sampling script, such a
    prompt starts from its end-of-text token. TensorFlow ops.

    Args:
        token_ids, padding_mask: int32 `(B, W)` right-padded prompts.
        start_id: int, the token an empty prompt becomes.
    """
    empty = tf.reduce_sum(padding_mask, axis=1, keepdims=True) == 0  # (B, 1)
    first = tf.range(tf.shape(token_ids)[1])[tf.newaxis, :] == 0  # (1, W)
    token_ids = tf.where(empty & first, start_id, token_ids)
    padding_mask = tf.where(empty & first, 1, padding_mask)
    return token_ids, padding_mask


def unpack_generated(detokenize, token_ids, end_token_id, pad_token_id, strip=True):
    """Generated ids `(B, T)` -> a `tf.string` tensor `(B,)`: cut at the first `end_token_id`.

    Every position from the first end token on becomes `pad_token_id`, then
    `detokenize` (which drops special tokens) joins the rest. TensorFlow ops,
    so the unpacking runs inside exported graphs too.

    Args:
        detokenize: a preprocessor's `detokenize` (ids `(B, T)` -> strings `(B,)`).
        token_ids: int `(B, T)`.
        end_token_id, pad_token_id: ints.
        strip: strip surrounding whitespace; `False` inside TFLite graphs,
            which have no StringStrip kernel.

    Returns:
        A `tf.string` tensor `(B,)`.
    """
    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    ended = tf.cumsum(tf.cast(token_ids == end_token_id, tf.int32), axis=1) > 0
    texts = detokenize(tf.where(ended, pad_token_id, token_ids))
    return tf.strings.strip(texts) if strip else texts


def _read_sentencepiece(model):
    """Serialized proto bytes from bytes, a base64 string (a saved config) or a file path."""
    if isinstance(model, bytes):
        return model
    if isinstance(model, str) and not _is_file(model):
        try:
            return base64.b64decode(model, validate=True)
        except ValueError:
            raise FileNotFoundError(f"SentencePiece model {model!r} does not exist") from None
    return load_sentencepiece(model)


def _is_file(path):
    try:
        return pathlib.Path(path).is_file()
    except OSError:  # e.g. a base64 model string longer than a file name may be
        return False
