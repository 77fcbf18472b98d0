"""Compare Transformers with LSTMs and CNNs: throughput, long-range dependencies, real data, scaling, deployment.

    python -m recipes.compare --quick --out /tmp/compare-quick      # ~10 minutes on 2 CPU cores
    python -m recipes.compare --out saved_models/compare             # the full run (see the README for its time)
    python -m recipes.compare --smoke --out /tmp/compare-smoke       # every part at toy size (tests)
    python -m recipes.compare --experiments long_range --architectures transformer,lstm,bilstm,cnn

Five experiments, each with the architectures' parameter counts matched:
  throughput  training tokens/s and time per million tokens vs sequence
              length (random tokens, a fixed number of tokens per batch);
  long_range  held-out accuracy vs the distance a label spans
              (`zoo.data.long_range`: copy-the-marked-token, and with
              --long-range-kinds copy,pair_sum the two-token sum as well);
  real_data   recipes.sentiment and recipes.translate with --architecture
              (same data, tokenizer, training loop, evaluation, exports):
              accuracy and BLEU, plus the deployment numbers: Keras and
              TFLite batch-1 latency, TFLite size, decode cost per token;
  scaling     validation loss vs parameter count, 3-4 sizes per
              architecture, on the same character-level text.
Writes into --out: report.md (tables + plots + the settings), results.json,
throughput.png, long_range.png, real_data.png, deployment.png, scaling.png,
and one recipe run folder per (task, architecture) under runs/.
"""

import dataclasses
import time

from recipes.common import option, start_run
from zoo.training import parse_config
from zoo.training.cli import run_main

EXPERIMENTS = ("throughput", "long_range", "real_data", "scaling")

# Settings per mode: the full run, --quick (~10 minutes on 2 cores) and --smoke (a toy run for tests).
SETTINGS = {
    "full": dict(
        throughput=dict(lengths=(64, 128, 256, 512, 1024), steps=5, budget=2_000_000, tokens_per_batch=8192),
        long_range=dict(distances=(16, 32, 64, 128, 256, 512), steps=600, budget=70_000),
        pair_sum_steps=3000,
        sentiment=dict(epochs=6),
        translation=dict(train_size=None, test_size=1014, epochs=6),
        scaling=dict(widths=(32, 64, 128, 192), steps=600, sequence_length=128, batch_size=32, validation_steps=40),
    ),
    "quick": dict(
        throughput=dict(lengths=(64, 128, 256, 512), steps=5, budget=1_000_000, tokens_per_batch=8192),
        long_range=dict(distances=(8, 32, 128), steps=250, budget=70_000),
        pair_sum_steps=1500,
        sentiment=dict(epochs=2),
        translation=dict(train_size=3000, test_size=200, epochs=2),
        scaling=dict(widths=(32, 64, 128), steps=120, sequence_length=128, batch_size=32, validation_steps=10),
    ),
    "smoke": dict(
        throughput=dict(lengths=(16, 32), steps=1, budget=5_000, tokens_per_batch=256),
        long_range=dict(distances=(2, 4), steps=3, budget=5_000),
        pair_sum_steps=3,
        sentiment=dict(epochs=1),
        translation=dict(train_size=None, test_size=None, epochs=1),
        scaling=dict(widths=(8, 16), steps=2, sequence_length=16, batch_size=4, validation_steps=1),
    ),
}


