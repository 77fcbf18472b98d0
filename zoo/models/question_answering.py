"""Extractive question answering: the answer is a span of the context, found by start/end logits."""

import keras
import numpy as np
from keras import ops

from zoo.models.task import check_integer, check_unicode
from zoo.models.text_encoder import (
    check_preprocessor,
    preset_with_preprocessor,
    text_encoder_stack,
)
from zoo.models.base import Task

MASKED_LOGIT = -1e9  # start/end logit of padding positions


@keras.saving.register_keras_serializable(package="zoo")
class QuestionAnswerer(Task):
    """BERT-style span extraction: `[CLS] question [SEP] context [SEP]` -> start and end logits.

    `token_ids`, `padding_mask` and `segment_ids` (0 for `[CLS]`, the
    question and its `[SEP]`; 1 for the context and the last `[SEP]`) ->
    token + position + segment embeddings -> encoder blocks -> one dense
    layer giving each token a start logit and an end logit
    (`{"start_logits", "end_logits"}`, each `(B, T)`, padding at
    `MASKED_LOGIT`). Trained with cross-entropy on the answer's first and
    last token (`[CLS]`, position 0, for a window without the answer).

    With a WordPiece `preprocessor`, `answer(question, context)` reads
    contexts of any length in overlapping windows (`stride` context tokens
    apart) and returns the best span's exact text, score and character
    offsets in the original context.

    Args:
        vocabulary_size, sequence_length, hidden_dim, num_layers, num_heads,
            intermediate_dim, dropout, activation, normalize_first,
            layer_norm_epsilon: the encoder, as `TextClassifier`.
        max_question_length: question tokens kept.
        stride: context tokens between consecutive windows.
        max_answer_length: longest answer, in tokens.
        preprocessor: optional WordPiece `TextPreprocessor` (its
            `sequence_length` must equal the model's).
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
    >>> model = QuestionAnswerer.from_checkpoint("minilm", sequence_length=256)
    >>> model.fit(...)  # e.g. recipes.qa
    >>> model.answer("Who wrote it?", "It was written by Ada in 1843.")
    # -> {"text": "Ada", "score": <start + end logit>, "start": 18, "end": 21} once trained
    """

    layer_arguments = ('preprocessor',)

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        hidden_dim=128,
        num_layers=2,
        num_heads=4,
        intermediate_dim=256,
        dropout=0.0,
        activation="gelu",
        normalize_first=False,
        layer_norm_epsilon=1e-5,
        max_question_length=64,
        stride=128,
        max_answer_length=30,
        preprocessor=None,
        low_rank=None,
        **kwargs,
    ):
        if preprocessor is not None:
            check_preprocessor(preprocessor, vocabulary_size, sequence_length)
        if not isinstance(max_answer_length, int) or max_answer_length < 1:
            raise ValueError(f"max_answer_length must be a positive integer. Received: {max_answer_length!r}")

        # === Functional graph ===
        token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
        padding_mask = keras.Input((sequence_length,), dtype="int32", name="padding_mask")
        segment_ids = keras.Input((sequence_length,), dtype="int32", name="segment_ids")
        x = text_encoder_stack(
            token_ids, padding_mask, vocabulary_size=vocabulary_size, sequence_length=sequence_length,
            hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads, intermediate_dim=intermediate_dim,
            dropout=dropout, activation=activation, normalize_first=normalize_first,
            layer_norm_epsilon=layer_norm_epsilon, segment_ids=segment_ids, num_segments=2,
            low_rank=low_rank,
        )  # (B, T, D)
        logits = keras.layers.Dense(2, name="span_logits")(x)  # (B, T, 2)
        real = ops.cast(padding_mask, "bool")
        start_logits = ops.where(real, logits[..., 0], MASKED_LOGIT)
        end_logits = ops.where(real, logits[..., 1], MASKED_LOGIT)
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids},
            outputs={"start_logits": start_logits, "end_logits": end_logits},
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.max_question_length = max_question_length
        self.stride = stride
        self.max_answer_length = max_answer_length
        self.preprocessor = preprocessor
        self.low_rank = None if low_rank is None else dict(low_rank)
        self._packer = None
        if preprocessor is not None:
            self.packer  # check the window sizes now, not at the first answer()

    @classmethod
    def from_preset(cls, name, vocabulary=None, preprocessor=None, **overrides):
        """Build from a named preset with a WordPiece vocabulary (list or file) or a preprocessor."""
        config, preprocessor = preset_with_preprocessor(
            cls, "question_answerer", name, vocabulary, preprocessor, overrides
        )
        return cls(preprocessor=preprocessor, **config)

    @classmethod
    def from_checkpoint(cls, path, sequence_length=256, **overrides):
        """A QA model whose encoder (and segment embedding) start from a BERT-family checkpoint.

        Args:
            path: checkpoint directory, or `"minilm"` (all-MiniLM-L6-v2).
            sequence_length: tokens per window (at most the checkpoint's
                position table: 512 for MiniLM).
            overrides: e.g. `dropout=0.1`, `stride=64`.
        """
        from zoo.checkpoints import load_bert

        checkpoint = load_bert(path)
        config = checkpoint.model_config(sequence_length)
        config.update(overrides)
        model = cls(preprocessor=checkpoint.preprocessor(config["sequence_length"]), **config)
        checkpoint.assign(model)
        return model

    @property
    def packer(self):
        """The `zoo.tokenizers.spans.QuestionContextPacker` that makes this model's windows."""
        if self.preprocessor is None:
            raise ValueError(
                "this QuestionAnswerer has no preprocessor, so it takes token ids, not strings; "
                "build it with from_preset(..., vocabulary=...) or from_checkpoint(...)"
            )
        if self._packer is None:
            from zoo.tokenizers.spans import QuestionContextPacker

            self._packer = QuestionContextPacker(self.preprocessor, self.max_question_length, self.stride)
        return self._packer

    def answer_tensors(self, questions, contexts, num_windows=None):
        """Strings `(B,)` -> the best answer of each pair over all its windows (TensorFlow ops).

        Used eagerly by `answer` and traced into the SavedModel; the
        packer (`zoo.tokenizers.spans.QuestionContextPacker.answer`) does
        the string work around this model's call.
        """
        return self.packer.answer(self, questions, contexts, self.max_answer_length, num_windows)

    def answer(self, question, context, batch_size=32):
        """The answer to each question, a span of its context.

        Args:
            question, context: strings, or equal-length lists of strings.
            batch_size: pairs per model call.

        Returns:
            For strings, a dict `{"text", "score", "start", "end"}`: the
            answer (exactly `context[start:end]`), its score (start + end
            logit; higher is surer, comparable across the windows of one
            context) and character offsets. For lists, a list of such dicts.
            A question the context cannot answer still gets the best span.

        Raises:
            ValueError: an empty or non-string question or context, or lists
                of different lengths.
        """
        check_integer("batch_size", batch_size)
        single = isinstance(question, (str, bytes)) and isinstance(context, (str, bytes))
        questions = _texts(question, "question")
        contexts = _texts(context, "context")
        if len(questions) != len(contexts):
            raise ValueError(f"got {len(questions)} questions but {len(contexts)} contexts; pass one context per question")
        results = []
        for begin in range(0, len(questions), batch_size):
            batch = self.answer_tensors(questions[begin : begin + batch_size], contexts[begin : begin + batch_size])
            out = {name: ops.convert_to_numpy(value) for name, value in batch.items()}
            for i in range(len(out["answer"])):
                results.append({
                    "text": out["answer"][i].decode("utf-8"),
                    "score": float(out["score"][i]),
                    "start": int(out["start"][i]),
                    "end": int(out["end"][i]),
                })
        return results[0] if single else results


def _texts(value, what):
    """A list of non-empty strings from a string or a list, with clear errors."""
    values = [value] if isinstance(value, (str, bytes)) else list(np.asarray(value, dtype=object).reshape(-1))
    if not values:
        raise ValueError(f"no {what}s given")
    texts = []
    for index, text in enumerate(values):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str):
            raise ValueError(f"{what} {index} is a {type(text).__name__}, not a string")
        check_unicode(text, f"{what} {index}")
        if not text.strip():
            raise ValueError(f"{what} {index} is empty; extractive QA needs a non-empty question and context")
        texts.append(text)
    return texts

