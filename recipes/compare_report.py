"""report.md, results.json and the plots of `recipes.compare`."""

import dataclasses
import datetime
import pathlib
import platform

from zoo.comparison.report import markdown_table, pivot, plot_bars, plot_lines
from zoo.io import atomic_write_json, atomic_write_text


def _throughput(rows, out):
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


def _long_range(rows, out):
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


def _real_data(rows, out):
    lines = ["## 3. Real data and 5. deployment", ""]
    sentiment = [r for r in rows if r["task"] == "sentiment"]
    translation = [r for r in rows if r["task"] == "translation"]
    if sentiment:
        sentiment = [dict(row, accuracy_percent=f"{row['accuracy']:.1%}") for row in sentiment]
        lines += [
            f"Sentiment (`recipes.sentiment --architecture ...`, data `{sentiment[0]['data']}`, "
            f"{sentiment[0]['epochs']} epochs each):",
            "",
            markdown_table(
                sentiment,
                [
                    ("architecture", "architecture"),
                    ("parameters", "parameters"),
                    ("accuracy_percent", "held-out accuracy"),
                    ("train_seconds", "training s"),
                    ("keras_ms_per_example", "Keras ms / text (batch 1)"),
                    ("tflite_ms_per_example", "TFLite ms / text"),
                    ("tflite_megabytes", "TFLite MB"),
                ],
            ),
            "",
        ]
    if translation:
        lines += [
            f"Translation (`recipes.translate --architecture ...`, data `{translation[0]['data']}`, "
            f"{translation[0].get('train_pairs', '?')} training pairs, {translation[0].get('test_sources', '?')} "
            f"held-out sources, {translation[0]['epochs']} epochs each, greedy):",
            "",
            markdown_table(
                translation,
                [
                    ("architecture", "architecture"),
                    ("parameters", "parameters"),
                    ("bleu", "BLEU"),
                    ("chrf", "chrF"),
                    ("train_seconds", "training s"),
                    ("ms_per_sentence", "ms / sentence (batch 1)"),
                    ("ms_per_token", "ms / generated token"),
                    ("tflite_megabytes", "TFLite MB"),
                ],
            ),
            "",
        ]
    if not rows:
        return lines + ["No real-data runs (no data available; see the log).", ""]
    for row in rows:
        row["score"] = row.get("accuracy", row.get("bleu"))
    plot_bars(
        rows,
        [("score", "accuracy / BLEU"), ("train_seconds", "training seconds")],
        out / "real_data.png",
        title="real data",
    )
    plot_bars(
        rows,
        [
            ("keras_ms_per_example", "Keras ms / text"),
            ("ms_per_token", "ms / generated token"),
            ("tflite_megabytes", "TFLite MB"),
        ],
        out / "deployment.png",
        title="deployment",
    )
    return lines + ["![real data](real_data.png)", "", "![deployment](deployment.png)", ""]


def _scaling(rows, out):
    plot_lines(
        rows,
        "parameters",
        "validation_loss",
        out / "scaling.png",
        log_x=True,
        title="validation loss vs parameters",
        xlabel="parameters",
        ylabel="validation loss (nats / character)",
    )
    return [
        "## 4. Scaling",
        "",
        f"Character-level language modelling on `{rows[0]['data']}`, every model trained on the same "
        f"{rows[0]['train_tokens']:,} tokens:",
        "",
        markdown_table(
            rows,
            [
                ("architecture", "architecture"),
                ("width", "width"),
                ("parameters", "parameters"),
                ("validation_loss", "validation loss"),
                ("train_seconds", "training s"),
            ],
        ),
        "",
        "![scaling](scaling.png)",
        "",
    ]


SECTIONS = {"throughput": _throughput, "long_range": _long_range, "real_data": _real_data, "scaling": _scaling}


def write_report(out, cfg, settings, results, seconds):
    """Write `report.md`, `results.json` and the plots into `out`; returns the report's path."""
    out = pathlib.Path(out)
    lines = [
        "# Transformer vs LSTM vs CNN",
        "",
        f"`python -m recipes.compare` in mode **{cfg.mode}**, {datetime.date.today().isoformat()}, "
        f"{platform.machine()} with {_cores()} CPU cores; seconds per experiment: "
        + ", ".join(f"{name} {value:.0f}" for name, value in seconds.items())
        + ".",
        "See docs/why-transformers.md for what these numbers mean.",
        "",
    ]
    for experiment, section in SECTIONS.items():  # in the order of the experiments, however they were run
        if results.get(experiment):
            lines += section(results[experiment], out)
    atomic_write_json(
        out / "results.json",
        {
            "mode": cfg.mode,
            "config": dataclasses.asdict(cfg),
            "settings": settings,
            "seconds": seconds,
            "results": results,
        },
    )
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def _cores():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
