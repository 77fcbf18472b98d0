"""The long-range task generator: deterministic, labels re-derived from the tokens, distances exact."""

import numpy as np
import pytest

from zoo.data.long_range import CLS, FIRST_SYMBOL, label_of, long_range_task, task_length


@pytest.mark.parametrize("kind", ["copy", "pair_sum"])
def test_same_arguments_give_the_same_data_and_seeds_differ(kind):
    a = long_range_task(64, 10, kind=kind, seed=3)
    b = long_range_task(64, 10, kind=kind, seed=3)
    c = long_range_task(64, 10, kind=kind, seed=4)
    np.testing.assert_array_equal(a.token_ids, b.token_ids)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert (a.token_ids != c.token_ids).any()


@pytest.mark.parametrize("kind", ["copy", "pair_sum"])
@pytest.mark.parametrize("distance", [1, 7, 64])
def test_every_label_matches_the_tokens(kind, distance):
    task = long_range_task(300, distance, kind=kind, num_symbols=5, seed=1)
    assert task.token_ids.shape == (300, task_length(distance))
    assert (task.token_ids[:, 0] == CLS).all()
    assert task.token_ids.min() >= CLS and task.token_ids.max() < task.vocabulary_size
    assert task.padding_mask.all()
    labels = [label_of(row, 5, kind) for row in task.token_ids]
    np.testing.assert_array_equal(labels, task.labels)


def test_copy_marks_one_symbol_exactly_distance_before_the_end():
    task = long_range_task(200, 12, kind="copy", num_symbols=4, margin=3, seed=0)
    marked = task.token_ids >= FIRST_SYMBOL + 4
    assert (marked.sum(axis=1) == 1).all()
    positions = marked.argmax(axis=1)
    assert (task.length - 1 - positions == 12).all()
    np.testing.assert_array_equal(task.token_ids[np.arange(200), positions] - FIRST_SYMBOL - 4, task.labels)


def test_pair_sum_marks_two_symbols_distance_apart_at_varying_offsets():
    task = long_range_task(500, 9, kind="pair_sum", num_symbols=4, seed=0)
    rows, columns = np.nonzero(task.token_ids >= FIRST_SYMBOL + 4)
    columns = columns.reshape(500, 2)
    assert (columns[:, 1] - columns[:, 0] == 9).all()
    assert len(np.unique(columns[:, 0])) > 5  # the span moves
    values = task.token_ids[np.arange(500)[:, None], columns] - FIRST_SYMBOL - 4
    np.testing.assert_array_equal(values.sum(axis=1) % 4, task.labels)


@pytest.mark.parametrize("kind", ["copy", "pair_sum"])
def test_classes_are_balanced(kind):
    counts = np.bincount(long_range_task(4000, 20, kind=kind, num_symbols=4).labels, minlength=4)
    assert counts.min() > 850 and counts.max() < 1150


def test_unmarked_symbols_use_every_value():
    """Unmarked symbols take every value, so a value's presence says nothing about the label."""
    task = long_range_task(50, 30, kind="pair_sum", num_symbols=4)
    unmarked = task.token_ids[(task.token_ids >= FIRST_SYMBOL) & (task.token_ids < FIRST_SYMBOL + 4)]
    assert set(np.unique(unmarked)) == {2, 3, 4, 5}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(num_examples=0, distance=4), "num_examples"),
        (dict(num_examples=4, distance=0), "distance"),
        (dict(num_examples=4, distance=4, num_symbols=1), "num_symbols"),
        (dict(num_examples=4, distance=4, kind="brackets"), "kind"),
        (dict(num_examples=4, distance=2.5), "distance"),
    ],
)
def test_bad_arguments_are_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        long_range_task(**arguments)


def test_label_of_rejects_a_sequence_without_its_marks():
    with pytest.raises(ValueError, match="exactly 2 marked"):
        label_of([CLS, 2, 3, 4], 4, "pair_sum")
