"""zoo.training.plots: PNG files written atomically, clear errors on bad input."""

import numpy as np
import pytest

from zoo.training import plot_confusion_matrix, plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_MAGIC
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


HISTORY = {
    "loss": [1.0, 0.6, 0.4],
    "accuracy": [0.5, 0.7, 0.8],
    "val_loss": [1.1, 0.7, None],  # a missing value is a gap, not an error
    "val_accuracy": [0.45, 0.65, 0.7],
}


def test_plot_history_writes_one_png_with_a_panel_per_metric(tmp_path):
    plot_history(HISTORY, tmp_path / "history.png")
    plot_history({"loss": [1.0, 0.5]}, tmp_path / "loss_only.png")
    two_panels, one_panel = _png_size(tmp_path / "history.png"), _png_size(tmp_path / "loss_only.png")
    assert two_panels[0] == 2 * one_panel[0]  # loss and accuracy side by side
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.png", "loss_only.png"]


def test_plot_history_rejects_empty_history_and_keeps_old_file(tmp_path):
    path = tmp_path / "history.png"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="no epochs"):
        plot_history({"loss": []}, path)
    assert path.read_bytes() == b"old"


def test_plot_confusion_matrix_writes_png(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])  # an empty row must not divide by zero
    plot_confusion_matrix(matrix, ["cat", "dog", "bird"], tmp_path / "confusion.png")
    width, height = _png_size(tmp_path / "confusion.png")
    assert width > 100 and height > 100


@pytest.mark.parametrize(
    "matrix, names, message",
    [
        (np.zeros((2, 3)), ["a", "b"], r"must be square \(C, C\); received shape \(2, 3\)"),
        (np.zeros((3, 3)), ["a", "b"], "received 2 names for a matrix of shape \\(3, 3\\)"),
    ],
)
def test_plot_confusion_matrix_rejects_bad_shapes(tmp_path, matrix, names, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(matrix, names, tmp_path / "confusion.png")
    assert list(tmp_path.iterdir()) == []


def test_misclassified_grid_counts_mistakes_and_titles(tmp_path):
    from zoo.training.plots import plot_misclassified

    images = np.zeros((6, 8, 8, 1), np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2])
    predicted = np.array([0, 2, 2, 1, 1, 2])
    path = tmp_path / "wrong.png"
    assert plot_misclassified(images, labels, predicted, ["a", "b", "c"], path) == 2
    assert path.read_bytes()[:8] == PNG_MAGIC
    # Nothing wrong: no file, count 0.
    assert plot_misclassified(images, labels, labels, ["a", "b", "c"], tmp_path / "none.png") == 0
    assert not (tmp_path / "none.png").exists()


def test_image_grid_rejects_mismatched_titles(tmp_path):
    from zoo.training.plots import plot_image_grid

    with pytest.raises(ValueError, match="one title per image"):
        plot_image_grid(np.zeros((2, 4, 4, 3), np.uint8), ["x"], tmp_path / "g.png")
    with pytest.raises(ValueError, match="at least one image"):
        plot_image_grid(np.zeros((0, 4, 4, 3), np.uint8), [], tmp_path / "g.png")
