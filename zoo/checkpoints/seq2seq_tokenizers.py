"""The tokenizers of BART and Marian checkpoints as `Seq2SeqLM` preprocessors (strings in, strings out).

    source, target = load_seq2seq_tokenizers("path/to/opus-mt-en-es", "marian", 512, 512, 58101, 58101)

BART: byte-level BPE (`vocab.json` + `merges.txt`, or `tokenizer.json`;
`zoo.tokenizers.BytePairPreprocessor`); sources and targets are
`<s> ids </s>`. Marian: `source.spm` / `target.spm` + `vocab.json`
(`zoo.tokenizers.marian.MarianTokenizer`); sources and targets are
`ids </s>`. A target row starts with the decoder start id (BART `</s>`,
Marian `<pad>`): decoder inputs and labels shifted by one, as
transformers' `shift_tokens_right` makes them. `Seq2SeqCheckpointPreprocessor`
wraps either tokenizer with these rules.
"""

import json
import pathlib

import keras
import tensorflow as tf

from zoo._keras_compat import accept_string_inputs
from zoo.tokenizers.byte_pair import BytePairPreprocessor
from zoo.tokenizers.marian import MarianTokenizer
from zoo.tokenizers.preprocessor import unpack_generated

BART_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqCheckpointPreprocessor(keras.layers.Layer):
    """A checkpoint tokenizer with its model's special-token rules: the interface `Seq2SeqLM` takes.

    `call(texts)` gives `{"token_ids", "padding_mask"}` `(B, sequence_length)`:
    `[start] prefix ids suffix [pad]...`, the ids cut so that the suffix
    (EOS) stays, as transformers truncates. `cls_id` is the decoder start
    (BOS of generation), `sep_id` the EOS, `pad_id` the padding;
    `generate_postprocess` drops the start column, cuts at the first EOS
    and detokenizes.

    Args:
        tokenizer: a `BytePairPreprocessor` or `MarianTokenizer` (its
            `tokenize` / `detokenize`).
        sequence_length: int >= 2, the row width.
        vocabulary_size: int, the rows of the model's embedding (the
            tokenizer's ids must be below it).
        prefix_ids, suffix_ids: ids around every text (BART `[0]`, `[2]`).
        start_id: optional id put first (a target's decoder start).
        end_id, pad_id: EOS and padding ids.
    """

    def __init__(
        self,
        tokenizer,
        sequence_length,
        vocabulary_size,
        prefix_ids=(),
        suffix_ids=(),
        start_id=None,
        end_id=None,
        pad_id=0,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)
        if isinstance(tokenizer, dict):
            tokenizer = keras.layers.deserialize(tokenizer)
        specials = len(prefix_ids) + len(suffix_ids) + (start_id is not None)
        if not isinstance(sequence_length, int) or sequence_length <= specials:
            raise ValueError(
                f"sequence_length must be an integer > {specials} (the special tokens). "
                f"Received: sequence_length={sequence_length!r}"
            )
        if tokenizer.vocabulary_size > vocabulary_size:
            raise ValueError(
                f"the tokenizer has ids up to {tokenizer.vocabulary_size - 1}, but the model's embedding has "
                f"{vocabulary_size} rows"
            )
        self.tokenizer = tokenizer
        self.sequence_length, self._vocabulary_size = sequence_length, vocabulary_size
        self.prefix_ids, self.suffix_ids = [int(i) for i in prefix_ids], [int(i) for i in suffix_ids]
        self.start_id, self.end_id, self.pad_id = start_id, end_id, pad_id
        self.cls_id, self.sep_id = start_id, end_id
        self.sentencepiece_model = None  # no TextPreprocessor SentencePiece model (zoo.export reads this)
        self.built = True

    @property
    def vocabulary_size(self):
        return self._vocabulary_size

    @property
    def saved_model_resources(self):
        """The tokenizer's tables, which SavedModel exports must track."""
        return list(self.tokenizer.saved_model_resources)

    def tokenize(self, texts):
        return self.tokenizer.tokenize(texts)

    def detokenize(self, token_ids):
        return self.tokenizer.detokenize(token_ids)

    def call(self, texts):
        ids = tf.cast(self.tokenize(texts), tf.int32)  # (B, None)
        before = self.prefix_ids if self.start_id is None else [self.start_id] + self.prefix_ids
        body = self.sequence_length - len(before) - len(self.suffix_ids)
        ids = ids[:, :body]
        rows = ids.nrows()
        pieces = [ids]
        if before:
            pieces.insert(0, tf.RaggedTensor.from_tensor(tf.tile(tf.constant([before], tf.int32), [rows, 1])))
        if self.suffix_ids:
            pieces.append(tf.RaggedTensor.from_tensor(tf.tile(tf.constant([self.suffix_ids], tf.int32), [rows, 1])))
        packed = tf.concat(pieces, axis=1)
        token_ids = packed.to_tensor(default_value=self.pad_id, shape=[None, self.sequence_length])
        padding_mask = tf.sequence_mask(packed.row_lengths(), self.sequence_length, dtype=tf.int32)
        return {"token_ids": token_ids, "padding_mask": padding_mask}

    def generate_postprocess(self, token_ids, end_token_id=None, pad_token_id=None, strip=True):
        """Generated ids `(B, T)` (the decoder start first) -> `tf.string` `(B,)`, cut at the first EOS.

        The text is the checkpoint's own decoding (`strip` is ignored):
        BART keeps surrounding whitespace, Marian strips it, as
        transformers' `decode(skip_special_tokens=True)`.
        """
        end_token_id = self.end_id if end_token_id is None else end_token_id
        pad_token_id = self.pad_id if pad_token_id is None else pad_token_id
        token_ids = tf.convert_to_tensor(token_ids, tf.int32)[:, 1:]  # the start may be the EOS id (BART)
        end_token_id = -1 if end_token_id is None else end_token_id
        return unpack_generated(self.detokenize, token_ids, end_token_id, pad_token_id, strip=False)

    def compute_output_spec(self, texts):
        spec = keras.KerasTensor((None, self.sequence_length), dtype="int32")
        return {"token_ids": spec, "padding_mask": spec}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.layers.serialize(self.tokenizer),
                "sequence_length": self.sequence_length,
                "vocabulary_size": self._vocabulary_size,
                "prefix_ids": self.prefix_ids,
                "suffix_ids": self.suffix_ids,
                "start_id": self.start_id,
                "end_id": self.end_id,
                "pad_id": self.pad_id,
            }
        )
        return config


