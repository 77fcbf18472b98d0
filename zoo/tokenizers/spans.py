"""Question + context -> sliding windows of token ids with character offsets, and best-span decoding.

Extractive question answering reads `[CLS] question [SEP] context [SEP]`.
A context longer than one window is read in several windows that overlap
(`stride` context tokens apart); every context token keeps the byte span
it came from in the *original* text (through the normalizer's offsets), so
a predicted token span maps back to an exact substring of what the user
sent, accents and punctuation included. Everything here is TensorFlow ops
(ragged slicing, `tf.strings.substr`), so the same code runs eagerly for
`QuestionAnswerer.answer`, in `tf.data` for training, and inside the
SavedModel's serving signature.

Layout of one window (length `sequence_length`, fixed context budget):

    [CLS] q1 .. qn [SEP] c_s .. c_{s+k-1} [SEP] [PAD] ...
    segment 0 ...............  segment 1 .........   (padding 0)

`n <= max_question_length`; `k <= budget = sequence_length - 3 -
max_question_length`, the same for every question, so a window covers the
same context tokens in training, in `answer()` and in the SavedModel.
"""

import tensorflow as tf

NO_SPAN = -1e9  # logit given to positions outside the context
MAX_WORD_PIECES = 16  # pieces a span may be widened by on each side to reach whole words


