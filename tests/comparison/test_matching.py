"""Parameter-matched models for the comparisons."""

import pytest

from zoo.comparison.matching import (
    build_classifier,
    build_language_model,
    matched_classifiers,
    matched_width,
)


class _Counted:
    def __init__(self, parameters):
        self.parameters = parameters

    def count_params(self):
        return self.parameters


@pytest.mark.parametrize("budget", [10, 1000, 12_345, 99_999])
@pytest.mark.parametrize("step", [1, 4])
def test_matched_width_is_the_closest_multiple_of_step(budget, step):
    def build(width):
        return _Counted(3 * width * width + 7 * width)

    width, parameters = matched_width(build, budget, step=step)
    best = min(range(step, 2049, step), key=lambda w: abs(build(w).count_params() - budget))  # brute force
    assert (width, parameters) == (best, build(best).count_params())


def test_matched_width_rejects_a_non_positive_budget():
    with pytest.raises(ValueError, match="budget"):
        matched_width(lambda width: _Counted(width), 0)


def test_matched_classifiers_are_within_a_few_percent_of_the_budget():
    models = matched_classifiers(
        ["transformer", "lstm", "bilstm", "cnn"],
        40_000,
        vocabulary_size=500,
        sequence_length=32,
        num_classes=3,
    )
    for architecture, (model, _width) in models.items():
        assert abs(model.count_params() - 40_000) / 40_000 < 0.03, (architecture, model.count_params())
        assert model.output_shape == (None, 3)
    assert models["transformer"][1] % 4 == 0


def test_each_architecture_builds_its_model_class():
    from zoo.models import CausalLM, CNNClassifier, LSTMClassifier, TextClassifier
    from zoo.models.lstm_lm import LSTMLanguageModel

    shape = dict(vocabulary_size=50, sequence_length=16, num_classes=2)
    assert isinstance(build_classifier("transformer", 16, **shape), TextClassifier)
    bilstm = build_classifier("bilstm", 16, **shape)
    assert isinstance(bilstm, LSTMClassifier) and bilstm.bidirectional
    assert isinstance(build_classifier("cnn", 16, **shape), CNNClassifier)
    assert isinstance(build_language_model("transformer", 16, vocabulary_size=50, sequence_length=16), CausalLM)
    assert isinstance(build_language_model("lstm", 16, vocabulary_size=50, sequence_length=16), LSTMLanguageModel)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_classifier("gru", 16, **shape)
    with pytest.raises(ValueError, match="unknown language-model architecture"):
        build_language_model("cnn", 16, vocabulary_size=50, sequence_length=16)
