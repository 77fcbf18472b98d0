"""Helpers shared by the benchmarks: timing statistics, environment record, JSON and tables."""

import datetime
import json
import os
import pathlib
import platform
import shlex
import statistics
import sys
import time


def median(values):
    return statistics.median(values)


def summarize(runs, key, numerator, denominator, params=None):
    """Per-model median and best `key`, and `numerator / denominator` ratios.

    Each run is a dict with `model`, `round`, `key` (that round's rate) and
    `best_step_<key>` (its fastest single step's rate); higher is faster.

    `ratio` is the median over rounds of the paired per-round ratios, the
    headline; `best_ratio` compares the fastest single steps, the least
    disturbed by other processes on a loaded machine.
    """
    by_model, best = {}, {}
    for run in runs:
        by_model.setdefault(run["model"], {})[run["round"]] = run[key]
        best[run["model"]] = max(best.get(run["model"], 0.0), run[f"best_step_{key}"])
    paired = [by_model[numerator][r] / by_model[denominator][r] for r in sorted(by_model[numerator])]
    medians = {model: median(list(values.values())) for model, values in by_model.items()}
    summary = {
        f"median_{key}": medians,
        f"best_{key}": best,
        "paired_ratios": paired,
        "ratio": median(paired),
        "ratio_of_medians": medians[numerator] / medians[denominator],
        "best_ratio": best[numerator] / best[denominator],
    }
    if params is not None:
        summary["parameters"] = params
    return summary


def spread(summary):
    """`median (min-max)` of the paired ratios."""
    ratios = summary["paired_ratios"]
    return f"{summary['ratio']:.3f} ({min(ratios):.2f}-{max(ratios):.2f})"


def environment(module, argv):
    """Versions, CPUs, load and the exact command line, for the result JSON."""
    import keras
    import tensorflow as tf

    try:
        import keras_hub

        keras_hub_version = keras_hub.__version__
    except ImportError:  # a benchmark that does not compare with keras-hub
        keras_hub_version = None
    return {
        "command": shlex.join(["python", "-m", module, *argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "keras_hub": keras_hub_version,
        },
        "keras_backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
    }


def write_json(results, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def finish(results, started, report, out):
    """Record the end load and wall time, print the report, write the JSON; returns `results`."""
    results["load_average_at_end"] = list(os.getloadavg())
    results["wall_seconds"] = time.perf_counter() - started
    report(results)
    path = write_json(results, out)
    print_flush(f"\nwrote {path}")
    return results


def format_table(header, rows):
    """Plain-text table; numbers are right-aligned, text left-aligned."""
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in cells[1:]) for i in range(len(header))]

    def line(row):
        parts = [cell.rjust(width) if right else cell.ljust(width) for cell, width, right in zip(row, widths, numeric)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def _is_number(text):
    text = text.replace(",", "").replace("x", "").replace("%", "").split(" ")[0]
    try:
        float(text)
    except ValueError:
        return text in ("", "-")
    return True


def print_flush(*args):
    print(*args, flush=True)
    sys.stdout.flush()


def time_training(model, inputs, labels, steps):
    """Seconds of each of `steps` calls of `train_on_batch` (each returns a host value, so it has finished)."""
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = model.train_on_batch(inputs, labels)
        seconds.append(time.perf_counter() - start)
    if loss != loss:  # NaN
        raise FloatingPointError(f"{model.name} loss became NaN")
    return seconds


def train_interleaved(models, batches, args, tokens, precision):
    """Trace and warm up every model, then `args.repeats` rounds of `args.steps` timed steps each.

    Rounds alternate the order of the models so that drift on a shared
    machine hits all alike. `models` maps a name to a compiled Keras model,
    `batches` the same names to `(inputs, labels)`; `tokens` is the work
    per step. Returns one record per model and round
    with every step's seconds, `tokens_per_s` and `best_step_tokens_per_s`.
    """
    for name, model in models.items():
        time_training(model, *batches[name], 1)  # traces the train step
    for name, model in models.items():  # after all traced: the first steps after tracing run slow
        time_training(model, *batches[name], args.warmup)
    names = list(models)
    runs = []
    for round_index in range(args.repeats):
        for name in names if round_index % 2 == 0 else names[::-1]:
            seconds = time_training(models[name], *batches[name], args.steps)
            runs.append(
                {
                    "precision": precision,
                    "model": name,
                    "round": round_index,
                    "step_seconds": seconds,
                    "tokens_per_s": tokens * len(seconds) / sum(seconds),
                    "best_step_tokens_per_s": tokens / min(seconds),
                }
            )
    return runs


def with_policy(precision, function, *args):
    """`function(*args, precision)` under the Keras dtype policy `precision`, restored afterwards."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        return function(*args, precision)
    finally:
        keras.config.set_dtype_policy(previous)
