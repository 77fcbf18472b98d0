"""Classification metrics as a JSON-ready report (scikit-learn underneath)."""

import numpy as np


def _check_labels(y_true, y_pred, num_classes):
    """Returns `y_true, y_pred` as int arrays, or raises a ValueError."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or not len(y_true):
        raise ValueError(
            "y_true and y_pred must be non-empty 1-D arrays of equal length; "
            f"received shapes {y_true.shape} and {y_pred.shape}"
        )
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class indices; received dtype={values.dtype}")
        bad = values[(values < 0) | (values >= num_classes)]
        if len(bad):
            raise ValueError(
                f"{name} holds class index {int(bad[0])}; expected indices in "
                f"[0, {num_classes}) for the {num_classes} class names"
            )
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def classification_report(y_true, y_pred, class_names):
    """Accuracy, macro precision/recall/F1, per-class scores and confusions.

    Macro averages are taken over the classes that occur in `y_true` or
    `y_pred`, as scikit-learn's `average="macro"` does; per-class entries
    cover every class name (0.0 where undefined, e.g. never predicted).

    Args:
        y_true: true class indices, shape (N,).
        y_pred: predicted class indices, shape (N,).
        class_names: names of classes `0 .. len(class_names) - 1`.

    Returns:
        A dict of plain Python values: `accuracy`, `precision`, `recall`,
        `f1`, `num_examples`, `per_class` (`name -> {precision, recall, f1,
        support}`) and `confusion_matrix` (rows: true class, columns:
        predicted class).

    Raises:
        ValueError: the inputs differ in length, are empty, or hold an index
            outside `[0, len(class_names))`.
    """
    from sklearn import metrics

    class_names = [str(name) for name in class_names]
    y_true, y_pred = _check_labels(y_true, y_pred, len(class_names))
    all_classes = list(range(len(class_names)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=all_classes, zero_division=0
    )
    present = np.union1d(y_true, y_pred)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    confusion = metrics.confusion_matrix(y_true, y_pred, labels=all_classes)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "precision": float(np.mean(precision[present])),
        "recall": float(np.mean(recall[present])),
        "f1": float(np.mean(f1[present])),
        "num_examples": int(len(y_true)),
        "per_class": per_class,
        "confusion_matrix": confusion.astype(int).tolist(),
    }
