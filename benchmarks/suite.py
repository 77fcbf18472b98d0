"""The whole benchmark suite (`make bench`), then one summary table of every zoo / keras-hub ratio, MFU and latency.

    python -m benchmarks.suite                  # full runs -> benchmarks/results/*.json + bench.md
    python -m benchmarks.suite --quick          # sanity runs -> benchmarks/results/quick/ (a few minutes)
    python -m benchmarks.suite --summary-only   # only rebuild bench.md from the JSON files already there

Each benchmark runs in its own process (`python -m benchmarks.NAME ...`,
the exact commands are printed and written into bench.md), one after the
other: task training throughput and MFU (`task_training`), the encoder
block (`encoder_throughput`), cached generation (`generation_speed`,
encoder-decoder and decoder-only) and the exports' latency
(`text_inference`, on a `recipes.sentiment` run: `--sentiment-run`, trained
first when missing). A failed step is reported and the others still run;
the exit status is then 1. The summary (`summary_table`) is printed and
written to `<results>/bench.md`.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

from benchmarks.common import environment, print_flush

MODULE = "benchmarks.suite"
STEPS = ("task_training", "encoder_throughput", "generation_speed", "generation_speed_causal_lm", "text_inference")
RT_POLARITY = "rt-polarity:../shared/data/rt-polarity"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark's --quick mode, into <results>/quick")
    parser.add_argument("--results", help="folder of the JSON files and bench.md (default benchmarks/results[/quick])")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, from {', '.join(STEPS)}")
    parser.add_argument(
        "--sentiment-run",
        help="recipes.sentiment run folder for text_inference "
        "(default saved_models/sentiment; --quick: a --smoke run in a temporary folder)",
    )
    parser.add_argument("--summary-only", action="store_true", help="run nothing; summarize the JSON files there")
    args = parser.parse_args(argv)
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; expected some of {list(STEPS)}")
    if args.results is None:
        args.results = "benchmarks/results/quick" if args.quick else "benchmarks/results"
    return args


def commands(args, sentiment_run):
    """step -> list of argv lists (`python -m ...` without the interpreter), in the order they run."""
    results = pathlib.Path(args.results)
    quick = ["--quick"] if args.quick else []

    def bench(name, *extra, out=None):
        return ["-m", f"benchmarks.{name}", *extra, *quick, "--out", str(results / f"{out or name}.json")]

    inference = ["--examples", "64", "--repeats", "1"] if args.quick else []
    plan = {
        "task_training": [bench("task_training")],
        "encoder_throughput": [bench("encoder_throughput")],
        "generation_speed": [bench("generation_speed")],
        "generation_speed_causal_lm": [
            bench(
                "generation_speed",
                "--model",
                "causal_lm",
                *([] if args.quick else ["--new-tokens", "256"]),
                out="generation_speed_causal_lm",
            )
        ],
        "text_inference": [
            [
                "-m",
                "benchmarks.text_inference",
                "--run",
                str(sentiment_run),
                *inference,
                "--out",
                str(results / "text_inference.json"),
            ]
        ],
    }
    if not (pathlib.Path(sentiment_run) / "model.keras").is_file():  # train the run first
        recipe = [
            "-m",
            "recipes.sentiment",
            "--data",
            RT_POLARITY,
            *(["--smoke"] if args.quick else []),
            "--out",
            str(sentiment_run),
        ]
        plan["text_inference"].insert(0, recipe)
    return {step: plan[step] for step in args.steps}


def run_steps(plan):
    """Run every command; returns {step: exit status of its first failing command, or 0}."""
    statuses = {}
    for step, argvs in plan.items():
        statuses[step] = 0
        for argv in argvs:
            print_flush(f"\n=== {step}: python {' '.join(argv)}")
            status = subprocess.call([sys.executable, *argv])
            if status:
                print_flush(f"=== {step} FAILED (exit status {status})")
                statuses[step] = status
                break
    return statuses


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from benchmarks.summary import summary_table

    started = environment(MODULE, argv)  # command, date and load at the start
    results = pathlib.Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    statuses = {}
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as scratch:
        if not args.summary_only:
            default_run = pathlib.Path(scratch) / "sentiment-smoke" if args.quick else "saved_models/sentiment"
            plan = commands(args, args.sentiment_run or default_run)
            statuses = run_steps(plan)
        table = summary_table(results, quick=args.quick, suite=started, failed=statuses)
    path = results / "bench.md"
    path.write_text(table)
    print_flush("\n" + table)
    print_flush(f"wrote {path}")
    failed = [step for step, status in statuses.items() if status]
    if failed:
        print_flush(f"failed steps: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
