"""Training plots written as PNG files (matplotlib's Agg renderer, no display).

Figures are built with the object-oriented `matplotlib.figure.Figure` API, not
`pyplot`, so no global backend or figure state is touched, and each file is
written atomically.
"""

import numpy as np

from zoo.io import atomic_file

_ANNOTATE_MAX_CLASSES = 30


def _new_figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save_png(figure, path):
    with atomic_file(path) as temp_path:
        figure.savefig(temp_path, format="png", dpi=100)


def _panel_names(history):
    """Metric names to plot, one panel each: train names, then val-only names."""
    names = [name for name in history if not name.startswith("val_")]
    names += [name[4:] for name in history if name.startswith("val_") and name[4:] not in history]
    return names


def plot_history(history, path):
    """Plot loss and every metric against epoch (train vs validation) into one PNG.

    Args:
        history: metric name -> list of per-epoch values (None marks a gap),
            as returned by `zoo.training.fit`; `val_<name>` keys are drawn in
            the same panel as `<name>`.
        path: output `.png` path.
    """
    if not history or not any(len(values) for values in history.values()):
        raise ValueError(f"history has no epochs to plot; received {history!r}")
    from matplotlib.ticker import MaxNLocator

    names = _panel_names(history)
    columns = min(len(names), 3)
    rows = -(-len(names) // columns)
    figure = _new_figure(4.5 * columns, 3.2 * rows)
    for index, name in enumerate(names):
        axes = figure.add_subplot(rows, columns, index + 1)
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in history:
                values = np.array([np.nan if v is None else v for v in history[key]], dtype=float)
                epochs = np.arange(1, len(values) + 1)
                axes.plot(epochs, values, marker="o", markersize=3, label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    _save_png(figure, path)


def plot_confusion_matrix(matrix, class_names, path, *, title="confusion matrix"):
    """Draw a confusion matrix (rows: true class, columns: predicted) into a PNG.

    Cells are shaded by row-normalized value and labelled with their counts
    (when there are at most 30 classes).

    Args:
        matrix: `(C, C)` array of counts.
        class_names: `C` labels, in the matrix's order.
        path: output `.png` path.
        title: figure title.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (C, C); received shape {matrix.shape}")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(
            f"class_names must have one name per row of matrix; received "
            f"{len(class_names)} names for a matrix of shape {matrix.shape}"
        )
    row_totals = matrix.sum(axis=1, keepdims=True)
    normalized = np.divide(matrix, row_totals, out=np.zeros(matrix.shape), where=row_totals != 0)
    size = max(4.0, 0.45 * len(class_names) + 2.0)
    figure = _new_figure(size + 1.0, size)
    axes = figure.add_subplot()
    image = axes.imshow(normalized, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="fraction of true class")
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, labels=[str(name) for name in class_names], rotation=45, ha="right")
    axes.set_yticks(ticks, labels=[str(name) for name in class_names])
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(class_names) <= _ANNOTATE_MAX_CLASSES:
        for (row, column), count in np.ndenumerate(matrix):
            color = "white" if normalized[row, column] > 0.5 else "black"
            text = f"{count:g}" if np.issubdtype(matrix.dtype, np.floating) else str(count)
            axes.text(column, row, text, ha="center", va="center", color=color, fontsize=8)
    _save_png(figure, path)


# Public names for other modules' figures (zoo.attention_maps).
new_figure = _new_figure
save_png = _save_png


def image_panel(axes, image, title, alpha=1.0):
    """Draw one uint8 image `(H, W, C)` (gray or RGB) into `axes`, without ticks."""
    image = np.asarray(image)
    if image.shape[-1] == 1:
        axes.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, alpha=alpha, interpolation="nearest")
    else:
        axes.imshow(image.astype(np.uint8), alpha=alpha, interpolation="nearest")
    axes.set_title(title, fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])


def plot_image_grid(images, titles, path, *, columns=8, title=None):
    """Draw uint8 images `(N, H, W, C)` with one title each into a grid PNG.

    Raises:
        ValueError: no images, or a title count that differs from the image count.
    """
    if len(images) == 0:
        raise ValueError("plot_image_grid needs at least one image")
    if len(titles) != len(images):
        raise ValueError(f"expected one title per image; received {len(titles)} titles for {len(images)} images")
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    figure = _new_figure(1.6 * columns, 1.75 * rows + (0.3 if title else 0))
    if title:
        figure.suptitle(title, fontsize=10)
    for index, (image, text) in enumerate(zip(images, titles)):
        image_panel(figure.add_subplot(rows, columns, index + 1), image, text)
    _save_png(figure, path)


def plot_misclassified(images, labels, predicted, class_names, path, *, limit=32):
    """Grid of the first `limit` images whose prediction is wrong, titled `true -> predicted`.

    Returns the number of misclassified images (the grid is written only when
    there is at least one).
    """
    wrong = np.flatnonzero(np.asarray(labels) != np.asarray(predicted))
    if len(wrong):
        shown = wrong[:limit]
        titles = [f"{class_names[labels[i]]}\n-> {class_names[predicted[i]]}" for i in shown]
        plot_image_grid(
            np.asarray(images)[shown],
            titles,
            path,
            title=f"misclassified: {len(wrong)} of {len(labels)} (first {len(shown)} shown)",
        )
    return int(len(wrong))
