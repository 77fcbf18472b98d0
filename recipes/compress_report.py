"""report.md of `recipes.compress`: the sweep as a Markdown table."""


def report_markdown(summary):
    """The sweep as a Markdown table, one row per setting after the original."""
    name, original = summary["metric"], summary["original"]
    scale = 100.0 if name == "accuracy" else 1.0
    unit = "%" if name == "accuracy" else ""
    lines = [
        f"# Compression of {summary['model']} ({summary['model_type']})",
        "",
        f"Factorized: {', '.join(summary['include_given'])} (patterns {', '.join(summary['include'])})"
        + (f" (excluding {', '.join(summary['exclude'])})" if summary["exclude"] else "")
        + f". {name} on {summary['evaluated_on']} held-out examples of {summary['data']}; "
        f"latency: {summary['latency']}; "
        f"recovery: {summary['recover_steps']} steps at learning rate {summary['recover_learning_rate']:.2g}.",
        "",
        f"| setting | matrices factorized | parameters | params ratio | TFLite MB | size ratio | ms/example "
        f"| {name} | {name} after recovery |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| original | - | {original['parameters']:,} | 1.00 | {original['tflite_bytes'] / 1e6:.2f} | 1.00 "
        f"| {original['tflite_ms_per_example']:.1f} | {original['metric'] * scale:.1f}{unit} | - |",
    ]
    for row in summary["rows"]:
        recovered = row["metric_recovered"]
        delta = "" if recovered is None else f" ({(recovered - original['metric']) * scale:+.1f})"
        recovered = "-" if recovered is None else f"{recovered * scale:.1f}{unit}{delta}"
        lines.append(
            f"| {row['label']} | {row['factorized']}/{row['selected']} | {row['parameters']:,} "
            f"| {row['parameter_ratio']:.2f} | {row['tflite_bytes'] / 1e6:.2f} | {row['tflite_ratio']:.2f} "
            f"| {row['tflite_ms_per_example']:.1f} | {row['metric'] * scale:.1f}{unit} "
            f"({(row['metric'] - original['metric']) * scale:+.1f}) | {recovered} |"
        )
    return "\n".join(lines) + "\n"
