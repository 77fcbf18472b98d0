"""Tests for zoo.metrics.classification_report against hand-computed numbers."""

import json

import pytest

from zoo.metrics import classification_report

# y_true  0 0 1 1 2 2
# y_pred  0 1 1 1 2 0
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0]
# precision: class 0: 1 of 2 predicted, class 1: 2 of 3, class 2: 1 of 1
# recall:    class 0: 1 of 2 true,      class 1: 2 of 2, class 2: 1 of 2
PRECISION = [1 / 2, 2 / 3, 1.0]
RECALL = [1 / 2, 1.0, 1 / 2]
F1 = [1 / 2, 4 / 5, 2 / 3]  # 2pr / (p + r)


def test_report_matches_hand_computed_numbers():
    report = classification_report(Y_TRUE, Y_PRED, ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["precision"] == pytest.approx(sum(PRECISION) / 3)
    assert report["recall"] == pytest.approx(sum(RECALL) / 3)
    assert report["f1"] == pytest.approx(sum(F1) / 3)
    assert report["num_examples"] == 6
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    for i, name in enumerate("abc"):
        assert report["per_class"][name] == pytest.approx(
            {"precision": PRECISION[i], "recall": RECALL[i], "f1": F1[i], "support": 2}
        )


def test_report_is_plain_json():
    report = classification_report(Y_TRUE, Y_PRED, ["a", "b", "c"])
    assert json.loads(json.dumps(report)) == report
    assert type(report["accuracy"]) is float
    assert type(report["confusion_matrix"][0][0]) is int
    assert type(report["per_class"]["a"]["support"]) is int


def test_absent_class_is_listed_but_left_out_of_macro_average():
    report = classification_report(Y_TRUE, Y_PRED, ["a", "b", "c", "d"])
    assert report["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["f1"] == pytest.approx(sum(F1) / 3)
    assert len(report["confusion_matrix"]) == 4
    assert report["confusion_matrix"][3] == [0, 0, 0, 0]


def test_never_predicted_class_scores_zero_precision():
    report = classification_report([0, 1], [0, 0], ["a", "b"])
    assert report["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["precision"] == pytest.approx((1 / 2 + 0) / 2)


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([0, 1], [0], r"shapes \(2,\) and \(1,\)"),
        ([], [], "non-empty"),
        ([0, 3], [0, 1], "y_true holds class index 3; expected indices in \\[0, 3\\)"),
        ([0, 1], [0, -1], "y_pred holds class index -1"),
        ([0.0, 1.0], [0, 1], "integer class indices; received dtype=float64"),
    ],
)
def test_report_rejects_bad_inputs(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        classification_report(y_true, y_pred, ["a", "b", "c"])
