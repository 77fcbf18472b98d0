"""One markdown table from the suite's JSON files: zoo / keras-hub ratios, MFU and export latency.

Used by `benchmarks.suite`; reads whatever of `task_training.json`,
`encoder_throughput.json`, `generation_speed.json`,
`generation_speed_causal_lm.json` and `text_inference.json` is in the folder
(a missing or failed one gets a row saying so). Every ratio is shown as
measured, with its target (issue 11: zoo >= 1.0x keras-hub everywhere,
>= 1.2x where the design allows); a ratio below 1.0 is marked.
"""

import json
import pathlib

from benchmarks.common import median

SOURCES = {
    "task_training": "training tokens/s, zoo task model vs keras-hub",
    "encoder_throughput": "training tokens/s, zoo vs keras-hub TransformerEncoder blocks in one classifier",
    "generation_speed": "cached greedy generation, encoder-decoder",
    "generation_speed_causal_lm": "cached greedy generation, decoder-only",
    "text_inference": "export latency, one CPU thread",
}
HEADER = ["benchmark", "case", "zoo", "keras-hub", "zoo / keras-hub (min-max)", "target", "MFU zoo / keras-hub"]


def verdict(ratio):
    if ratio >= 1.2:
        return "meets 1.2x"
    if ratio >= 1.0:
        return "meets 1.0x, not 1.2x"
    return "**BELOW 1.0x**"


def ratio_cell(ratios):
    return f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def training_rows(record, source):
    rows = []
    for case, summary in record:
        rates = summary["median_tokens_per_s"]
        mfu = summary.get("mfu")
        mfu_cell = (
            "-"
            if not mfu
            else " / ".join("-" if mfu[m] is None else f"{100 * mfu[m]:.0f}%" for m in ("zoo", "keras-hub"))
        )
        rows.append(
            [
                source,
                case,
                f"{rates['zoo']:,.0f} tok/s",
                f"{rates['keras-hub']:,.0f} tok/s",
                ratio_cell(summary["paired_ratios"]),
                verdict(summary["ratio"]),
                mfu_cell,
            ]
        )
    return rows


def generation_rows(record, source, kind):
    rows = []
    for entry in record["results"]:
        rates, seconds = entry["tokens_per_second"], entry["seconds"]
        if "keras-hub" not in rates:
            continue
        paired = [hub / zoo for hub, zoo in zip(seconds["keras-hub"], seconds["zoo cached"])]
        rows.append(
            [
                source,
                f"{kind}, batch {entry['batch_size']}, {entry['new_tokens']} new tokens",
                f"{rates['zoo cached']:,.0f} tok/s",
                f"{rates['keras-hub']:,.0f} tok/s",
                ratio_cell(paired),
                verdict(median(paired)),
                "-",
            ]
        )
    return rows


def latency_rows(record, source):
    return [
        [
            source,
            f"{r['runtime']}, batch {r['batch_size']}",
            f"{1000 / r['examples_per_s']:.3f} ms/example",
            "-",
            "-",
            "-",
            "-",
        ]
        for r in record["results"]
    ]


def rows_for(name, record):
    if name == "task_training":
        cases = [
            (f"{task}, {precision}", summary)
            for task, entry in record["tasks"].items()
            for precision, summary in entry["summary"].items()
        ]
        return training_rows(cases, name)
    if name == "encoder_throughput":
        return training_rows([(f"encoder block, {p}", s) for p, s in record["encoder"]["summary"].items()], name)
    if name.startswith("generation_speed"):
        return generation_rows(record, name, "decoder-only" if name.endswith("causal_lm") else "encoder-decoder")
    return latency_rows(record, name)


def environment_of(record):
    return record.get("environment", record)  # generation_speed and matrix_products nest it


def summary_table(folder, quick=False, suite=None, failed=None):
    """The markdown of bench.md for the JSON files in `folder`."""
    folder, failed = pathlib.Path(folder), failed or {}
    lines = ["# zoo benchmark summary", ""]
    if quick:
        lines += [
            "**QUICK RUN: tiny models and one or two rounds, a sanity check of the suite. These are not "
            "the benchmark's numbers; run `make bench` on an idle machine for those.**",
            "",
        ]
    if suite:
        lines += [
            f"Made by `{suite['command']}` on {suite['date']}, {suite['cpu_count']} CPUs, load average "
            f"{suite['load_average_at_start'][0]:.2f} at the start; ratios > 1 mean zoo is faster.",
            "",
        ]
    table, sources = [], []
    for name in SOURCES:
        path = folder / f"{name}.json"
        if failed.get(name):
            table.append(
                [name, f"FAILED (exit status {failed[name]}); see the suite's output", "-", "-", "-", "-", "-"]
            )
            continue
        if not path.is_file():
            table.append([name, "not run", "-", "-", "-", "-", "-"])
            continue
        record = json.loads(path.read_text())
        table += rows_for(name, record)
        env = environment_of(record)
        load = env.get("load_average_at_start", [float("nan")])[0]
        sources.append(f"- `{path.name}` ({SOURCES[name]}): `{env['command']}`, {env['date']}, load {load:.2f}")
    lines += ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 3 + ["---"] * 2) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in table]
    ceiling = _ceiling_line(folder / "task_training.json")
    lines += [""] + ([ceiling, ""] if ceiling else []) + ["Sources:", ""] + sources + [""]
    return "\n".join(lines)


def _ceiling_line(path):
    if not path.is_file():
        return None
    ceilings = json.loads(path.read_text())["matmul_ceiling"]
    parts = [
        f"{dtype} {'unsupported' if c is None else format(c['best_gflops'], ',.0f')} GFLOP/s "
        f"({c['size'] if c else '-'}^2)"
        for dtype, c in ceilings.items()
    ]
    return (
        "MFU = training FLOP/s (3x the TensorFlow-counted forward FLOPs per step) / the best measured "
        "matmul of the run's precision: " + ", ".join(parts) + "."
    )
