"""Training tokens/s of zoo's task models against keras-hub's at equal size, and their model FLOPs utilization.

    python -m benchmarks.task_training            # full run, ~15 min on an idle 2-core machine
    python -m benchmarks.task_training --quick    # sanity run (1-layer models), about a minute

For each task (text classifier, causal LM, seq2seq, ViT image classifier;
see `benchmarks.task_pairs`) and each precision (`float32`,
`mixed_bfloat16`), the zoo model and its keras-hub counterpart are built with
random weights, compiled the same way (Adam, sparse cross-entropy from
logits, no XLA unless `--jit-compile`), traced and warmed up, then trained on
one synthetic batch in `--repeats` interleaved rounds of `--steps` steps
(`benchmarks.common.train_interleaved`, as `benchmarks.encoder_throughput`).
Reported: median tokens/s, and the zoo/keras-hub ratio as the median of the
per-round paired ratios (> 1: zoo is faster).

Model FLOPs utilization (MFU): a training step is counted as 3x the forward
FLOPs (backward ~2x forward) that TensorFlow's profiler counts for the zoo
model (`zoo.compress.matrices.measured_flops`); the same count is used for
the keras-hub model (same matrix products). It is divided by a ceiling
measured in the same process: the best GFLOP/s of a large square `tf.matmul`
in float32 (for `float32` runs) and bfloat16 (for `mixed_bfloat16`), timed
before and after the training rounds.
"""

import argparse
import gc
import sys
import time

from benchmarks.common import (
    environment,
    finish,
    format_table,
    median,
    print_flush,
    spread,
    summarize,
    train_interleaved,
    with_policy,
)

