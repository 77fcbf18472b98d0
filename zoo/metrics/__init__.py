"""Evaluation metrics that return plain, JSON-serializable Python values."""

from zoo.metrics.classification import classification_report

__all__ = ["classification_report"]
