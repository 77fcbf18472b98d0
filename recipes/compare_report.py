"""report.md, results.json and the plots of `recipes.compare`."""

import dataclasses
import datetime
import pathlib
import platform

from recipes.compare_scaling import scaling_section
from recipes.compare_sections import long_range_section, throughput_section
from zoo.comparison.report import markdown_table, plot_bars
from zoo.io import atomic_write_json, atomic_write_text


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


SECTIONS = {
    "throughput": throughput_section,
    "long_range": long_range_section,
    "real_data": _real_data,
    "scaling": scaling_section,
}


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