@dataclasses.dataclass
class Config:
    experiments: tuple[str, ...] = option(EXPERIMENTS, "which to run")
    architectures: tuple[str, ...] = option(("transformer", "lstm", "cnn"), "transformer, lstm, bilstm, cnn")
    long_range_kinds: tuple[str, ...] = option(("copy",), "copy, pair_sum")
    sentiment_data: str | None = option(
        None, "recipes.sentiment --data (default: ../shared/data/rt-polarity if present)"
    )
    translation_data: str | None = option(
        None, "a pair source (default: ../shared/data/multi30k de->en if present, else builtin:gettext-es)"
    )
    translation_test_data: str | None = option(None, "its test source")
    source_language: str | None = None
    target_language: str | None = None
    lm_data: str | None = option(
        None, "scaling text (default: ../shared/data/tinyshakespeare if present, else builtin:python-docs)"
    )
    quick: bool = option(False, "reduced settings, ~10 minutes on 2 cores")
    seed: int = 0
    out: str = option("saved_models/compare", "report folder")
    smoke: bool = option(False, "toy settings: checks that every part runs")
    resume: bool = option(False, "keep the experiments (and recipe runs) an interrupted run in --out finished")

    def __post_init__(self):
        from zoo.comparison.matching import ARCHITECTURES
        from zoo.data.long_range import KINDS

        for name, values, allowed in (
            ("experiments", self.experiments, EXPERIMENTS),
            ("architectures", self.architectures, ARCHITECTURES),
            ("long_range_kinds", self.long_range_kinds, KINDS),
        ):
            unknown = sorted(set(values) - set(allowed))
            if unknown or not values:
                raise ValueError(
                    f"unknown --{name.replace('_', '-')} {unknown or 'none given'}; expected some of {list(allowed)}"
                )

    @property
    def mode(self):
        return "smoke" if self.smoke else "quick" if self.quick else "full"


def run_throughput(cfg, settings):
    from zoo.comparison import throughput

    return throughput(cfg.architectures, **settings["throughput"], seed=cfg.seed)


def run_long_range(cfg, settings):
    from zoo.comparison import long_range

    rows = []
    for kind in cfg.long_range_kinds:
        options = dict(settings["long_range"], kind=kind, seed=cfg.seed)
        if kind == "pair_sum":  # no first-order signal: needs more steps (see zoo.data.long_range)
            options["steps"] = settings["pair_sum_steps"]
        rows += long_range(cfg.architectures, **options)
    return rows


def finished_experiments(out, cfg):
    """With `--resume`, the results and seconds of the experiments `out/results.json` holds (same mode)."""
    import json

    path = out / "results.json"
    if not (cfg.resume and path.is_file()):
        return {}, {}
    stored = json.loads(path.read_text())
    if stored.get("mode") != cfg.mode:
        from zoo.training.loop import InterruptedRunError

        raise InterruptedRunError(
            f"--resume: {path} holds a {stored.get('mode')} run, not {cfg.mode}; use another --out"
        )
    return stored["results"], stored["seconds"]


def main(argv=None):
    import tensorflow as tf

    from recipes import compare_scaling
    from recipes.compare_real_data import run_real_data
    from recipes.compare_report import write_report

    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.compare")
    cfg, out = start_run(cfg, {})
    tf.get_logger().setLevel("ERROR")  # "triggered tf.function retracing": every model here is new
    settings = SETTINGS[cfg.mode]
    print(
        f"compare: mode {cfg.mode}, experiments {', '.join(cfg.experiments)}, "
        f"architectures {', '.join(cfg.architectures)}",
        flush=True,
    )
    runners = {
        "throughput": run_throughput,
        "long_range": run_long_range,
        "scaling": lambda cfg, settings: compare_scaling.run_scaling(cfg, settings, out),
        "real_data": lambda cfg, settings: run_real_data(cfg, settings, out / "runs"),
    }
    results, seconds = finished_experiments(out, cfg)
    for experiment in cfg.experiments:
        if experiment in results:
            print(f"\n=== {experiment}: kept from the interrupted run ===", flush=True)
            continue
        started = time.perf_counter()
        print(f"\n=== {experiment} ===", flush=True)
        results[experiment] = runners[experiment](cfg, settings)
        seconds[experiment] = round(time.perf_counter() - started, 1)
        print(f"{experiment}: {seconds[experiment]:.0f}s", flush=True)
        write_report(out, cfg, settings, results, seconds)  # after each experiment: a crash loses only the current one
    report = write_report(out, cfg, settings, results, seconds)
    print(f"\nreport: {report}  (total {sum(seconds.values()):.0f}s)", flush=True)
    return {"results": results, "seconds": seconds}


if __name__ == "__main__":
    run_main(main)
