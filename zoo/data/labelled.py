"""What image and text datasets share: label checks, `take`, and the stratified split."""

import dataclasses

import numpy as np

from zoo.data.sources import DataError


def check_array(name, field, array, dtype, rank):
    """Raises a DataError unless `array` is a NumPy array of dtype and rank."""
    if not isinstance(array, np.ndarray):
        raise DataError(f"dataset {name!r} {field} must be a numpy array; received {type(array).__name__}")
    if array.dtype != dtype or array.ndim != rank:
        raise DataError(
            f"dataset {name!r} {field} have dtype={array.dtype}, "
            f"shape={array.shape}; expected dtype={np.dtype(dtype)} and rank {rank}"
        )


class LabelledExamples:
    """Mixin for dataclasses with `labels`, `class_names` and `name`, and a `subset` method."""

    def _check_labels(self, num_examples, what):
        """Labels are int64 `(N,)`, one per example, each a valid class index."""
        self.class_names = list(self.class_names)
        check_array(self.name, "labels", self.labels, np.int64, rank=1)
        if num_examples != len(self.labels):
            raise DataError(
                f"dataset {self.name!r} has {num_examples} {what} but {len(self.labels)} labels; expected equal counts"
            )
        if not self.class_names:
            raise DataError(f"dataset {self.name!r} has no class names")
        if len(self.labels):
            low, high = int(self.labels.min()), int(self.labels.max())
            if low < 0 or high >= self.num_classes:
                raise DataError(
                    f"dataset {self.name!r} has label {low if low < 0 else high}; "
                    f"expected labels in [0, {self.num_classes}) for its "
                    f"{self.num_classes} class names"
                )

    @property
    def num_classes(self):
        return len(self.class_names)

    def __len__(self):
        return len(self.labels)

    def take(self, n):
        """A new dataset of the first `n` examples (all, when fewer)."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise DataError(f"take() expects a non-negative integer; received n={n!r}")
        return self.subset(np.arange(min(int(n), len(self))))


def named(dataset, name):
    """A copy of `dataset` called `name`."""
    return dataclasses.replace(dataset, name=name)


def stratified_split(dataset, *, test_fraction=0.2, seed=0):
    """Splits `dataset` into (train, test), stratified by label.

    The parts are named `NAME/train` and `NAME/test` after `dataset.name`.

    Raises:
        DataError: some class has too few examples to appear on both sides.
    """
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(dataset))
    try:
        train_indices, test_indices = train_test_split(
            indices, test_size=test_fraction, stratify=dataset.labels, random_state=seed
        )
    except ValueError as error:
        raise DataError(
            f"cannot split {dataset.name!r} stratified with test_fraction={test_fraction}: {error}"
        ) from None
    train = dataset.subset(np.sort(train_indices))
    test = dataset.subset(np.sort(test_indices))
    return named(train, f"{dataset.name}/train"), named(test, f"{dataset.name}/test")