MODULE = "benchmarks.task_training"
TASKS = ("text_classifier", "causal_lm", "seq2seq", "image_classifier")
MODELS = ("zoo", "keras-hub")
SIZES = {  # shared by every task unless TASK_SIZES says otherwise
    "full": dict(
        layers=4,
        hidden=256,
        heads=4,
        intermediate=1024,
        vocabulary=8000,
        batch_size=32,
        seq_len=128,
        steps=5,
        repeats=8,
        warmup=3,
        matmul_size=2048,
    ),
    "quick": dict(
        layers=1,
        hidden=64,
        heads=2,
        intermediate=128,
        vocabulary=1000,
        batch_size=8,
        seq_len=32,
        steps=2,
        repeats=2,
        warmup=1,
        matmul_size=1024,
    ),
}
TASK_SIZES = {  # seq2seq: layers per side, seq_len per side; ViT: 32x32 RGB in 4x4 patches (65 tokens)
    "full": {
        "seq2seq": dict(layers=3, seq_len=64),
        "image_classifier": dict(image_size=32, patch_size=4, batch_size=64),
    },
    "quick": {"image_classifier": dict(image_size=16, patch_size=4)},
}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, from {', '.join(TASKS)}")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="comma-separated dtype policies")
    for name in ("steps", "repeats", "warmup", "layers", "hidden", "heads", "intermediate", "batch-size"):
        parser.add_argument(f"--{name}", type=int, help="overrides every task's value (defaults: see SIZES)")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile both models (slower on this CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="1-layer models, 2 rounds of 2 steps: a sanity run")
    parser.add_argument("--out", default="benchmarks/results/task_training.json")
    args = parser.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = sorted(set(args.tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown tasks {unknown}; expected some of {list(TASKS)}")
    args.precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    mode = "quick" if args.quick else "full"
    for name, value in SIZES[mode].items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    for name in ("steps", "repeats", "layers", "hidden", "heads", "batch_size"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive; received {getattr(args, name)}")
    if args.hidden % args.heads:
        parser.error(f"--heads must divide --hidden; received hidden={args.hidden}, heads={args.heads}")
    return args


def task_config(args, task):
    """The sizes of one task: the shared ones, the task's own, then explicit flags on top."""
    mode = "quick" if args.quick else "full"
    config = {**SIZES[mode], **TASK_SIZES[mode].get(task, {}), "seed": args.seed, "pad_fraction": 0.1}
    for name in ("layers", "hidden", "heads", "intermediate", "batch_size"):
        if getattr(args, name) != SIZES[mode][name]:  # given on the command line
            config[name] = getattr(args, name)
    for name in ("steps", "repeats", "warmup", "matmul_size"):
        config.pop(name)
    return config


def matmul_ceiling(dtype, size, repeats=5):
    """Best and median GFLOP/s of a `(size, size) x (size, size)` tf.matmul in `dtype`; None if unsupported."""
    import tensorflow as tf

    try:
        a = tf.cast(tf.random.stateless_normal((size, size), seed=(1, 2)), dtype)
        b = tf.cast(tf.random.stateless_normal((size, size), seed=(3, 4)), dtype)
        tf.matmul(a, b)[0, 0].numpy()  # warm-up (and the unsupported-dtype check)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        return None
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b)[0, 0].numpy()
        seconds.append(time.perf_counter() - start)
    flops = 2 * size**3
    return {"size": size, "best_gflops": flops / min(seconds) / 1e9, "median_gflops": flops / median(seconds) / 1e9}


def forward_flops(model, inputs):
    """TensorFlow-counted FLOPs of one example's forward pass."""
    from zoo.compress.matrices import measured_flops

    one = {name: value[:1] for name, value in inputs.items()} if isinstance(inputs, dict) else inputs[:1]
    return measured_flops(model, one)


def benchmark_task(args, task, config, precision):
    """Interleaved training rounds of one task's zoo and keras-hub models under one dtype policy."""
    import keras
    import tensorflow as tf

    from benchmarks.task_pairs import PAIRS, tokens_per_example

    keras.utils.set_random_seed(args.seed)
    pairs = PAIRS[task](config)
    models = {}
    for name in MODELS:
        model, inputs, labels = pairs[name]
        model.compile(
            optimizer=keras.optimizers.Adam(1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=args.jit_compile,
        )
        models[name] = model
    flops = forward_flops(models["zoo"], pairs["zoo"][1])
    params = {name: model.count_params() for name, model in models.items()}
    tokens = config["batch_size"] * tokens_per_example(task, config)
    batches = {
        name: (tf.nest.map_structure(tf.constant, pairs[name][1]), tf.constant(pairs[name][2])) for name in MODELS
    }
    runs = train_interleaved(models, batches, args, tokens, precision)
    for run in runs:
        run["task"] = task
    summary = summarize(runs, "tokens_per_s", "zoo", "keras-hub", params)
    summary["training_flops_per_step"] = 3 * flops * config["batch_size"]
    del models, pairs
    gc.collect()
    keras.backend.clear_session()
    return runs, summary, flops


def add_mfu(results):
    """MFU of every model and precision: achieved training FLOP/s over the best measured matmul FLOP/s."""
    for task in results["tasks"].values():
        for precision, summary in task["summary"].items():
            ceiling = results["matmul_ceiling"]["bfloat16" if "bfloat16" in precision else "float32"]
            step_flops = summary["training_flops_per_step"]
            summary["achieved_gflops"] = {
                name: step_flops * rate / task["tokens_per_step"] / 1e9
                for name, rate in summary["median_tokens_per_s"].items()
            }
            summary["mfu"] = {
                name: (None if ceiling is None else gflops / ceiling["best_gflops"])
                for name, gflops in summary["achieved_gflops"].items()
            }


def report(results):
    rows = []
    for task, entry in results["tasks"].items():
        for precision, s in entry["summary"].items():
            mfu = {name: "-" if value is None else f"{100 * value:.0f}%" for name, value in s["mfu"].items()}
            rate = s["median_tokens_per_s"]
            rows.append(
                [
                    task,
                    precision,
                    f"{rate['zoo']:,.0f}",
                    f"{rate['keras-hub']:,.0f}",
                    spread(s),
                    f"{s['best_ratio']:.3f}",
                    f"{s['achieved_gflops']['zoo']:.1f}",
                    mfu["zoo"],
                    mfu["keras-hub"],
                ]
            )
    print_flush("\nTraining tokens/s (median round); ratio = zoo/keras-hub, median of paired rounds (min-max);")
    print_flush("MFU = training FLOP/s / best measured matmul FLOP/s of the same precision")
    header = [
        "task",
        "precision",
        "zoo tok/s",
        "keras-hub tok/s",
        "ratio",
        "best ratio",
        "zoo GFLOP/s",
        "zoo MFU",
        "keras-hub MFU",
    ]
    print_flush(format_table(header, rows))
    ceilings = results["matmul_ceiling"]
    print_flush(
        "matmul ceiling, GFLOP/s: "
        + ", ".join(
            f"{dtype} {'unsupported' if c is None else format(c['best_gflops'], '.0f')}"
            for dtype, c in ceilings.items()
        )
    )


def measure_ceilings(args, ceilings):
    for dtype in ("float32", "bfloat16"):
        measured = matmul_ceiling(dtype, args.matmul_size)
        previous = ceilings.get(dtype)
        if measured is None or previous is None:
            ceilings[dtype] = measured if previous is None else previous
        elif measured["best_gflops"] > previous["best_gflops"]:
            ceilings[dtype] = measured
    return ceilings


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import zoo  # noqa: F401  (imports TensorFlow with its start-up logs captured)
    from benchmarks.task_pairs import NOTES, tokens_per_example

    config = {k: v for k, v in vars(args).items() if k != "out"}
    results = {"benchmark": MODULE, **environment(MODULE, argv), "config": config, "tasks": {}}
    started = time.perf_counter()
    print_flush(f"matmul ceiling ({args.matmul_size}^2, float32 and bfloat16)")
    ceilings = measure_ceilings(args, {})
    for task in args.tasks:
        sizes = task_config(args, task)
        entry = results["tasks"][task] = {
            "sizes": sizes,
            "keras_hub_model": NOTES[task],
            "runs": [],
            "summary": {},
            "tokens_per_step": sizes["batch_size"] * tokens_per_example(task, sizes),
        }
        for precision in args.precisions:
            print_flush(f"{task}, {precision}: warm-up, then {args.repeats} x {args.steps} steps per model")
            runs, summary, flops = with_policy(precision, benchmark_task, args, task, sizes)
            entry["runs"] += runs
            entry["summary"][precision] = summary
            entry["forward_flops_per_example"] = flops
    results["matmul_ceiling"] = measure_ceilings(args, ceilings)  # the best of before and after
    add_mfu(results)
    results["ratios"] = {t: {p: s["ratio"] for p, s in e["summary"].items()} for t, e in results["tasks"].items()}
    results["mfu"] = {t: {p: s["mfu"] for p, s in e["summary"].items()} for t, e in results["tasks"].items()}
    return finish(results, started, report, args.out)


if __name__ == "__main__":
    main()
