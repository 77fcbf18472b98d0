"""The report.md sections of `recipes.compare`'s synthetic experiments: throughput and long range."""

from zoo.comparison.report import markdown_table, pivot, plot_lines


def throughput_section(rows, out):
    plot_lines(
        rows,
        "sequence_length",
        "tokens_per_second",
        out / "throughput.png",
        log_x=True,
        log_y=True,
        title="training throughput vs sequence length",
        xlabel="sequence length (tokens)",
        ylabel="training tokens / second",
    )
    table, columns = pivot(rows, "sequence_length", "architecture", "tokens_per_second")
    sizes = ", ".join(
        sorted(
            {
                f"{r['architecture']} {r['parameters']:,}"
                for r in rows
                if r["sequence_length"] == rows[0]["sequence_length"]
            }
        )
    )
    lines = [
        "## 1. Training throughput vs sequence length",
        "",
        "Training tokens per second (forward + backward + Adam update, "
        f"{rows[0]['batch_size'] * rows[0]['sequence_length']:,} "
        f"tokens per batch, random tokens); parameters at the shortest length: {sizes}.",
        "",
        markdown_table(table, [("sequence_length", "length")] + [(c, c) for c in columns]),
        "",
    ]
    ratios = _ratio_lines(table, columns, "transformer")
    epochs, _ = pivot(rows, "sequence_length", "architecture", "seconds_per_million_tokens")
    lines += ratios + [
        "",
        "Time per epoch of one million tokens (seconds):",
        "",
        markdown_table(epochs, [("sequence_length", "length")] + [(c, c) for c in columns]),
        "",
        "![throughput](throughput.png)",
        "",
    ]
    return lines


def _ratio_lines(table, columns, reference):
    if reference not in columns:
        return []
    lines = []
    for other in columns:
        if other == reference:
            continue
        ratios = [f"{row['sequence_length']}: {row[reference] / row[other]:.2f}x" for row in table if row.get(other)]
        lines.append(f"- {reference} / {other} throughput by length: " + ", ".join(ratios))
    return lines


def long_range_section(rows, out):
    lines = ["## 2. Long-range dependencies", ""]
    for kind in sorted({r["kind"] for r in rows}):
        chosen = [r for r in rows if r["kind"] == kind]
        plot_lines(
            chosen,
            "distance",
            "accuracy",
            out / f"long_range_{kind}.png",
            log_x=True,
            chance=chosen[0]["chance"],
            title=f"long-range task '{kind}'",
            xlabel="distance (tokens)",
            ylabel="held-out accuracy",
        )
        table, columns = pivot(chosen, "distance", "architecture", "accuracy")
        table = [{k: (f"{v:.1%}" if k != "distance" else v) for k, v in row.items()} for row in table]
        sizes = ", ".join(
            sorted(
                {f"{r['architecture']} {r['parameters']:,}" for r in chosen if r["distance"] == chosen[0]["distance"]}
            )
        )
        lines += [
            f"Task `{kind}` (`zoo.data.long_range`), chance {chosen[0]['chance']:.0%}; parameters: {sizes}.",
            "",
            markdown_table(table, [("distance", "distance")] + [(c, c) for c in columns]),
            "",
            f"![long range {kind}](long_range_{kind}.png)",
            "",
        ]
    return lines
