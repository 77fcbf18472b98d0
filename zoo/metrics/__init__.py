"""Evaluation metrics that return plain, JSON-serializable Python values."""

from zoo.metrics.classification import classification_report
from zoo.metrics.generation import (
    bleu,
    lead_baseline,
    perplexity,
    rouge,
    typical_length,
)

__all__ = [
    "bleu",
    "classification_report",
    "lead_baseline",
    "perplexity",
    "rouge",
    "typical_length",
]
