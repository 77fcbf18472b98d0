"""The BERT-style encoder stack shared by `TextClassifier` and `TextEmbedder`.

Both models build it with the same layer names (`embedding`,
`embedding_norm`, `encoder_0`, ...), so one weight mapping
(`zoo.checkpoints.BertCheckpoint.assign`) loads a pretrained BERT-family
checkpoint into either.
"""

import keras
import numpy as np

from zoo.layers import TokenAndPositionEmbedding, TransformerEncoder
from zoo.models.task import block_projection_paths, checked_texts, low_rank_arguments


def text_encoder_stack(
    token_ids,
    padding_mask,
    *,
    vocabulary_size,
    sequence_length,
    hidden_dim,
    num_layers,
    num_heads,
    intermediate_dim,
    dropout=0.0,
    activation="gelu",
    normalize_first=False,
    layer_norm_epsilon=1e-5,
    segment_ids=None,
    num_segments=0,
    low_rank=None,
):
    """Token + learned position (+ segment) embeddings -> layer norm -> `num_layers` encoder blocks.

    Args:
        token_ids, padding_mask: Keras inputs `(B, T)`, `T <= sequence_length`.
        sequence_length: int, size of the position table.
        layer_norm_epsilon: of every layer norm (BERT uses 1e-12).
        segment_ids, num_segments: with `num_segments > 0`, a Keras input
            `(B, T)` of segment ids (BERT's token types: 0 for the first
            text, 1 for the second) whose embedding (`segment_embedding`) is
            added to the token and position embeddings.
        low_rank: `None` or `{path pattern: rank}`, low-rank projections
            (`"encoder_0/self_attention/query"`, ...) and a factorized token
            table (`"embedding/token_embedding"`); see
            `zoo.models.task.low_rank_arguments`.
        Others: as `TextClassifier`.

    Returns:
        `(B, T, hidden_dim)` token vectors (after a final layer norm when
        `normalize_first`, pre-LN).
    """
    block_names = [f"encoder_{index}" for index in range(num_layers)]
    blocks = {name: block_projection_paths(name, activation) for name in block_names}
    ranks, embedding_ranks = low_rank_arguments(low_rank, blocks, ["embedding"])
    x = TokenAndPositionEmbedding(
        vocabulary_size, sequence_length, hidden_dim, embedding_rank=embedding_ranks["embedding"], name="embedding"
    )(token_ids)
    if num_segments:
        x = x + keras.layers.Embedding(num_segments, hidden_dim, name="segment_embedding")(segment_ids)
    x = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="embedding_norm")(x)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for name in block_names:
        x = TransformerEncoder(
            num_heads, intermediate_dim, dropout=dropout, activation=activation,
            normalize_first=normalize_first, layer_norm_epsilon=layer_norm_epsilon, name=name, **ranks[name],
        )(x, padding_mask=padding_mask)
    if normalize_first:
        x = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="final_norm")(x)
    return x


def check_preprocessor(preprocessor, vocabulary_size, sequence_length):
    """A clear error when `preprocessor` does not produce what the model takes."""
    if preprocessor.vocabulary_size != vocabulary_size or preprocessor.sequence_length != sequence_length:
        raise ValueError(
            "the preprocessor does not match the model: vocabulary_size "
            f"{preprocessor.vocabulary_size} vs {vocabulary_size}, sequence_length "
            f"{preprocessor.sequence_length} vs {sequence_length}"
        )


def preprocess_texts(model, texts, verb):
    """Raw strings -> model inputs via `model.preprocessor`, with clear errors for what cannot be used."""
    if model.preprocessor is None:
        raise ValueError(
            f"this {type(model).__name__} has no preprocessor, so it takes token_ids and padding_mask, "
            "not strings; build it with from_preset(..., vocabulary=...)"
        )
    # Any string array or tensor is flattened first (predict routes them here); checked_texts does the rest.
    texts = [texts] if isinstance(texts, (str, bytes)) else list(np.asarray(texts, dtype=object).reshape(-1))
    return model.preprocessor(checked_texts(texts, verb))


def is_text_input(inputs):
    """Whether `inputs` is text (a string, a list with strings, a string array) rather than token ids."""
    if isinstance(inputs, str):
        return True
    if isinstance(inputs, (list, tuple)):  # any string: a text batch (bad items are reported later)
        return any(isinstance(item, (str, bytes)) for item in inputs)
    dtype = getattr(inputs, "dtype", None)
    return dtype is not None and (str(dtype) in ("<dtype: 'string'>", "string") or np.dtype(dtype).kind in "OUS")


def is_empty_batch(texts):
    """Whether `texts` is an empty list, tuple or array (routed to `preprocess_texts` for its clear error)."""
    return isinstance(texts, (list, tuple, np.ndarray)) and np.size(np.asarray(texts, dtype=object)) == 0


def preset_with_preprocessor(model_class, family, name, vocabulary, preprocessor, overrides):
    """Preset `name` with `overrides`, plus a `TextPreprocessor` built from `vocabulary` when given.

    Returns `(config, preprocessor)`; `config["vocabulary_size"]` follows
    the preprocessor's.
    """
    from zoo.models.task import preset_config
    from zoo.tokenizers import TextPreprocessor

    config = preset_config(model_class, family, name, overrides)
    if preprocessor is None and vocabulary is not None:
        preprocessor = TextPreprocessor(vocabulary, config["sequence_length"])
    if preprocessor is not None:
        config.setdefault("vocabulary_size", preprocessor.vocabulary_size)
    if "vocabulary_size" not in config:
        raise ValueError(f"{model_class.__name__}.from_preset needs vocabulary=, preprocessor= or vocabulary_size=")
    return config, preprocessor