def load_seq2seq_tokenizers(
    directory, model_type, source_length, target_length, vocabulary_size, decoder_vocabulary_size, special_ids
):
    """`(source_preprocessor, target_preprocessor)` of a BART or Marian checkpoint directory.

    Args:
        directory: the checkpoint directory.
        model_type: `"bart"` or `"marian"`.
        source_length, target_length: the model's encoder and decoder
            lengths (the target preprocessor packs `target_length + 1`).
        vocabulary_size, decoder_vocabulary_size: the embeddings' rows.
        special_ids: dict with `decoder_start`, `eos`, `pad` and (BART) `bos`.

    Raises:
        FileNotFoundError: the tokenizer files are missing (named).
        ValueError: a malformed file, or ids beyond the embedding (named).
    """
    directory = pathlib.Path(directory)
    start, eos, pad = special_ids["decoder_start"], special_ids["eos"], special_ids["pad"]
    if model_type == "bart":
        tokenizer = _bart_tokenizer(directory, target_length + 1)
        bos = special_ids.get("bos")
        prefix = [] if bos is None else [bos]
        sides = [
            (tokenizer, source_length, vocabulary_size, None),
            (tokenizer, target_length + 1, vocabulary_size, start),
        ]
    else:
        settings = directory / "tokenizer_config.json"
        if (directory / "target_vocab.json").is_file() or (
            settings.is_file() and _read_json(settings).get("separate_vocabs")
        ):
            raise ValueError(
                f"{directory}: separate_vocabs (target_vocab.json) is not supported; zoo reads one vocab.json"
            )
        vocabulary = _read_json(_required(directory, "vocab.json"))
        source = MarianTokenizer(_required(directory, "source.spm").read_bytes(), vocabulary)
        target = MarianTokenizer(_required(directory, "target.spm").read_bytes(), vocabulary)
        prefix = []
        sides = [
            (source, source_length, vocabulary_size, None),
            (target, target_length + 1, decoder_vocabulary_size, start),
        ]
    preprocessors = []
    for tokenizer, length, rows, start_id in sides:
        try:
            preprocessors.append(
                Seq2SeqCheckpointPreprocessor(tokenizer, length, rows, prefix, [eos], start_id, eos, pad)
            )
        except ValueError as error:
            raise ValueError(f"{directory}: {error}") from None
    return tuple(preprocessors)


def _bart_tokenizer(directory, sequence_length):
    """BART's byte-level BPE: `vocab.json` + `merges.txt` (or `tokenizer.json`'s model), its five special tokens."""
    if (directory / "vocab.json").is_file() and (directory / "merges.txt").is_file():
        vocabulary = _read_json(directory / "vocab.json")
        lines = (directory / "merges.txt").read_text(encoding="utf-8").splitlines()
        merges = [line for line in lines if line and not line.startswith("#version")]
    elif (directory / "tokenizer.json").is_file():
        model = _read_json(directory / "tokenizer.json").get("model") or {}
        if model.get("type") != "BPE":
            raise ValueError(f"{directory / 'tokenizer.json'}: model.type {model.get('type')!r}; BART's is 'BPE'")
        vocabulary, merges = dict(model.get("vocab") or {}), model.get("merges") or []
    else:
        raise FileNotFoundError(f"{directory}: no BART tokenizer; looked for vocab.json + merges.txt or tokenizer.json")
    special = [token for token in BART_SPECIAL_TOKENS if token in vocabulary]
    try:
        return BytePairPreprocessor(
            vocabulary,
            merges,
            sequence_length,
            special_tokens=special,
            eos_token="</s>" if "</s>" in vocabulary else None,
            pad_token="<pad>" if "<pad>" in vocabulary else None,
        )
    except ValueError as error:
        raise ValueError(f"{directory}: {error}") from None


def _required(directory, name):
    path = directory / name
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: a marian checkpoint needs {name} (source.spm, target.spm, vocab.json)")
    return path


def _read_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
