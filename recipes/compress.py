"""Compress a trained run by low-rank (SVD) factorization; measure size, speed and task metric per rank.

    python -m recipes.compress --model saved_models/sentiment/model.keras --ranks 8,16,32,64
    python -m recipes.compress --model saved_models/translate/model.keras --ranks 32,64 --energy 0.9 \\
        --include projections --recover-steps 100 --eval-examples 500
    python -m recipes.compress --smoke --out /tmp/compress-smoke

Reads the run folder's config.json next to --model to rebuild the recipe's own data (the same
held-out split, through the recipe's loading functions) and checks that the unfactorized model
scores what the run's metrics.json says. Supported runs: TextClassifier from `recipes.sentiment`
(accuracy) and Seq2SeqLM from `recipes.translate` (sacreBLEU, greedy). For the original model and
each --ranks / --energy setting (`zoo.compress.factorize` on the --include selection) it measures
parameters, the float32 TFLite file size (token-ids variant of a classifier, the single-call
`generate` variant of a translator), batch-1 TFLite latency, and the metric without and with a
short recovery fine-tune (--recover-steps on the recipe's training data, cosine decay from
--recover-learning-rate). Writes into --out: config.json, compression.json, metrics.json (the
same), report.md (the table), metric_vs_compression.png and spectra.png (normalized cumulative
energy of every projection's singular values, one panel per projection type). --smoke without
--model first runs `recipes.sentiment --smoke` on a tiny built-in TSV into --out/run and compresses
that.
"""

import dataclasses
import pathlib
import tempfile
import time

from recipes.common import option, start_run
from recipes.compress_measure import measure, recover
from recipes.compress_report import report_markdown
from recipes.compress_runs import load_run, smoke_run
from zoo.compress import EMBEDDING_PATTERN, PROJECTION_PATTERNS, factorize, singular_values
from zoo.compress.plots import plot_metric_vs_compression, plot_spectra
from zoo.io import atomic_file, atomic_write_json
from zoo.training import parse_config
from zoo.training.cli import run_main

SETTINGS = {"projections": PROJECTION_PATTERNS, "embeddings": (EMBEDDING_PATTERN,), "all": ("*",)}


@dataclasses.dataclass
class Config:
    model: str | None = option(None, "RUN_DIR/model.keras of a recipes.sentiment or recipes.translate run")
    ranks: tuple[int, ...] = option((8, 16, 32, 64), "ranks to try, e.g. 8,16,32")
    energy: tuple[float, ...] = option((), "energies to try (per-matrix rank keeping this fraction), e.g. 0.9,0.99")
    include: tuple[str, ...] = option(
        ("all",), "what to factorize: projections, embeddings, all, or fnmatch patterns on paths"
    )
    exclude: tuple[str, ...] = option((), "fnmatch patterns left dense")
    recover_steps: int = option(200, "recovery fine-tune steps (0: none)")
    recover_learning_rate: float | None = option(None, "peak recovery learning rate (default: the run's / 5)")
    eval_examples: int | None = option(None, "evaluate on the first N held-out examples / sources (default: all)")
    data: str | None = option(None, "override the run's --data (e.g. a relative path from elsewhere)")
    latency_repeats: int = option(30, "batch-1 TFLite calls timed per model")
    seed: int = 0
    out: str = option("saved_models/compress", "output folder")
    smoke: bool = option(False, "2 ranks, 5 recovery steps (+ a tiny run)")

    def __post_init__(self):
        if self.model is None and not self.smoke:
            raise ValueError("--model RUN_DIR/model.keras is required (or --smoke)")
        if not self.ranks and not self.energy:
            raise ValueError("give at least one of --ranks and --energy")
        if any(rank <= 0 for rank in self.ranks):
            raise ValueError(f"--ranks must be positive integers. Received: {list(self.ranks)}")
        if any(not 0.0 < energy <= 1.0 for energy in self.energy):
            raise ValueError(f"--energy values must be in (0, 1]. Received: {list(self.energy)}")
        if self.recover_steps < 0:
            raise ValueError(f"--recover-steps must be >= 0. Received: {self.recover_steps}")


