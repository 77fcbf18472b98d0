"""The evaluation of `recipes.qa`: SQuAD scores, the window layout for apps, each export's speed."""

import time

import numpy as np
import tensorflow as tf

from recipes.common import docker_command, timed
from zoo.export.question_answerer import tflite_answer
from zoo.metrics.squad import squad_scores


def evaluate(answers, examples):
    predictions = [a["text"] for a in answers]
    return squad_scores(predictions, [list(e.answers) for e in examples])


def f1_on(model, test):
    """SQuAD F1 of `model`'s answers to the held-out questions (a `run.variants` evaluation; nothing written)."""
    return evaluate(model.answer([e.question for e in test], [e.context for e in test]), test)["f1"]


def answer_held_out(run, model, test):
    """Answer every held-out question (best span over all its windows), score it, write predictions.json.

    Returns:
        `(answers, scores, seconds)`: the answers, SQuAD exact match and F1, Keras's seconds.
    """
    answers, seconds = timed(model.answer, [e.question for e in test], [e.context for e in test])
    scores = evaluate(answers, test)
    print(
        f"held-out: exact match {scores['exact_match']:.1f}, F1 {scores['f1']:.1f} "
        f"({len(test) / seconds:.1f} questions/s in Keras)",
        flush=True,
    )
    run.write_json("predictions.json", predictions(test, answers))
    return answers, scores, seconds


def export_and_measure(run, model, test, answers, tflite_questions):
    """`qa.json`, then `run.export`; the SavedModel's speed and each TFLite file's EM/F1 on the
    first `tflite_questions` held-out questions, added to the exports summary it returns."""
    run.write_json("qa.json", window_layout(model))
    exports = run.export(model, sample_inputs(model, test[:8]))
    saved = exports["saved_model"]
    saved["questions_per_second"] = saved_model_speed(saved["path"], test)
    evaluate_tflite(model, exports, test[:tflite_questions], answers)
    return exports


def window_layout(model):
    """`qa.json`: how an app cuts (question, context) into windows, and the special token ids."""
    preprocessor = model.preprocessor
    return {
        "vocabulary": "vocabulary.txt",
        "lowercase": preprocessor.lowercase,
        "sequence_length": model.sequence_length,
        "max_question_length": model.max_question_length,
        "context_tokens_per_window": model.packer.budget,
        "stride": model.stride,
        "max_answer_length": model.max_answer_length,
        "cls_id": preprocessor.cls_id,
        "sep_id": preprocessor.sep_id,
        "pad_id": preprocessor.pad_id,
    }


def sample_inputs(model, sample):
    """Strings for the SavedModel, the first window's token ids for the TFLite files."""
    questions, contexts = [e.question for e in sample], [e.context for e in sample]
    windows = model.packer.windows(questions, contexts, num_windows=1)
    return {
        "question": np.array(questions, dtype=object),
        "context": np.array(contexts, dtype=object),
        **{name: windows[name][0].numpy() for name in ("token_ids", "padding_mask", "segment_ids")},
    }


def evaluate_tflite(model, exports, on_device, answers):
    """EM/F1 and questions/s of each TFLite file on the first held-out questions, in place."""
    for name, entry in exports["tflite"].items():
        started = time.perf_counter()
        questions, contexts = [e.question for e in on_device], [e.context for e in on_device]
        tflite_answers = tflite_answer(model, entry["path"], questions, contexts)
        entry["questions_per_second"] = round(len(on_device) / (time.perf_counter() - started), 1)
        entry["evaluated_questions"] = len(on_device)
        entry.update({f"tflite_{k}": v for k, v in evaluate(tflite_answers, on_device).items()})
        entry["keras_f1"] = evaluate(answers[: len(on_device)], on_device)["f1"]
        print(
            f"TFLite {name}: EM {entry['tflite_exact_match']:.1f} / F1 {entry['tflite_f1']:.1f} "
            f"on {len(on_device)} questions (Keras F1 {entry['keras_f1']:.1f}), "
            f"{entry['questions_per_second']} questions/s",
            flush=True,
        )


def predictions(test, answers):
    """`predictions.json`: each held-out question's predicted answer, score and references."""
    return {
        e.id: {"question": e.question, "prediction": a["text"], "score": a["score"], "answers": list(e.answers)}
        for e, a in zip(test, answers)
    }


def print_results(metrics, test, answers):
    """Scores of Keras and each export, sizes and speeds, the first answers, how to serve."""
    examples = [
        f"Q: {e.question[:60]}\n   predicted {a['text'][:40]!r} (score {a['score']:.1f}); "
        f"reference {e.answers[0][:40]!r}"
        for e, a in zip(test[:5], answers[:5])
    ]
    print("\n=== results ===")
    print(
        f"held-out ({metrics['test_questions']:,} questions, {metrics['test_articles']} "
        f"articles): exact match {metrics['exact_match']:.1f}, F1 {metrics['f1']:.1f}"
    )
    for name, entry in metrics["exports"]["tflite"].items():
        print(
            f"TFLite {name:<22} F1 {entry['tflite_f1']:5.1f} on {entry['evaluated_questions']} "
            f"questions   {entry['bytes'] / 1e6:7.2f} MB   {entry['questions_per_second']:6.1f} "
            "questions/s"
        )
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel {saved['bytes'] / 1e6:.2f} MB, {saved['questions_per_second']} questions/s   {saved['path']}")
    for line in examples:
        print(f"  {line}")
    print(f"serve: {docker_command(saved['path'], 'qa')}")
    print(f"total {metrics['seconds']:.0f}s", flush=True)


def saved_model_speed(path, test, count=200, batch_size=32):
    """Questions per second through the reloaded SavedModel's serving signature."""
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    sample = test[:count]
    started = time.perf_counter()
    for begin in range(0, len(sample), batch_size):
        chunk = sample[begin : begin + batch_size]
        serve(question=tf.constant([e.question for e in chunk]), context=tf.constant([e.context for e in chunk]))
    return round(len(sample) / (time.perf_counter() - started), 1)
