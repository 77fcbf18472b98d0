"""SQuAD v1.1 EM/F1 on hand-computed cases (the official script's normalization)."""

import pytest

from zoo.metrics import normalize_answer, squad_scores
from zoo.metrics.squad import exact_match, f1


def test_normalization_drops_case_punctuation_articles_and_extra_spaces():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("Theater") == "theater"  # articles only as whole words
    assert normalize_answer("Denver Broncos.") == "denver broncos"


def test_exact_match_and_f1_by_hand():
    assert exact_match("the Denver Broncos", "Denver Broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # "broncos" vs "denver broncos": precision 1, recall 1/2 -> F1 2/3.
    assert f1("Broncos", "Denver Broncos") == pytest.approx(2 / 3)
    # "in denver colorado" vs "denver": precision 1/3, recall 1 -> F1 0.5.
    assert f1("in Denver, Colorado", "Denver") == pytest.approx(0.5)
    assert f1("Paris", "London") == 0.0
    assert f1("", "London") == 0.0
    # Repeated words count once per occurrence (bag of words).
    assert f1("a b b", "b") == pytest.approx(2 * (1 / 2) * 1 / (1 / 2 + 1))


def test_scores_take_the_best_reference_and_average_in_percent():
    scores = squad_scores(
        ["Denver Broncos", "Colorado", "1990"],
        [["Denver Broncos", "Broncos"], ["Denver, Colorado"], ["1989"]],
    )
    assert scores["count"] == 3
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 0) / 3)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="2 predictions for 1 questions"):
        squad_scores(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="question 0 needs a non-empty list"):
        squad_scores(["a"], ["a"])
    with pytest.raises(ValueError, match="at least one question"):
        squad_scores([], [])
