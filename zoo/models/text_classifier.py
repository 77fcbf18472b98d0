"""Transformer text classifier (sentiment, topic): an encoder backbone + a pooled head."""

import keras
import numpy as np

from zoo.layers import MaskedMeanPooling
from zoo.models.backbones import TransformerEncoderBackbone
from zoo.models.base import Task
from zoo.models.task import check_token_inputs, checked_class_names, classification_outputs
from zoo.models.text_encoder import (
    backbone_property,
    encoder_backbone,
    flat_encoder_arguments,
    is_empty_batch,
    is_text_input,
    preprocess_texts,
    preset_with_preprocessor,
)


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


# TextClassifier's encoder arguments before it took a backbone (issue 20); still taken by the
# constructor, `from_preset`, `BertCheckpoint.model_config` and old `.keras` files.
FLAT_ARGUMENTS = flat_encoder_arguments(
    hidden_dim=128, num_layers=2, num_heads=4, intermediate_dim=256, layer_norm_epsilon=1e-5
)


@keras.saving.register_keras_serializable(package="zoo")
class TextClassifier(TextClassifierMixin, Task):
    """A Transformer encoder backbone with a pooled classification head, over WordPiece tokens.

    `token_ids` + `padding_mask` -> the backbone's token vectors `(B, T, D)`
    -> pooled vector (`[CLS]` token or the mean over real tokens) ->
    dropout -> logits `(B, num_classes)`. With a `preprocessor`
    (`zoo.tokenizers.TextPreprocessor`) the model also takes raw strings in
    `predict` and `classify`, and its exports take strings.

    Args:
        backbone: a `zoo.models.TransformerEncoderBackbone` without
            segments (`num_segments=0`): sizes, norms, positions, `low_rank`.
        num_classes: int >= 2.
        pooling: `"class_token"` (position 0, `[CLS]`) or `"mean"`.
        class_names: list of `num_classes` names.
        dropout: float, before the head.
        preprocessor: optional `TextPreprocessor` turning strings into
            inputs; its vocabulary and sequence length are the backbone's.

    Instead of a backbone, the constructor (and `from_preset`,
    `from_checkpoint`, and files saved before backbones) takes the flat
    arguments of earlier versions: `vocabulary_size`, `sequence_length`,
    `hidden_dim`, `num_layers`, `num_heads`, `intermediate_dim`,
    `activation`, `normalize_first` (pre-LN, with a final LayerNorm),
    `layer_norm_epsilon` and `low_rank` (`{path pattern: rank}`, e.g.
    `{"*attention/*": 32}`; the old `projection_rank`, `ffn_rank`,
    `layer_ranks`, `embedding_rank` are mapped to it). Then `dropout` is
    also the backbone's (in the blocks and after the embeddings), and the
    inputs are `(B, sequence_length)`, as before; the config holds the
    backbone (see `zoo.models.text_encoder.encoder_backbone`).

    Example:
    >>> model = TextClassifier.from_preset("small", vocabulary=vocabulary, num_classes=2,
    ...                                    class_names=["negative", "positive"])
    >>> model.classify(["a gorgeous, witty film"])["labels"]
    >>> model = TextClassifier(TransformerEncoderBackbone.from_preset("tiny", num_segments=0), 3)
    """

    preset_family = "text_classifier"
    flat_arguments = FLAT_ARGUMENTS

    layer_arguments = ("backbone", "preprocessor")
    backbone_class = TransformerEncoderBackbone

    def __init__(
        self,
        backbone=None,
        num_classes=None,
        pooling="mean",
        class_names=None,
        dropout=0.0,
        preprocessor=None,
        **kwargs,
    ):
        if pooling not in ("class_token", "mean"):
            raise ValueError(f"pooling must be 'class_token' or 'mean'. Received: pooling={pooling!r}")
        class_names = checked_class_names(num_classes, class_names)
        flat = self.pop_flat_arguments(kwargs)
        if flat:  # the earlier `dropout` was the encoder's too
            flat["dropout"] = dropout
        backbone = encoder_backbone(type(self), backbone, flat, preprocessor, fixed_input_length=True)
        if backbone.num_segments:
            raise ValueError(
                "TextClassifier takes token_ids and padding_mask only; build its backbone with "
                f"num_segments=0. Received: a backbone with num_segments={backbone.num_segments}"
            )

        # === Head ===
        # Built from the backbone's own inputs and output, so the model's layers are the backbone's
        # plus the head: the weight layout of files saved before backbones.
        hidden = backbone.output  # (B, T, D)
        if pooling == "class_token":
            pooled = hidden[:, 0]  # (B, D): the [CLS] token
        else:
            padding_mask = backbone.input["padding_mask"]
            pooled = MaskedMeanPooling(name="mean_pool")(hidden, padding_mask=padding_mask)
        pooled = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
        logits = keras.layers.Dense(num_classes, name="logits")(pooled)  # (B, num_classes)
        super().__init__(inputs=backbone.input, outputs=logits, **kwargs)
        self.backbone = backbone

        # === Config ===
        self.num_classes = num_classes
        self.pooling = pooling
        self.class_names = class_names
        self.dropout = dropout
        self.preprocessor = preprocessor

    # === The backbone's structure ===

    vocabulary_size = backbone_property("vocabulary_size")
    sequence_length = backbone_property("sequence_length")
    hidden_dim = backbone_property("hidden_dim")
    num_layers = backbone_property("num_layers")
    num_heads = backbone_property("num_heads")
    intermediate_dim = backbone_property("intermediate_dim")
    activation = backbone_property("activation")
    normalize_first = backbone_property("normalize_first")
    layer_norm_epsilon = backbone_property("layer_norm_epsilon")
    low_rank = backbone_property("low_rank")

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
