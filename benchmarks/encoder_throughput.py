"""Training throughput of zoo's TransformerEncoder against keras-hub's, same config, same process.

    python -m benchmarks.encoder_throughput            # full run, several minutes
    python -m benchmarks.encoder_throughput --quick    # sanity run, well under a minute

Both models are `Embedding -> N encoder blocks -> mean pool -> Dense(2)`,
post-LN, relu, dropout 0, with the last 10% of every sequence padded and the
padding mask passed to every block, trained with Adam on sparse
cross-entropy over one synthetic in-memory batch (`train_on_batch`). After a
warm-up (tracing), each round times `--steps` steps of one model then the
other, alternating which goes first; many short rounds keep each pair close
in time, so drift on this shared machine hits both alike. The headline number is the median over rounds of the paired
zoo/keras-hub throughput ratio; absolute tokens/s move with machine load.

A second table times forward+backward of one `zoo.layers.MultiHeadAttention`
call through its two implementations, `attention_implementation="fused"`
(`ops.dot_product_attention`) and `"explicit"` (einsum + softmax); `"auto"`
picks the faster one per backend, from this measurement.
"""

import argparse
import gc
import sys
import time

from benchmarks.common import (
    environment,
    finish,
    format_table,
    print_flush,
    spread,
    summarize,
    train_interleaved,
    with_policy,
)

