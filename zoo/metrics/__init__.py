"""Evaluation metrics that return plain, JSON-serializable Python values."""

from zoo.metrics.classification import classification_report
from zoo.metrics.generation import (
    bleu,
    lead_baseline,
    perplexity,
    rouge,
    typical_length,
)
from zoo.metrics.squad import normalize_answer, squad_scores

__all__ = [
    "bleu",
    "classification_report",
    "lead_baseline",
    "normalize_answer",
    "perplexity",
    "rouge",
    "squad_scores",
    "typical_length",
]