SMOKE = dict(ranks=(2, 4), recover_steps=5, latency_repeats=5)


def include_patterns(include):
    patterns = []
    for item in include:
        patterns.extend(SETTINGS.get(item, (item,)))
    return tuple(patterns)


def settings(cfg):
    return [("rank", rank) for rank in cfg.ranks] + [("energy", energy) for energy in cfg.energy]


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.compress")
    cfg, out = start_run(cfg, SMOKE)
    if cfg.model is None:  # --smoke: a tiny sentiment run to compress
        cfg = dataclasses.replace(cfg, model=str(smoke_run(out / "run")))
    started = time.perf_counter()
    model, run_cfg, run_metrics, run = load_run(cfg)
    patterns = include_patterns(cfg.include)
    print(
        f"model {type(model).__name__} from {cfg.model}: {model.count_params():,} parameters; "
        f"factorizing {list(patterns)}",
        flush=True,
    )
    learning_rate = cfg.recover_learning_rate or run_cfg.learning_rate / 5

    spectra = singular_values(model, include=patterns, exclude=cfg.exclude)
    plot_spectra(spectra, out / "spectra.png")
    with tempfile.TemporaryDirectory(prefix="zoo-compress-") as scratch:
        scratch = pathlib.Path(scratch)
        original = measure(model, run, cfg, scratch, "original")
        expected = run_metrics.get(run.run_metric_key)
        check = None
        if expected is not None and not cfg.eval_examples:
            check = {
                "run_metric": expected,
                "difference": original["metric"] - expected,
                "within_tolerance": abs(original["metric"] - expected) <= run.tolerance,
            }
            verdict = "matches" if check["within_tolerance"] else "DIFFERS FROM"
            print(
                f"original {run.metric_name} {original['metric']:.4f} {verdict} the run's metrics.json "
                f"({expected:.4f})",
                flush=True,
            )
        rows = []
        for kind, value in settings(cfg):
            label = f"{kind} {value}"
            small, report = factorize(model, include=patterns, exclude=cfg.exclude, **{kind: value})
            row = {
                "setting": kind,
                "value": value,
                "label": label,
                "factorized": sum(entry["factorized"] for entry in report.layers),
                "selected": len(report.layers),
            }
            row.update(measure(small, run, cfg, scratch, label))
            row["metric_recovered"] = None
            if cfg.recover_steps:
                row["recover_seconds"] = round(recover(small, run, cfg, learning_rate), 1)
                row["metric_recovered"] = run.evaluate(small)
                print(f"  {label} after recovery: {run.metric_name} {row['metric_recovered']:.4g}", flush=True)
            row["parameter_ratio"] = row["parameters"] / original["parameters"]
            row["tflite_ratio"] = row["tflite_bytes"] / original["tflite_bytes"]
            row["layers"] = report.layers
            rows.append(row)

    summary = {
        "model": cfg.model,
        "model_type": type(model).__name__,
        "data": run_cfg.data + (f" (held out: {run_cfg.test_data})" if getattr(run_cfg, "test_data", None) else ""),
        "metric": run.metric_name,
        "evaluated_on": len(run.inputs[next(iter(run.inputs))]),
        "include_given": list(cfg.include),
        "include": list(patterns),
        "exclude": list(cfg.exclude),
        "recover_steps": cfg.recover_steps,
        "recover_learning_rate": learning_rate,
        "tflite_variant": run.variant,
        "latency": f"TFLite float32 {run.variant} variant, batch 1, median of {cfg.latency_repeats} calls",
        "original": original,
        "run_metric_check": check,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(out / "compression.json", summary)
    atomic_write_json(out / "metrics.json", summary)
    plot_metric_vs_compression(rows, original["metric"], run.metric_name, out / "metric_vs_compression.png")
    table = report_markdown(summary)
    with atomic_file(out / "report.md") as temporary:
        temporary.write_text(table, encoding="utf-8")
    print("\n" + table, flush=True)
    print(f"total {summary['seconds']:.0f}s; wrote {out}/report.md, compression.json and plots", flush=True)
    return summary


if __name__ == "__main__":
    run_main(main)