MODULE = "benchmarks.encoder_throughput"
DEFAULTS = {"steps": 5, "repeats": 12, "warmup": 3, "attention_steps": 10}
QUICK = {"steps": 2, "repeats": 1, "warmup": 1, "attention_steps": 3, "layers": 2}
MODELS = ("zoo", "keras-hub")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, help="timed training steps per model per round (default 5)")
    parser.add_argument("--repeats", type=int, help="timed rounds, interleaved zoo/keras-hub (default 12)")
    parser.add_argument("--warmup", type=int, help="untimed steps per model after the tracing step (default 3)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--layers", type=int, help="encoder blocks (default 4)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, help="feed-forward width (default 4 * hidden)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--pad-fraction", type=float, default=0.1, help="padded tail of each sequence")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="comma-separated dtype policies")
    parser.add_argument("--attention-steps", type=int, help="calls per attention timing (default 10)")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile (slower on this CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="few steps and 2 layers: a sanity run")
    parser.add_argument("--out", default="benchmarks/results/encoder_throughput.json")
    args = parser.parse_args(argv)
    for name, value in {**DEFAULTS, "layers": 4, **(QUICK if args.quick else {})}.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.intermediate = args.intermediate or 4 * args.hidden
    args.precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    for name in ("steps", "repeats", "batch_size", "seq_len", "layers", "hidden", "attention_steps"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive; received {getattr(args, name)}")
    if args.hidden % args.heads:
        parser.error(f"--heads must divide --hidden; received hidden={args.hidden}, heads={args.heads}")
    return args


def synthetic_batch(args):
    """Token ids, padding mask (last `pad_fraction` of each row padded) and binary labels."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(args.seed)
    real = max(1, args.seq_len - int(round(args.pad_fraction * args.seq_len)))
    padding_mask = np.zeros((args.batch_size, args.seq_len), bool)
    padding_mask[:, :real] = True
    token_ids = rng.integers(1, args.vocab_size, (args.batch_size, args.seq_len)) * padding_mask
    labels = rng.integers(0, 2, (args.batch_size,))
    inputs = {
        "token_ids": tf.constant(token_ids, tf.int32),
        "padding_mask": tf.constant(padding_mask),
    }
    return inputs, tf.constant(labels, tf.int32)


def build_classifier(kind, args):
    """`Embedding -> args.layers encoder blocks -> mean pool -> Dense(2)` with zoo's or keras-hub's block."""
    import keras
    import keras_hub

    import zoo

    block_class = zoo.layers.TransformerEncoder if kind == "zoo" else keras_hub.layers.TransformerEncoder
    token_ids = keras.Input((args.seq_len,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((args.seq_len,), dtype="bool", name="padding_mask")
    hidden = keras.layers.Embedding(args.vocab_size, args.hidden, name="token_embedding")(token_ids)
    for i in range(args.layers):
        block = block_class(
            num_heads=args.heads,
            intermediate_dim=args.intermediate,
            dropout=0.0,
            activation="relu",
            normalize_first=False,
            name=f"encoder_{i}",
        )
        hidden = block(hidden, padding_mask=padding_mask)  # (B, T, D)
    pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(hidden)
    logits = keras.layers.Dense(2, name="logits")(pooled)
    model = keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, logits, name=kind)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=args.jit_compile,
    )
    return model


def benchmark_encoders(args, precision):
    """Interleaved rounds for one dtype policy: per-run records and a summary."""
    import keras

    inputs, labels = synthetic_batch(args)
    models = {}
    for kind in MODELS:
        keras.utils.set_random_seed(args.seed)
        models[kind] = build_classifier(kind, args)
    params = {kind: model.count_params() for kind, model in models.items()}
    if params["zoo"] != params["keras-hub"]:
        print_flush(f"warning: parameter counts differ: {params}")
    tokens = args.batch_size * args.seq_len  # per step, padding included
    runs = train_interleaved(models, {kind: (inputs, labels) for kind in MODELS}, args, tokens, precision)
    del models
    gc.collect()
    keras.backend.clear_session()
    return runs, summarize(runs, "tokens_per_s", "zoo", "keras-hub", params)


def benchmark_attention(args, precision):
    """Forward+backward of one zoo MultiHeadAttention call: fused vs explicit path, same weights and inputs."""
    import keras
    import numpy as np
    import tensorflow as tf

    import zoo

    keras.utils.set_random_seed(args.seed)
    layers = {
        name: zoo.layers.MultiHeadAttention(
            num_heads=args.heads, key_dim=args.hidden // args.heads, attention_implementation=name
        )
        for name in ("fused", "explicit")
    }
    inputs, _ = synthetic_batch(args)
    x = tf.constant(np.random.default_rng(args.seed).normal(size=(args.batch_size, args.seq_len, args.hidden)))
    x = tf.cast(x, layers["fused"].compute_dtype)
    padding_mask = inputs["padding_mask"]
    for attention in layers.values():
        attention(x, padding_mask=padding_mask)  # build
    layers["explicit"].set_weights(layers["fused"].get_weights())

    def step_function(attention):
        @tf.function(jit_compile=args.jit_compile)
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                output = attention(x, padding_mask=padding_mask)
                loss = tf.reduce_mean(tf.square(tf.cast(output, "float32")))
            gradients = tape.gradient(loss, [x] + attention.trainable_variables)
            return loss, gradients

        return step

    steps = {name: step_function(attention) for name, attention in layers.items()}
    for step in steps.values():
        for _ in range(1 + args.warmup):  # trace, then warm up
            step(x)
    fused = layers["fused"](x, padding_mask=padding_mask)
    explicit = layers["explicit"](x, padding_mask=padding_mask)
    difference = float(tf.reduce_max(tf.abs(tf.cast(fused - explicit, "float32"))))

    def timed(step):
        seconds = []
        for _ in range(args.attention_steps):
            start = time.perf_counter()
            step(x)[0].numpy()
            seconds.append(time.perf_counter() - start)
        return seconds

    runs = []
    for round_index in range(args.repeats):
        order = ("fused", "explicit") if round_index % 2 == 0 else ("explicit", "fused")
        for path in order:
            seconds = timed(steps[path])
            runs.append(
                {
                    "precision": precision,
                    "model": path,
                    "round": round_index,
                    "call_seconds": seconds,
                    "calls_per_s": len(seconds) / sum(seconds),
                    "best_step_calls_per_s": 1 / min(seconds),
                }
            )
    summary = summarize(runs, "calls_per_s", "fused", "explicit")
    summary["median_ms_per_call"] = {path: 1000 / value for path, value in summary["median_calls_per_s"].items()}
    summary["best_ms_per_call"] = {path: 1000 / value for path, value in summary["best_calls_per_s"].items()}
    summary["max_abs_output_difference"] = difference
    keras.backend.clear_session()
    return runs, summary


def report(results):
    rows = []
    for precision, summary in results["encoder"]["summary"].items():
        medians, best = summary["median_tokens_per_s"], summary["best_tokens_per_s"]
        rows.append(
            [
                "zoo",
                precision,
                f"{medians['zoo']:,.0f}",
                f"{best['zoo']:,.0f}",
                spread(summary),
                f"{summary['best_ratio']:.3f}",
            ]
        )
        rows.append(["keras-hub", precision, f"{medians['keras-hub']:,.0f}", f"{best['keras-hub']:,.0f}", "1", "1"])
    print_flush("\nTraining throughput, tokens/s: median round and best step; ratio = zoo/keras-hub,")
    print_flush("median of paired rounds (min-max), and of best steps")
    print_flush(format_table(["model", "precision", "tokens/s", "best tokens/s", "ratio", "best ratio"], rows))

    rows = []
    for precision, summary in results["attention"]["summary"].items():
        ms, best = summary["median_ms_per_call"], summary["best_ms_per_call"]
        rows.append(
            [
                precision,
                f"{ms['fused']:.2f}",
                f"{ms['explicit']:.2f}",
                spread(summary),
                f"{best['fused']:.2f}",
                f"{best['explicit']:.2f}",
                f"{summary['best_ratio']:.3f}",
            ]
        )
    print_flush("\nzoo MultiHeadAttention forward+backward, ms per call: median round and best call;")
    print_flush("speedup = explicit time / fused time (> 1: dot_product_attention is faster)")
    header = ["precision", "fused ms", "explicit ms", "speedup", "best fused", "best explicit", "best speedup"]
    print_flush(format_table(header, rows))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import zoo  # noqa: F401  (imports TensorFlow with its start-up logs captured)

    config = {k: v for k, v in vars(args).items() if k != "out"}
    results = {"benchmark": MODULE, **environment(MODULE, argv), "config": config}
    results["encoder"] = {"runs": [], "summary": {}}
    results["attention"] = {"runs": [], "summary": {}}
    started = time.perf_counter()
    for precision in args.precisions:
        print_flush(f"encoders, {precision}: warm-up, then {args.repeats} x {args.steps} steps per model")
        runs, summary = with_policy(precision, benchmark_encoders, args)
        results["encoder"]["runs"] += runs
        results["encoder"]["summary"][precision] = summary
        print_flush(f"attention paths, {precision}: {args.repeats} x {args.attention_steps} calls per path")
        runs, summary = with_policy(precision, benchmark_attention, args)
        results["attention"]["runs"] += runs
        results["attention"]["summary"][precision] = summary
    results["ratios"] = {p: s["ratio"] for p, s in results["encoder"]["summary"].items()}
    results["attention_speedups"] = {p: s["ratio"] for p, s in results["attention"]["summary"].items()}
    return finish(results, started, report, args.out)


if __name__ == "__main__":
    main()
