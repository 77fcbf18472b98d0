"""Transformer text classifier (sentiment, topic): encoder + pooled head."""

import keras
import numpy as np

from zoo.layers import MaskedMeanPooling, TokenAndPositionEmbedding, TransformerEncoder
from zoo.models.task import checked_class_names, classification_outputs, preset_config


def _is_text(inputs):
    if isinstance(inputs, str):
        return True
    if isinstance(inputs, (list, tuple)):  # any string: a text batch (bad items are reported later)
        return any(isinstance(item, (str, bytes)) for item in inputs)
    dtype = getattr(inputs, "dtype", None)
    return dtype is not None and (str(dtype) in ("<dtype: 'string'>", "string") or np.dtype(dtype).kind in "OUS")


@keras.saving.register_keras_serializable(package="zoo")
class TextClassifier(keras.Model):
    """Transformer encoder classifier over WordPiece tokens.

    `token_ids` + `padding_mask` -> token and position embeddings -> layer
    norm -> `num_layers` encoder blocks -> pooled vector (`[CLS]` token or
    the mean over real tokens) -> logits `(B, num_classes)`. With a
    `preprocessor` (`zoo.tokenizers.TextPreprocessor`) the model also takes
    raw strings in `predict` and `classify`, and its exports take strings.

    Args:
        vocabulary_size: int.
        num_classes: int >= 2.
        sequence_length: int, tokens per example (incl. `[CLS]`/`[SEP]`).
        hidden_dim, num_layers, num_heads, intermediate_dim: encoder size.
        dropout: float, in the blocks, after the embeddings and before the head.
        activation: feed-forward activation.
        normalize_first: bool, pre-LN blocks (default post-LN, as BERT).
        pooling: `"class_token"` (position 0, `[CLS]`) or `"mean"`.
        class_names: list of `num_classes` names.
        preprocessor: optional `TextPreprocessor` turning strings into inputs.

    Example:
    >>> model = TextClassifier.from_preset("small", vocabulary=vocabulary, num_classes=2,
    ...                                    class_names=["negative", "positive"])
    >>> model.classify(["a gorgeous, witty film"])["labels"]
    """

    def __init__(
        self,
        vocabulary_size,
        num_classes,
        sequence_length,
        hidden_dim=128,
        num_layers=2,
        num_heads=4,
        intermediate_dim=256,
        dropout=0.0,
        activation="gelu",
        normalize_first=False,
        pooling="mean",
        class_names=None,
        preprocessor=None,
        **kwargs,
    ):
        if pooling not in ("class_token", "mean"):
            raise ValueError(f"pooling must be 'class_token' or 'mean'. Received: pooling={pooling!r}")
        class_names = checked_class_names(num_classes, class_names)
        if preprocessor is not None:
            _check_preprocessor(preprocessor, vocabulary_size, sequence_length)

        # === Functional graph ===
        token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
        padding_mask = keras.Input((sequence_length,), dtype="int32", name="padding_mask")
        x = TokenAndPositionEmbedding(
            vocabulary_size, sequence_length, hidden_dim, name="embedding"
        )(token_ids)  # (B, T, D)
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="embedding_norm")(x)
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
        for index in range(num_layers):
            x = TransformerEncoder(
                num_heads, intermediate_dim, dropout=dropout, activation=activation,
                normalize_first=normalize_first, name=f"encoder_{index}",
            )(x, padding_mask=padding_mask)
        if normalize_first:
            x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
        if pooling == "class_token":
            pooled = x[:, 0]  # (B, D): the [CLS] token
        else:
            pooled = MaskedMeanPooling(name="mean_pool")(x, padding_mask=padding_mask)  # (B, D)
        pooled = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
        logits = keras.layers.Dense(num_classes, name="logits")(pooled)
        super().__init__(inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=logits, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_classes = num_classes
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.normalize_first = normalize_first
        self.pooling = pooling
        self.class_names = class_names
        self.preprocessor = preprocessor

    @classmethod
    def from_preset(cls, name, vocabulary=None, preprocessor=None, **overrides):
        """Build from a named preset with a vocabulary (list or file) or a preprocessor.

        `vocabulary` builds a `TextPreprocessor` with the preset's
        `sequence_length`; `vocabulary_size` follows from it.
        """
        from zoo.tokenizers import TextPreprocessor

        config = preset_config(cls, "text_classifier", name, overrides)
        if preprocessor is None and vocabulary is not None:
            preprocessor = TextPreprocessor(vocabulary, config["sequence_length"])
        if preprocessor is not None:
            config.setdefault("vocabulary_size", preprocessor.vocabulary_size)
        if "vocabulary_size" not in config:
            raise ValueError("TextClassifier.from_preset needs vocabulary=, preprocessor= or vocabulary_size=")
        config.setdefault("num_classes", 2)
        return cls(preprocessor=preprocessor, **config)

    def preprocess(self, texts):
        """Raw strings -> model inputs, with clear errors for what cannot be classified."""
        if self.preprocessor is None:
            raise ValueError(
                "this TextClassifier has no preprocessor, so it takes token_ids and padding_mask, "
                "not strings; build it with from_preset(..., vocabulary=...)"
            )
        texts = [texts] if isinstance(texts, (str, bytes)) else list(np.asarray(texts, dtype=object).reshape(-1))
        for index, text in enumerate(texts):
            if not isinstance(text, (str, bytes)):
                raise ValueError(f"text {index} is a {type(text).__name__}, not a string")
            if not (text.strip() if isinstance(text, str) else text.strip()):
                raise ValueError(f"text {index} is empty; expected some words to classify")
        return self.preprocessor(texts)

    def predict(self, x, *args, **kwargs):
        if _is_text(x):
            x = {name: np.asarray(value) for name, value in self.preprocess(x).items()}
        return super().predict(x, *args, **kwargs)

    def classify(self, texts, batch_size=256):
        """Labels, class ids and probabilities for a list of strings."""
        return classification_outputs(self.predict(texts, batch_size=batch_size, verbose=0), self.class_names)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocabulary_size": self.vocabulary_size,
            "num_classes": self.num_classes,
            "sequence_length": self.sequence_length,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "normalize_first": self.normalize_first,
            "pooling": self.pooling,
            "class_names": self.class_names,
            "preprocessor": None if self.preprocessor is None else keras.layers.serialize(self.preprocessor),
        }

    @classmethod
    def from_config(cls, config):
        import zoo.tokenizers  # noqa: F401  (registers TextPreprocessor for deserialization)

        config = dict(config)
        if config.get("preprocessor") is not None:
            config["preprocessor"] = keras.layers.deserialize(config["preprocessor"])
        return cls(**config)


def _check_preprocessor(preprocessor, vocabulary_size, sequence_length):
    if preprocessor.vocabulary_size != vocabulary_size or preprocessor.sequence_length != sequence_length:
        raise ValueError(
            "the preprocessor does not match the model: vocabulary_size "
            f"{preprocessor.vocabulary_size} vs {vocabulary_size}, sequence_length "
            f"{preprocessor.sequence_length} vs {sequence_length}"
        )