class QuestionContextPacker:
    """Tokenize (question, context) pairs into overlapping windows with offsets.

    Args:
        preprocessor: a WordPiece `zoo.tokenizers.TextPreprocessor` (its
            vocabulary, normalizer and `sequence_length`).
        max_question_length: question tokens kept (the rest is dropped).
        stride: context tokens between the starts of consecutive windows
            (at most the window's context budget, so windows overlap or touch).
    """

    def __init__(self, preprocessor, max_question_length=64, stride=128):
        if preprocessor.sentencepiece_model is not None:
            raise ValueError("question answering needs a WordPiece TextPreprocessor (character offsets)")
        self.preprocessor = preprocessor
        self.sequence_length = preprocessor.sequence_length
        self.max_question_length = max_question_length
        self.budget = self.sequence_length - 3 - max_question_length
        if self.budget < 8:
            raise ValueError(
                f"sequence_length {self.sequence_length} leaves {self.budget} context tokens per window after "
                f"max_question_length {max_question_length}; need at least 8"
            )
        if not 1 <= stride <= self.budget:
            raise ValueError(
                f"stride must be in [1, {self.budget}] (the context tokens of a window). Received: {stride}"
            )
        self.stride = stride
        # 1 for WordPiece continuation pieces ("##ing"): answers are widened to whole words.
        self.continuation = tf.constant([int(token.startswith("##")) for token in preprocessor.vocabulary], tf.int32)

    def tokenize_context(self, contexts):
        """Context pieces `(B, None)` and their byte spans `[start, end)` in the original UTF-8 text."""
        contexts = tf.convert_to_tensor(contexts, tf.string)
        normalized, offsets = self.preprocessor._normalizer.normalize_with_offsets(contexts)
        ids, starts, ends = self.preprocessor._tokenizer.tokenize_with_offsets(normalized)
        # `offsets[b][i]` is the original byte of normalized byte i (one extra entry for the end).
        starts = tf.gather(offsets, tf.cast(starts, offsets.dtype), batch_dims=1)
        ends = tf.gather(offsets, tf.cast(ends, offsets.dtype), batch_dims=1)
        return tf.cast(ids, tf.int32), tf.cast(starts, tf.int32), tf.cast(ends, tf.int32)

    def num_windows(self, context_tokens):
        """Windows needed to cover a context of `context_tokens` tokens (int)."""
        extra = max(0, int(context_tokens) - self.budget)
        return 1 + -(-extra // self.stride)

    def windows(self, questions, contexts, num_windows=None):
        """The windows of each pair, as `(W, B, ...)` tensors.

        Args:
            questions, contexts: strings `(B,)`.
            num_windows: windows per pair; `None` computes, in the graph,
                as many as the longest context of the batch needs (shorter
                contexts get empty windows, which `spans_to_answers` skips).

        Returns a dict:
            token_ids, padding_mask, segment_ids: int32 `(W, B, L)`.
            context_mask: int32 `(W, B, L)`, 1 on the context tokens.
            continuation: int32 `(W, B, L)`, 1 on context tokens that
                continue a word (`##` pieces).
            byte_starts, byte_ends: int32 `(W, B, L)`, each context token's
                byte span in the original context (-1 elsewhere).
            window_start: int32 `(W,)`, first context token of each window.
            context_tokens: int32 `(B,)`, tokens of each whole context (a
                window is used when it starts before the end, or is the first).
        """
        questions = tf.convert_to_tensor(questions, tf.string)
        question_ids = self.preprocessor.tokenize(questions)[:, : self.max_question_length]
        context_ids, starts, ends = self.tokenize_context(contexts)
        L, budget = self.sequence_length, self.budget
        question_lengths = tf.cast(question_ids.row_lengths(), tf.int32)  # (B,)
        context_lengths = tf.cast(context_ids.row_lengths(), tf.int32)
        if num_windows is None:
            extra = tf.maximum(tf.reduce_max(tf.concat([context_lengths, [0]], 0)) - budget, 0)
            num_windows = 1 + (extra + self.stride - 1) // self.stride
        # Dense copies with one spare column, so gathers stay in range for empty contexts.
        question_dense = tf.concat(
            [
                question_ids.to_tensor(shape=[None, self.max_question_length]),
                tf.zeros_like(question_lengths)[:, tf.newaxis],
            ],
            axis=1,
        )
        dense = [
            tf.concat(
                [ragged.to_tensor(default_value=default), tf.fill([tf.shape(question_lengths)[0], 1], default)], 1
            )
            for ragged, default in ((context_ids, 0), (starts, -1), (ends, -1))
        ]
        window_start = tf.range(num_windows, dtype=tf.int32) * self.stride  # (W,)
        p = tf.range(L)[tf.newaxis, tf.newaxis, :]  # (1, 1, L)
        question_length = question_lengths[tf.newaxis, :, tf.newaxis]  # (1, B, 1)
        first = question_length + 2  # first context position
        taken = tf.clip_by_value(context_lengths[tf.newaxis, :, tf.newaxis] - window_start[:, None, None], 0, budget)
        in_question = (p >= 1) & (p <= question_length)
        in_context = (p >= first) & (p < first + taken)  # (W, B, L)
        question_tokens = tf.gather(
            question_dense, tf.clip_by_value(tf.range(L) - 1, 0, self.max_question_length), axis=1
        )
        index = tf.where(in_context, window_start[:, None, None] + p - first, tf.shape(dense[0])[1] - 1)  # spare column
        index = tf.transpose(index, [1, 0, 2])  # (B, W, L)

        def gather_context(values):
            return tf.transpose(tf.gather(values, index, batch_dims=1), [1, 0, 2])  # (W, B, L)

        context_tokens, byte_starts, byte_ends = (gather_context(values) for values in dense)
        pre = self.preprocessor
        separator = (p == question_length + 1) | (p == first + taken)
        token_ids = tf.where(
            in_context,
            context_tokens,
            tf.where(
                in_question,
                question_tokens[tf.newaxis],
                tf.where(p == 0, pre.cls_id, tf.where(separator, pre.sep_id, pre.pad_id)),
            ),
        )
        total = first + taken + 1
        return {
            "token_ids": token_ids,
            "padding_mask": tf.cast(p < total, tf.int32),
            "segment_ids": tf.cast((p >= first) & (p < total), tf.int32),
            "context_mask": tf.cast(in_context, tf.int32),
            "continuation": tf.where(in_context, tf.gather(self.continuation, token_ids), 0),
            "byte_starts": tf.where(in_context, byte_starts, -1),
            "byte_ends": tf.where(in_context, byte_ends, -1),
            "window_start": window_start,
            "context_tokens": context_lengths,
            # Windows a pair needs on its own (the first, then one per stride until its context
            # is covered): answers must not depend on what else is in the batch.
            "window_used": tf.cast(
                (window_start[:, tf.newaxis] == 0)
                | (window_start[:, tf.newaxis] - self.stride + budget < context_lengths[tf.newaxis, :]),
                tf.int32,
            ),
        }

    def answer(self, model, questions, contexts, max_answer_length, num_windows=None):
        """The best answer of each (question, context) pair over all its windows.

        Args:
            model: a callable on `{"token_ids", "padding_mask", "segment_ids"}`
                `(N, sequence_length)` returning `{"start_logits", "end_logits"}`
                (a `zoo.models.QuestionAnswerer`).
            questions, contexts: strings `(B,)` (lists or `tf.string` tensors).
            max_answer_length: int, the longest span in tokens.
            num_windows: optional int, windows per context (default: enough
                for the longest context of the batch).

        Returns:
            `spans_to_answers`'s dict of tensors `(B,)`: `answer`, `score`,
            `start`, `end`.
        """
        questions, contexts = tf.convert_to_tensor(questions, tf.string), tf.convert_to_tensor(contexts, tf.string)
        # A clear error (in the SavedModel too) instead of a shape clash deep in the packing.
        with tf.control_dependencies(
            [
                tf.debugging.assert_equal(
                    tf.size(questions),
                    tf.size(contexts),
                    message="question and context must hold the same number of strings (one context per question)",
                )
            ]
        ):
            questions = tf.identity(questions)
        windows = self.windows(questions, contexts, num_windows)
        shape = tf.shape(windows["token_ids"])  # (W, B, L)
        flat = {
            name: tf.reshape(windows[name], [-1, self.sequence_length])
            for name in ("token_ids", "padding_mask", "segment_ids")
        }
        outputs = model(flat, training=False)
        start_logits = tf.reshape(outputs["start_logits"], shape)
        end_logits = tf.reshape(outputs["end_logits"], shape)
        return spans_to_answers(contexts, windows, start_logits, end_logits, max_answer_length)


def best_spans(start_logits, end_logits, context_mask, max_answer_length):
    """The best `start <= end < start + max_answer_length` span inside the context of each row.

    Args:
        start_logits, end_logits: float `(N, L)`.
        context_mask: `(N, L)`, nonzero where a span may start or end.
        max_answer_length: int, the longest span in tokens.

    Returns:
        `(start, end, score)`: int32 `(N,)` token positions (inclusive) and
        float32 `(N,)` scores `start_logit + end_logit`, below `NO_SPAN`
        when the row has no context token.
    """
    inside = tf.cast(context_mask, tf.bool)
    start_logits = tf.where(inside, tf.cast(start_logits, tf.float32), NO_SPAN)
    end_logits = tf.where(inside, tf.cast(end_logits, tf.float32), NO_SPAN)
    rows, length = tf.shape(end_logits)[0], tf.shape(end_logits)[1]
    width = min(
        max_answer_length, int(start_logits.shape[1]) if start_logits.shape[1] is not None else max_answer_length
    )
    padded = tf.concat([end_logits, tf.fill([rows, width], tf.constant(NO_SPAN, tf.float32))], axis=1)
    shifted = tf.stack([padded[:, offset : offset + length] for offset in range(width)], axis=-1)  # (N, L, A)
    scores = tf.reshape(start_logits[:, :, tf.newaxis] + shifted, [rows, -1])
    best = tf.argmax(scores, axis=1, output_type=tf.int32)
    start = best // width
    return start, start + best % width, tf.reduce_max(scores, axis=1)


def spans_to_answers(contexts, windows, start_logits, end_logits, max_answer_length):
    """Best answer per pair over all of its windows.

    Args:
        contexts: `tf.string` `(B,)`.
        windows: `QuestionContextPacker.windows(...)` output (`W` windows).
        start_logits, end_logits: `(W, B, L)`.

    Returns:
        dict with `answer` (`tf.string` `(B,)`, the exact substring of the
        context; empty when there is no context), `score` (float32, the sum
        of the span's start and end logits; `-inf` without an answer),
        `start`/`end` (int32 character offsets into the context, end
        exclusive) and `window` (int32, which window won). The span is
        widened to whole words (WordPiece `##` pieces on either side), so an
        answer never starts or ends inside a word.
    """
    shape = tf.shape(start_logits)
    count, batch, length = shape[0], shape[1], shape[2]
    flat = lambda x: tf.reshape(x, [count * batch, length])  # noqa: E731
    start, end, score = best_spans(
        flat(start_logits), flat(end_logits), flat(windows["context_mask"]), max_answer_length
    )
    score = tf.reshape(score, [count, batch])
    # Only the windows the pair needs on its own count (the first always does), so a short
    # context's answer is the same alone and beside a long one.
    used = tf.cast(windows["window_used"], tf.bool)
    score = tf.where(used, score, 2 * NO_SPAN)
    best_window = tf.argmax(score, axis=0, output_type=tf.int32)  # (B,)
    pick = tf.stack([best_window, tf.range(batch)], axis=1)
    row = best_window * batch + tf.range(batch)
    start, end = tf.gather(start, row), tf.gather(end, row)
    if "continuation" in windows:  # widen the span to whole words: never answer "ating" for "alternating"
        continuation = tf.gather_nd(windows["continuation"], pick)  # (B, L)
        inside = tf.gather_nd(windows["context_mask"], pick)  # (B, L)
        last = length - 1
        for _ in range(MAX_WORD_PIECES):
            # Never past the window's first context token (a window may start inside a word).
            previous = tf.maximum(start - 1, 0)
            widen = (
                (tf.gather(continuation, start, batch_dims=1) > 0)
                & (start > 0)
                & (tf.gather(inside, previous, batch_dims=1) > 0)
            )
            start = tf.where(widen, previous, start)
            following = tf.minimum(end + 1, last)
            end = tf.where((tf.gather(continuation, following, batch_dims=1) > 0) & (end < last), following, end)
    best_score = tf.gather_nd(score, pick)
    byte_starts = tf.gather_nd(windows["byte_starts"], pick)  # (B, L)
    byte_ends = tf.gather_nd(windows["byte_ends"], pick)
    byte_start = tf.gather(byte_starts, start, batch_dims=1)
    byte_end = tf.gather(byte_ends, end, batch_dims=1)
    found = (best_score > NO_SPAN / 2) & (byte_start >= 0) & (byte_end >= byte_start)
    byte_start = tf.where(found, byte_start, 0)
    byte_end = tf.where(found, byte_end, 0)
    contexts = tf.convert_to_tensor(contexts, tf.string)
    answer = tf.strings.substr(contexts, byte_start, byte_end - byte_start, unit="BYTE")
    char_start = tf.strings.length(
        tf.strings.substr(contexts, tf.zeros_like(byte_start), byte_start, unit="BYTE"), unit="UTF8_CHAR"
    )
    char_end = char_start + tf.strings.length(answer, unit="UTF8_CHAR")
    return {
        "answer": answer,
        "score": tf.where(found, best_score, float("-inf")),
        "start": char_start,
        "end": char_end,
        "window": best_window,
    }


def training_windows(packer, questions, contexts, answer_starts, answers, chunk=256):
    """Windows with start/end labels for training, as NumPy arrays.

    Each pair gives every window that covers part of its context; a window
    holding the whole answer is labelled with the answer's first and last
    token, a window without it with `[CLS]` (position 0), as BERT does.

    Args:
        packer: a `QuestionContextPacker`.
        questions, contexts, answers: lists of strings.
        answer_starts: character offsets of `answers[i]` in `contexts[i]`.
        chunk: pairs tokenized at once.

    Returns:
        dict of `(N, L)` int32 `token_ids`, `padding_mask`, `segment_ids`,
        `(N,)` int32 `start_positions`, `end_positions`, `example_index`
        (which pair each window came from) and bool `has_answer`.
    """
    import numpy as np

    parts = {
        name: []
        for name in (
            "token_ids",
            "padding_mask",
            "segment_ids",
            "start_positions",
            "end_positions",
            "example_index",
            "has_answer",
        )
    }
    for begin in range(0, len(questions), chunk):
        end_index = min(len(questions), begin + chunk)
        batch_contexts = contexts[begin:end_index]
        windows = {
            name: value.numpy() for name, value in packer.windows(questions[begin:end_index], batch_contexts).items()
        }
        # The answer's byte span in the original UTF-8 context.
        first = np.array([len(c[:s].encode("utf-8")) for c, s in zip(batch_contexts, answer_starts[begin:end_index])])
        last = first + np.array([len(a.encode("utf-8")) for a in answers[begin:end_index]])
        inside = windows["context_mask"].astype(bool)  # (W, B, L)
        starts, ends = windows["byte_starts"], windows["byte_ends"]
        big = np.iinfo(np.int32).max
        covered_from = np.where(inside, starts, big).min(-1)  # (W, B)
        covered_to = np.where(inside, ends, -1).max(-1)
        has_answer = inside.any(-1) & (covered_from <= first[None]) & (covered_to >= last[None])
        start_position = np.argmax(inside & (ends > first[None, :, None]), axis=-1)
        end_position = inside.shape[-1] - 1 - np.argmax((inside & (starts < last[None, :, None]))[..., ::-1], axis=-1)
        has_answer &= start_position <= end_position
        count = len(windows["window_start"])
        used = (windows["window_start"][:, None] < windows["context_tokens"][None, :]) | (
            np.arange(count)[:, None] == 0
        )
        w, b = np.nonzero(used)
        for name in ("token_ids", "padding_mask", "segment_ids"):
            parts[name].append(windows[name][w, b])
        parts["start_positions"].append(np.where(has_answer, start_position, 0)[w, b])
        parts["end_positions"].append(np.where(has_answer, end_position, 0)[w, b])
        parts["example_index"].append(begin + b)
        parts["has_answer"].append(has_answer[w, b])
    return {
        name: np.concatenate(values).astype("bool" if name == "has_answer" else "int32")
        for name, values in parts.items()
    }
