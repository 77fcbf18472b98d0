"""A checkpoint's SentencePiece `tokenizer.model` (Llama-2, Mistral) inside the graph, exact to `sentencepiece`."""

import base64

import keras
import tensorflow as tf

from zoo.tokenizers.checkpoint_preprocessor import CheckpointPreprocessor
from zoo.tokenizers.sentencepiece import sentencepiece_pieces


@keras.saving.register_keras_serializable(package="zoo")
class SentencePiecePreprocessor(CheckpointPreprocessor):
    """Raw strings <-> a SentencePiece model's ids, with the checkpoint's BOS/EOS, in TensorFlow ops.

    tensorflow-text's `SentencepieceTokenizer` runs the `sentencepiece`
    library itself, so ids are the model's own, byte-fallback pieces
    (`<0x0A>`) included, and decoding turns those bytes back into text.
    (Its `FastSentencepieceTokenizer`, which has TFLite kernels, does not
    implement byte fallback; exports of these models ship token-id TFLite
    files.) The interface of `CheckpointPreprocessor`.

    Args:
        model: the serialized model (bytes, or base64 text in a saved config).
        sequence_length: int >= 2, the longest row of `call`.
        bos_token, eos_token, pad_token: optional pieces of the model.
        add_bos: bool, whether prompts start with `bos_token`.
    """

    def __init__(self, model, sequence_length, bos_token=None, eos_token=None, pad_token=None, add_bos=False, **kwargs):
        super().__init__(sequence_length, bos_token, eos_token, pad_token, add_bos, **kwargs)
        self.model = model if isinstance(model, bytes) else base64.b64decode(model)
        self.pieces = sentencepiece_pieces(self.model)
        ids = {piece: index for index, piece in enumerate(self.pieces)}
        self._set_special_ids(ids, "a piece of the SentencePiece model")
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

    def _tokenize(self, texts):
        return self._run("tokenize", texts)

    def _detokenize(self, token_ids):
        return self._run("detokenize", token_ids)

    def _dropped_ids(self):
        return self._special + [self.pad_id]

    def get_config(self):
        config = super().get_config()
        config["model"] = base64.b64encode(self.model).decode("ascii")
        return config
