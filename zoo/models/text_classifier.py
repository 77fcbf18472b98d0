"""Transformer text classifier (sentiment, topic): encoder + pooled head."""

import keras
import numpy as np

from zoo.layers import MaskedMeanPooling
from zoo.models.task import check_token_inputs, checked_class_names, classification_outputs
from zoo.models.text_encoder import (
    check_preprocessor,
    is_empty_batch,
    is_text_input,
    preprocess_texts,
    preset_with_preprocessor,
    text_encoder_stack,
)
from zoo.models.base import Task


class TextClassifierMixin:
    """What every text classifier has besides its graph: presets, strings in, labels out, config.

    `TextClassifier`, `LSTMClassifier` and `CNNClassifier` share it. A class
    using it sets `preset_family` (its family in `zoo.models.presets`) and
    has the attributes `vocabulary_size`, `sequence_length`, `class_names`
    and `preprocessor` (a `TextPreprocessor` or `None`); its inputs are
    `{"token_ids", "padding_mask"}` int32 `(B, sequence_length)`.
    """

    preset_family = None

    @classmethod
    def from_preset(cls, name, vocabulary=None, preprocessor=None, **overrides):
        """Build from a named preset with a vocabulary (list or file) or a preprocessor.

        `vocabulary` builds a `TextPreprocessor` with the preset's
        `sequence_length`; `vocabulary_size` follows from it.
        """
        config, preprocessor = preset_with_preprocessor(
            cls, cls.preset_family, name, vocabulary, preprocessor, overrides
        )
        config.setdefault("num_classes", 2)
        return cls(preprocessor=preprocessor, **config)

    def preprocess(self, texts):
        """Raw strings -> model inputs, with clear errors for what cannot be classified."""
        return preprocess_texts(self, texts, "classify")

    def predict(self, x, *args, **kwargs):
        if is_text_input(x) or is_empty_batch(x):
            x = {name: np.asarray(value) for name, value in self.preprocess(x).items()}
        elif isinstance(x, dict):
            x = checked_id_inputs(self, x)
        return super().predict(x, *args, **kwargs)

    def classify(self, texts, batch_size=256):
        """Labels, class ids and probabilities for a list of strings."""
        return classification_outputs(self.predict(texts, batch_size=batch_size, verbose=0), self.class_names)


def checked_id_inputs(model, inputs):
    """`{"token_ids", "padding_mask"}` checked against `model`'s vocabulary and sequence length (clear errors)."""
    token_ids, padding_mask = check_token_inputs(
        inputs, "token_ids", "padding_mask", model.vocabulary_size, model.sequence_length
    )
    return {"token_ids": token_ids, "padding_mask": padding_mask}


@keras.saving.register_keras_serializable(package="zoo")
class TextClassifier(TextClassifierMixin, Task):
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
        layer_norm_epsilon: float (BERT checkpoints use 1e-12).
        pooling: `"class_token"` (position 0, `[CLS]`) or `"mean"`.
        class_names: list of `num_classes` names.
        preprocessor: optional `TextPreprocessor` turning strings into inputs.
        low_rank: `None` (every projection dense) or a dict from an fnmatch
            pattern over projection paths to a rank (`zoo.layers.LowRankDense`)
            or `None` (dense); the last matching pattern wins. Paths are
            `"<block>/<sublayer>/<projection>"`, e.g. `"encoder_0/self_attention/query"`, and `"embedding/token_embedding"` a factorized token table (ALBERT-style `(V, E)` table, then
            `E -> hidden_dim`).
            `{"*attention/*": 32}` factorizes every attention projection;
            `zoo.compress.factorize` writes exact paths. The rank arguments of
            earlier versions (`projection_rank`, `ffn_rank`, `layer_ranks`,
            `embedding_rank`) are still read from old files and `from_preset`.

    Example:
    >>> model = TextClassifier.from_preset("small", vocabulary=vocabulary, num_classes=2,
    ...                                    class_names=["negative", "positive"])
    >>> model.classify(["a gorgeous, witty film"])["labels"]
    """

    preset_family = "text_classifier"

    layer_arguments = ('preprocessor',)

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
        layer_norm_epsilon=1e-5,
        pooling="mean",
        class_names=None,
        preprocessor=None,
        low_rank=None,
        **kwargs,
    ):
        if pooling not in ("class_token", "mean"):
            raise ValueError(f"pooling must be 'class_token' or 'mean'. Received: pooling={pooling!r}")
        class_names = checked_class_names(num_classes, class_names)
        if preprocessor is not None:
            check_preprocessor(preprocessor, vocabulary_size, sequence_length)

        # === Functional graph ===
        token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
        padding_mask = keras.Input((sequence_length,), dtype="int32", name="padding_mask")
        x = text_encoder_stack(
            token_ids, padding_mask, vocabulary_size=vocabulary_size, sequence_length=sequence_length,
            hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads, intermediate_dim=intermediate_dim,
            dropout=dropout, activation=activation, normalize_first=normalize_first,
            layer_norm_epsilon=layer_norm_epsilon,
            low_rank=low_rank,
        )  # (B, T, D)
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
        self.layer_norm_epsilon = layer_norm_epsilon
        self.pooling = pooling
        self.class_names = class_names
        self.preprocessor = preprocessor
        self.low_rank = None if low_rank is None else dict(low_rank)

    @classmethod
    def from_checkpoint(cls, path, num_classes=2, sequence_length=128, **overrides):
        """A classifier whose encoder starts from a BERT-family checkpoint (e.g. `"minilm"`), for fine-tuning.

        The encoder and tokenizer come from the checkpoint
        (`zoo.checkpoints.load_bert`); the classification head is new.

        Args:
            path: checkpoint directory, or `"minilm"` (all-MiniLM-L6-v2).
            num_classes: int.
            sequence_length: tokens per text (at most the checkpoint's
                position table).
            overrides: e.g. `class_names=`, `dropout=0.1`, `pooling="class_token"`.
        """
        from zoo.checkpoints import load_bert

        checkpoint = load_bert(path)
        config = checkpoint.model_config(sequence_length)
        config.update(overrides)
        model = cls(num_classes=num_classes, preprocessor=checkpoint.preprocessor(config["sequence_length"]), **config)
        checkpoint.assign(model)
        return model
