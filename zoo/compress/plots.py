"""Plots of a compression sweep: task metric vs compression ratio, singular-value spectra (PNG, Agg)."""

import collections

import numpy as np

from zoo.training.plots import _new_figure, _save_png


def projection_type(path):
    """The kind of a projection path, without its block.

    `"encoder_3/self_attention/query"` -> `"self_attention/query"`.
    """
    parts = path.split("/")
    return parts[-1] if parts[-1] == "token_embedding" else "/".join(parts[-2:])


def cumulative_energy(singular):
    """Fraction of the sum of squared singular values kept by ranks 1..n."""
    squares = np.asarray(singular, "float64") ** 2
    return np.cumsum(squares) / max(squares.sum(), 1e-30)


def plot_spectra(spectra, path):
    """One panel per projection type: each layer's normalized cumulative energy against rank.

    Args:
        spectra: dict projection path -> singular values (largest first), as
            `zoo.compress.singular_values` returns.
        path: the PNG to write.
    """
    groups = collections.defaultdict(dict)
    for name, singular in spectra.items():
        groups[projection_type(name)][name] = singular
    columns = min(4, len(groups))
    rows = -(-len(groups) // columns)
    figure = _new_figure(3.6 * columns, 2.9 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for axis, (kind, members) in zip(axes, sorted(groups.items())):
        for name, singular in members.items():
            energy = cumulative_energy(singular)
            label = name.split("/")[0] if kind != "token_embedding" else name.rsplit("/", 1)[0]
            axis.plot(np.arange(1, len(energy) + 1), energy, linewidth=1.2, label=label)
        axis.set_title(f"{kind} ({len(members)})", fontsize=9)
        axis.set_xlabel("rank")
        axis.set_ylabel("cumulative energy")
        axis.set_ylim(0, 1.02)
        axis.axhline(0.9, color="grey", linewidth=0.6, linestyle=":")
        axis.grid(alpha=0.3)
        if len(members) <= 8:
            axis.legend(fontsize=6, loc="lower right")
    for axis in axes[len(groups) :]:
        axis.set_visible(False)
    _save_png(figure, path)


def plot_metric_vs_compression(rows, original, metric_name, path):
    """Task metric (before / after recovery) against parameter and TFLite-size ratios, one panel each.

    Args:
        rows: list of dicts with `label`, `parameter_ratio`, `tflite_ratio`,
            `metric` and optionally `metric_recovered` (None when not run).
        original: the uncompressed model's metric (a horizontal line).
        metric_name: y-axis label, e.g. `"accuracy"` or `"BLEU"`.
        path: the PNG to write.
    """
    figure = _new_figure(10, 4)
    axes = figure.subplots(1, 2)
    for axis, key, title in (
        (axes[0], "parameter_ratio", "parameters (compressed / original)"),
        (axes[1], "tflite_ratio", "float32 TFLite size (compressed / original)"),
    ):
        ratios = [row[key] for row in rows]
        axis.plot(ratios, [row["metric"] for row in rows], "o-", label="factorized")
        recovered = [row.get("metric_recovered") for row in rows]
        if any(value is not None for value in recovered):
            points = [(ratio, value) for ratio, value in zip(ratios, recovered) if value is not None]
            axis.plot(*zip(*points), "s-", label="after recovery fine-tune")
        for ratio, row in zip(ratios, rows):
            axis.annotate(row["label"], (ratio, row["metric"]), textcoords="offset points", xytext=(3, -10), fontsize=7)
        axis.axhline(original, color="black", linewidth=0.8, linestyle="--", label="original")
        axis.axvline(0.5, color="grey", linewidth=0.6, linestyle=":")
        axis.set_xlabel(title)
        axis.set_ylabel(metric_name)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    _save_png(figure, path)
