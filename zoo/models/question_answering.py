"""Extractive question answering: the answer is a span of the context, found by start/end logits."""

import keras
import numpy as np
from keras import ops

from zoo.models.backbones import TransformerEncoderBackbone
from zoo.models.base import Task
from zoo.models.task import check_integer, check_unicode
from zoo.models.text_encoder import (
    backbone_property,
    encoder_backbone,
    flat_encoder_arguments,
    preset_with_preprocessor,
)

MASKED_LOGIT = -1e9  # start/end logit of padding positions


# QuestionAnswerer's encoder arguments before it took a backbone (issue 20); still taken by the
# constructor, `from_preset`, `BertCheckpoint.model_config` and old `.keras` files.
FLAT_ARGUMENTS = flat_encoder_arguments(
    hidden_dim=128, num_layers=2, num_heads=4, intermediate_dim=256, layer_norm_epsilon=1e-5
)


@keras.saving.register_keras_serializable(package="zoo")
class QuestionAnswerer(Task):
    """BERT-style span extraction: `[CLS] question [SEP] context [SEP]` -> start and end logits.

    `token_ids`, `padding_mask` and `segment_ids` (0 for `[CLS]`, the
    question and its `[SEP]`; 1 for the context and the last `[SEP]`) -> a
    Transformer encoder backbone with segments (token + position + segment
    embeddings, encoder blocks) -> one dense layer giving each token a
    start logit and an end logit (`{"start_logits", "end_logits"}`, each
    `(B, T)`, padding at `MASKED_LOGIT`). Trained with cross-entropy on the
    answer's first and last token (`[CLS]`, position 0, for a window
    without the answer).

    With a WordPiece `preprocessor`, `answer(question, context)` reads
    contexts of any length in overlapping windows (`stride` context tokens
    apart) and returns the best span's exact text, score and character
    offsets in the original context.

    Args:
        backbone: a `zoo.models.TransformerEncoderBackbone` with
            `num_segments >= 2`.
        max_question_length: question tokens kept.
        stride: context tokens between consecutive windows.
        max_answer_length: longest answer, in tokens.
        preprocessor: optional WordPiece `TextPreprocessor` (its
            vocabulary and `sequence_length` must be the backbone's).

    Instead of a backbone, the constructor (and `from_preset`,
    `from_checkpoint`, and files saved before backbones) takes the flat
    arguments of earlier versions: `vocabulary_size`, `sequence_length`,
    `hidden_dim`, `num_layers`, `num_heads`, `intermediate_dim`, `dropout`,
    `activation`, `normalize_first`, `layer_norm_epsilon` and `low_rank`
    (as `TextClassifier`'s); they describe a backbone with two segments and
    inputs `(B, sequence_length)`, as before, and the config then holds it.

    Example:
    >>> model = QuestionAnswerer.from_checkpoint("minilm", sequence_length=256)
    >>> model.fit(...)  # e.g. recipes.qa
    >>> model.answer("Who wrote it?", "It was written by Ada in 1843.")
    # -> {"text": "Ada", "score": <start + end logit>, "start": 18, "end": 21} once trained
    """

    flat_arguments = FLAT_ARGUMENTS

    layer_arguments = ("backbone", "preprocessor")
    backbone_class = TransformerEncoderBackbone

    def __init__(
        self,
        backbone=None,
        max_question_length=64,
        stride=128,
        max_answer_length=30,
        preprocessor=None,
        **kwargs,
    ):
        flat = self.pop_flat_arguments(kwargs)
        backbone = encoder_backbone(type(self), backbone, flat, preprocessor, num_segments=2, fixed_input_length=True)
        if backbone.num_segments < 2:
            raise ValueError(
                "QuestionAnswerer needs a backbone with num_segments >= 2 (the question's and the "
                f"context's segment ids). Received: num_segments={backbone.num_segments}"
            )
        if not isinstance(max_answer_length, int) or max_answer_length < 1:
            raise ValueError(f"max_answer_length must be a positive integer. Received: {max_answer_length!r}")

        # === Head ===
        # Built from the backbone's own inputs and output, so the model's layers are the backbone's
        # plus the head: the weight layout of files saved before backbones.
        logits = keras.layers.Dense(2, name="span_logits")(backbone.output)  # (B, T, 2)
        real = ops.cast(backbone.input["padding_mask"], "bool")
        start_logits = ops.where(real, logits[..., 0], MASKED_LOGIT)
        end_logits = ops.where(real, logits[..., 1], MASKED_LOGIT)
        super().__init__(
            inputs=backbone.input,
            outputs={"start_logits": start_logits, "end_logits": end_logits},
            **kwargs,
        )
        self.backbone = backbone

        # === Config ===
        self.max_question_length = max_question_length
        self.stride = stride
        self.max_answer_length = max_answer_length
        self.preprocessor = preprocessor
        self._packer = None
        if preprocessor is not None:
            _ = self.packer  # check the window sizes now, not at the first answer()

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
            raise ValueError(
                f"got {len(questions)} questions but {len(contexts)} contexts; pass one context per question"
            )
        results = []
        for begin in range(0, len(questions), batch_size):
            batch = self.answer_tensors(questions[begin : begin + batch_size], contexts[begin : begin + batch_size])
            out = {name: ops.convert_to_numpy(value) for name, value in batch.items()}
            for i in range(len(out["answer"])):
                results.append(
                    {
                        "text": out["answer"][i].decode("utf-8"),
                        "score": float(out["score"][i]),
                        "start": int(out["start"][i]),
                        "end": int(out["end"][i]),
                    }
                )
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
