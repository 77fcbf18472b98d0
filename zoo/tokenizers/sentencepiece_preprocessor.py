"""A checkpoint's SentencePiece `tokenizer.model` (Llama-2, Mistral) inside the graph, exact to `sentencepiece`."""

import base64

import keras
import tensorflow as tf

from zoo._keras_compat import accept_string_inputs
from zoo.tokenizers.preprocessor import pack_prompts, start_empty_prompts, unpack_generated
from zoo.tokenizers.sentencepiece import sentencepiece_pieces


@keras.saving.register_keras_serializable(package="zoo")
class SentencePiecePreprocessor(keras.layers.Layer):
    """Raw strings <-> a SentencePiece model's ids, with the checkpoint's BOS/EOS, in TensorFlow ops.

    tensorflow-text's `SentencepieceTokenizer` runs the `sentencepiece`
    library itself, so ids are the model's own, byte-fallback pieces
    (`<0x0A>`) included, and decoding turns those bytes back into text.
    (Its `FastSentencepieceTokenizer`, which has TFLite kernels, does not
    implement byte fallback; exports of these models ship token-id TFLite
    files.) Same interface as `BytePairPreprocessor`.

    Args:
        model: the serialized model (bytes, or base64 text in a saved config).
        sequence_length: int >= 2, the longest row of `call`.
        bos_token, eos_token, pad_token: optional pieces of the model.
        add_bos: bool, whether prompts start with `bos_token`.
    """

    def __init__(self, model, sequence_length, bos_token=None, eos_token=None, pad_token=None, add_bos=False, **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        accept_string_inputs(self)
        if not isinstance(sequence_length, int) or sequence_length < 2:
            raise ValueError(f"sequence_length must be an integer >= 2. Received: sequence_length={sequence_length!r}")
        self.model = model if isinstance(model, bytes) else base64.b64decode(model)
        self.sequence_length = sequence_length
        self.bos_token, self.eos_token, self.pad_token, self.add_bos = bos_token, eos_token, pad_token, add_bos
        self.pieces = sentencepiece_pieces(self.model)
        ids = {piece: index for index, piece in enumerate(self.pieces)}
        for name in ("bos_token", "eos_token", "pad_token"):
            token = getattr(self, name)
            if token is not None and token not in ids:
                raise ValueError(f"{name} {token!r} is not a piece of the SentencePiece model")
        if add_bos and bos_token is None:
            raise ValueError("add_bos=True needs a bos_token")
        self.cls_id = ids[bos_token] if add_bos else None
        self.sep_id = None if eos_token is None else ids[eos_token]
        pad = pad_token if pad_token is not None else eos_token
        self.pad_id = 0 if pad is None else ids[pad]
        self._special = [ids[token] for token in (bos_token, eos_token, pad_token) if token is not None]
        self._build_tokenizer()
        self.built = True

    def _build_tokenizer(self):
        import tensorflow_text as tf_text

        self._tokenizer = tf_text.SentencepieceTokenizer(model=self.model, out_type=tf.int32)

    def _run(self, method, values):
        """`self._tokenizer.<method>(values)`; in eager mode rebuilt once if TensorFlow dropped its resource.

        The op keeps the parsed model in a kernel resource, which
        `tf.random.set_seed` (and so `keras.utils.set_random_seed`) deletes
        by clearing the eager kernel cache: calls after it would fail with
        "Resource ... SentencepieceOp ... does not exist".
        """
        try:
            return getattr(self._tokenizer, method)(values)
        except tf.errors.NotFoundError:
            if not tf.executing_eagerly():
                raise
            self._build_tokenizer()
            return getattr(self._tokenizer, method)(values)

    @property
    def saved_model_resources(self):
        """The tokenizer op's model resource, which SavedModel exports must track."""
        return [self._tokenizer]

    @property
    def vocabulary_size(self):
        return len(self.pieces)

    def tokenize(self, texts):
        """Ids of each text, ragged `(B, None)` int32, no BOS/EOS added."""
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            texts = texts[tf.newaxis]
        return self._run("tokenize", texts)

    def detokenize(self, token_ids):
        """Ids `(B, T)` -> text `(B,)`, BOS/EOS/PAD dropped."""
        token_ids = tf.convert_to_tensor(token_ids, dtype=tf.int32)
        drop = tf.constant(self._special + [self.pad_id], tf.int32)
        keep = tf.reduce_all(tf.not_equal(token_ids[..., tf.newaxis], drop), axis=-1)
        return self._run("detokenize", tf.ragged.boolean_mask(token_ids, keep))

    def call(self, texts):
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
                "model": base64.b64encode(self.model).decode("ascii"),
                "sequence_length": self.sequence_length,
                "bos_token": self.bos_token,
                "eos_token": self.eos_token,
                "pad_token": self.pad_token,
                "add_bos": self.add_bos,
            }
        )
        return config
