"""Transformer vs LSTM vs CNN: parameter-matched models and the experiments of `recipes.compare`.

from zoo.comparison import matched_classifiers, throughput, long_range
models = matched_classifiers(["transformer", "lstm", "cnn"], budget=100_000,
                             vocabulary_size=1000, sequence_length=128, num_classes=2)
"""

from zoo.comparison.experiments import long_range, scaling, throughput
from zoo.comparison.matching import ARCHITECTURES, build_classifier, matched_classifiers, matched_width, matched_widths

__all__ = [
    "ARCHITECTURES",
    "build_classifier",
    "long_range",
    "matched_classifiers",
    "matched_width",
    "matched_widths",
    "scaling",
    "throughput",
]
