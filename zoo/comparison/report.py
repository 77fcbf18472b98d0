"""Plots (PNG) and markdown tables for `recipes.compare`."""

import pathlib

from zoo.training.plots import _new_figure, _save_png

COLORS = {"transformer": "tab:blue", "lstm": "tab:orange", "bilstm": "tab:red", "cnn": "tab:green"}


def _by_architecture(rows):
    groups = {}
    for row in rows:
        groups.setdefault(row["architecture"], []).append(row)
    return groups


def plot_lines(rows, x, y, path, *, title, xlabel, ylabel, log_x=False, log_y=False, chance=None):
    """One line per architecture of `y` against `x` (keys of `rows`)."""
    figure = _new_figure(6.4, 4.2)
    axes = figure.add_subplot()
    for architecture, group in _by_architecture(rows).items():
        group = sorted(group, key=lambda row: row[x])
        axes.plot(
            [r[x] for r in group], [r[y] for r in group], marker="o", label=architecture, color=COLORS.get(architecture)
        )
    if chance is not None:
        axes.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    if log_x:
        axes.set_xscale("log", base=2)
    if log_y:
        axes.set_yscale("log")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    axes.legend()
    _save_png(figure, path)
    return pathlib.Path(path)


def plot_bars(rows, panels, path, *, title):
    """One panel per `(key, label)` of `panels`, one bar per row (labelled by `row["name"]`)."""
    figure = _new_figure(3.2 * len(panels), 3.6)
    figure.suptitle(title)
    for index, (key, label) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        shown = [row for row in rows if row.get(key) is not None]
        bars = axes.bar(
            range(len(shown)),
            [row[key] for row in shown],
            color=[COLORS.get(row["architecture"], "tab:gray") for row in shown],
        )
        axes.bar_label(bars, fmt="%.3g", fontsize=8)
        axes.set_xticks(range(len(shown)), [row["name"] for row in shown], rotation=30, ha="right", fontsize=8)
        axes.set_title(label, fontsize=10)
    _save_png(figure, path)
    return pathlib.Path(path)


def markdown_table(rows, columns):
    """A markdown table of `rows` with `columns` = `[(key, header), ...]`; floats get 4 significant digits."""

    def cell(value):
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(header for _, header in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(key)) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def pivot(rows, index, column, value):
    """Rows `{index, <column value>: value, ...}`: e.g. one row per length, one column per architecture."""
    table, columns = {}, []
    for row in rows:
        table.setdefault(row[index], {index: row[index]})[row[column]] = row[value]
        if row[column] not in columns:
            columns.append(row[column])
    return [table[key] for key in sorted(table)], columns
