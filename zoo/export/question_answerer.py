"""Export endpoints of `QuestionAnswerer`: (question, context) strings -> answers; token-id TFLite."""

import numpy as np
import tensorflow as tf

from zoo.export.endpoint import Endpoint, checked_shape
from zoo.export.registry import register_endpoint
from zoo.export.runtime import as_strings, run_signature, tflite_interpreter
from zoo.models import QuestionAnswerer
from zoo.tokenizers.spans import spans_to_answers

SAMPLE_PAIRS = (
    ("Who wrote the letter?", "The letter was written by Ada Lovelace in 1843, in London."),
    ("Where is São Paulo?", "São Paulo, the largest city of Brazil, lies on a plateau; “crème brûlée” is French."),
    ("What?", "Nothing here answers it."),
)


def sample_pairs():
    return {
        "question": np.array([q for q, _ in SAMPLE_PAIRS], dtype=object),
        "context": np.array([c for _, c in SAMPLE_PAIRS], dtype=object),
    }


def _require_preprocessor(model):
    if model.preprocessor is None:
        raise ValueError(
            "a string-in export needs a QuestionAnswerer with a preprocessor; "
            "build it with from_checkpoint(...) or from_preset(..., vocabulary=...)"
        )


@register_endpoint(QuestionAnswerer)
def saved_model_endpoint(model):
    """`serving_default`: `question`, `context` strings `(B,)` -> `answer`, `score`, `start`, `end`.

    Each context is read in as many windows as the longest context of the
    request needs, inside the graph (no length limit). `start`/`end` are character offsets into the context; a pair
    with an empty context gets an empty answer with score `-inf`.
    """
    _require_preprocessor(model)

    def serve(question, context):
        question, context = checked_shape(question, [None], "question"), checked_shape(context, [None], "context")
        out = model.answer_tensors(question, context)
        return {name: out[name] for name in ("answer", "score", "start", "end")}

    def reference(inputs):
        results = model.answer(as_strings(inputs["question"]), as_strings(inputs["context"]))
        return {
            "answer": np.array([r["text"].encode("utf-8") for r in results], dtype=object),
            "score": np.array([r["score"] for r in results], "float32"),
            "start": np.array([r["start"] for r in results], "int32"),
            "end": np.array([r["end"] for r in results], "int32"),
        }

    return Endpoint(
        function=serve,
        input_signature={
            "question": tf.TensorSpec((None,), tf.string, name="question"),
            "context": tf.TensorSpec((None,), tf.string, name="context"),
        },
        reference=reference,
        sample_inputs=sample_pairs(),
        tolerances={"score": 1e-4},  # answers and offsets must match exactly
    )


def window_samples(model):
    """Real windows of the sample pairs: `token_ids`, `padding_mask`, `segment_ids` `(3, L)`."""
    if model.preprocessor is None:
        length = model.sequence_length
        rng = np.random.default_rng(0)
        padding_mask = (np.arange(length)[None, :] < np.array([[length], [length // 2], [5]])).astype("int32")
        segment_ids = ((np.arange(length)[None, :] >= 3) & (padding_mask > 0)).astype("int32")
        token_ids = rng.integers(0, model.vocabulary_size, size=(3, length)).astype("int32") * padding_mask
        return {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}
    pairs = sample_pairs()
    windows = model.packer.windows(pairs["question"], pairs["context"], 1)
    return {name: windows[name][0].numpy() for name in ("token_ids", "padding_mask", "segment_ids")}


@register_endpoint(QuestionAnswerer, kind="tflite")
def tflite_endpoints(model):
    """`token_ids`: one window per row -> `start_logits`, `end_logits` `(B, L)`.

    The app builds the windows (`vocabulary.txt` and the layout in the
    recipe's `qa.json`) and picks the best span, as
    `zoo.export.question_answerer.tflite_answer` does.
    """
    length = model.sequence_length

    def serve(token_ids, padding_mask, segment_ids):
        outputs = model(
            {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}, training=False
        )
        return {"start_logits": outputs["start_logits"], "end_logits": outputs["end_logits"]}

    def reference(inputs):
        outputs = model({name: tf.constant(value) for name, value in inputs.items()}, training=False)
        return {name: np.asarray(value) for name, value in outputs.items()}

    return {
        "token_ids": Endpoint(
            function=serve,
            input_signature={
                name: tf.TensorSpec((None, length), tf.int32, name=name)
                for name in ("token_ids", "padding_mask", "segment_ids")
            },
            reference=reference,
            sample_inputs=window_samples(model),
            tolerances={"start_logits": 1e-3, "end_logits": 1e-3},
            # Trained logits span about +-10 and int8 weights move them by tenths;
            # 5.0 still catches a broken file. The recipe measures EM/F1 of each file.
            quantized_tolerances={"dynamic": 5.0, "float16": 0.5},
        )
    }


def tflite_answer(model, path, questions, contexts, batch_size=32):
    """Answers through a token-id TFLite file, windows and span choice as `model.answer` does.

    This is what an app does around the file; its answers equal
    `model.answer`'s when the file's logits equal the model's.

    Returns:
        a list of `{"text", "score", "start", "end"}` dicts.
    """
    interpreter = tflite_interpreter(path)
    packer = model.packer
    results = []
    for begin in range(0, len(questions), batch_size):
        batch_questions = tf.constant(list(questions[begin : begin + batch_size]))
        batch_contexts = tf.constant(list(contexts[begin : begin + batch_size]))
        windows = packer.windows(batch_questions, batch_contexts)
        shape = windows["token_ids"].shape
        inputs = {
            name: windows[name].numpy().reshape(-1, shape[-1]) for name in ("token_ids", "padding_mask", "segment_ids")
        }
        outputs = run_signature(interpreter, "serving_default", inputs)
        out = spans_to_answers(
            batch_contexts,
            windows,
            tf.reshape(outputs["start_logits"], shape),
            tf.reshape(outputs["end_logits"], shape),
            model.max_answer_length,
        )
        for i in range(len(out["answer"])):
            results.append(
                {
                    "text": out["answer"][i].numpy().decode("utf-8"),
                    "score": float(out["score"][i]),
                    "start": int(out["start"][i]),
                    "end": int(out["end"][i]),
                }
            )
    return results
