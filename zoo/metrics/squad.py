"""SQuAD v1.1 exact match and F1, as the official evaluation script computes them.

Answers are normalized (lowercase, punctuation removed, the articles
a/an/the removed, whitespace collapsed) before comparing; each question
scores the best over its reference answers; both metrics are percentages.
"""

import collections
import re
import string

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text):
    """The official v1.1 normalization: lowercase, drop punctuation and articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction, reference):
    """1.0 when the normalized strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


def f1(prediction, reference):
    """Token-overlap F1 of the normalized strings (bag of words)."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(reference).split()
    common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions, references):
    """Exact match and F1 (percent) of `predictions` against lists of reference answers.

    Args:
        predictions: one answer string per question.
        references: one non-empty list of acceptable answers per question.

    Returns:
        `{"exact_match", "f1", "count"}`.
    """
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} questions")
    if not predictions:
        raise ValueError("squad_scores needs at least one question")
    totals = {"exact_match": 0.0, "f1": 0.0}
    for index, (prediction, answers) in enumerate(zip(predictions, references)):
        if isinstance(answers, str) or not answers:
            raise ValueError(f"question {index} needs a non-empty list of reference answers; received {answers!r}")
        totals["exact_match"] += max(exact_match(prediction, answer) for answer in answers)
        totals["f1"] += max(f1(prediction, answer) for answer in answers)
    count = len(predictions)
    return {"exact_match": 100.0 * totals["exact_match"] / count, "f1": 100.0 * totals["f1"] / count, "count": count}
