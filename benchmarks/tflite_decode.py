"""TFLite decode speed of a SmolLM2-135M-sized checkpoint: float32 and dynamic-range int8 files vs Keras.

    python -m benchmarks.tflite_decode                         # max_length 128, 2 rounds
    python -m benchmarks.tflite_decode --max-length 64 --rounds 1
    python -m benchmarks.tflite_decode --tiny --out /tmp/tflite_decode.json   # a 2-layer model, seconds

The random `llama` checkpoint of `benchmarks.decode_speed` (SmolLM2-135M's
published configuration, float32 safetensors; `--tiny`: the same layout at
72 wide, 2 layers, 256 tokens) is loaded with `CausalLM.from_checkpoint`
(token ids, cache length `--max-length`), then:

- export: `zoo.export.export_tflite` of the `prefill_decode` variant,
  float32 and `"dynamic"` (int8 weights, float activations): conversion +
  parity-check seconds, the process' peak RSS after each, the file's bytes,
  and what the export's own check measured: the logit error along Keras's
  greedy path (max abs, and relative to Keras's logit range) and greedy
  agreement (share of Keras's generated tokens reproduced, whether whole
  continuations are equal) on its three sample prompts;
- decode: batch 1, a 16-token prompt, greedy to `--max-length`: Keras
  `CausalLM.generate` (its `generate_ids` loop compiled as one
  `tf.function`, as `benchmarks.decode_speed` measures it) and
  `zoo.export.runtime.tflite_generate` (the app
  loop over `prefill`/`decode`, one interpreter with `--threads` threads)
  on each file, in this process, after one warm-up call each; new tokens
  per second (prefill included), best of `--rounds`; plus the int8 file's
  agreement with Keras on this prompt.

`--reference` also exports the tiny random checkpoints of
tests/checkpoints/reference/decoder/ (gpt2, llama, mistral, qwen2; cache
length 32) and records each file's size, logit error and greedy agreement.

Writes benchmarks/results/tflite_decode.json and prints a table.
"""

import argparse
import json
import os
import pathlib
import resource
import sys
import tempfile
import time

import numpy as np

from benchmarks.common import environment
from benchmarks.decode_speed import SMOLLM2_135M, write_checkpoint

REFERENCE = pathlib.Path(__file__).parent.parent / "tests" / "checkpoints" / "reference" / "decoder"
TINY = {**SMOLLM2_135M, "vocab_size": 256, "hidden_size": 72, "intermediate_size": 96, "num_hidden_layers": 2}
PROMPT_LENGTH = 16
QUANTIZATIONS = (None, "dynamic")
REPORTED = (
    "path_logits_max_abs_error",
    "path_logits_range",
    "path_logits_relative_error",
    "greedy_sequences_equal",
    "greedy_tokens_equal",
    "greedy_prefix_equal",
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=128, help="cache length = total positions generated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="LiteRT interpreter threads")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer, 72-wide model of the same layout")
    parser.add_argument("--reference", action="store_true", help="also export the reference checkpoints")
    parser.add_argument("--out", default="benchmarks/results/tflite_decode.json")
    return parser.parse_args(argv)


def peak_rss_bytes():
    """This process' peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def new_tokens(generated, end_token_id):
    """Generated tokens of a `(1, T)` greedy output, up to and including its end token."""
    from zoo.export.parity import generated_positions

    return int(generated_positions(generated, PROMPT_LENGTH, end_token_id).sum())


def decode_rate(generate, end_token_id, rounds):
    """(new tokens per second of `generate()`, its ids): best of `rounds` after one warm-up."""
    generated = np.asarray(generate())
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        generate()
        seconds.append(time.perf_counter() - start)
    return new_tokens(generated, end_token_id) / min(seconds), generated


def export_file(model, directory, quantize):
    """Write and check one `prefill_decode` file; its row of the table (no speed yet)."""
    from zoo.export import export_tflite

    name = "model.tflite" if quantize is None else f"model_{quantize}.tflite"
    start = time.perf_counter()
    path, report = export_tflite(model, directory / name, quantize=quantize)
    return path, {
        "quantization": quantize or "float32",
        "bytes": path.stat().st_size,
        "export_s": time.perf_counter() - start,
        "peak_rss_after_export": peak_rss_bytes(),
        "parity_max_abs_diff": report.max_abs_diff,
        **{name: report.extra[name] for name in REPORTED},
    }


def reference_rows(sequence_length=32):
    """Float and dynamic-range files of each reference checkpoint: sizes, logit error, greedy agreement."""
    from zoo.models import CausalLM

    rows = []
    for directory in sorted(REFERENCE.iterdir()):
        model = CausalLM.from_checkpoint(directory, sequence_length=sequence_length, preprocessor=None)
        with tempfile.TemporaryDirectory(prefix="tflite-reference-") as temporary:
            for quantize in QUANTIZATIONS:
                _, row = export_file(model, pathlib.Path(temporary), quantize)
                rows.append({"checkpoint": directory.name, **row})
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from zoo.quiet import start_tensorflow_quietly

    start_tensorflow_quietly()
    recorded = environment("benchmarks.tflite_decode", argv)  # the load average before the run
    from zoo.export.runtime import tflite_generate, tflite_interpreter
    from zoo.models import CausalLM

    config = TINY if args.tiny else SMOLLM2_135M
    prompt = np.random.default_rng(1).integers(3, config["vocab_size"], (1, PROMPT_LENGTH)).astype("int32")
    mask = np.ones_like(prompt)
    with tempfile.TemporaryDirectory(prefix="tflite-decode-") as temporary:
        directory = pathlib.Path(temporary)
        weight_bytes = write_checkpoint(directory, config)
        model = CausalLM.from_checkpoint(directory, sequence_length=args.max_length, preprocessor=None)
        end, pad = model.end_token_id, model.pad_token_id
        rss_loaded = peak_rss_bytes()

        def keras_generate():  # generate_ids compiled once per max_length (eager generate_ids is far slower)
            return model.generate({"token_ids": prompt, "padding_mask": mask}, max_length=args.max_length)

        keras_rate, keras_ids = decode_rate(keras_generate, end, args.rounds)
        rows = []
        for quantize in QUANTIZATIONS:
            path, row = export_file(model, directory, quantize)
            interpreter = tflite_interpreter(path, num_threads=args.threads)

            def tflite_loop(interpreter=interpreter):
                return tflite_generate(interpreter, prompt, end_token_id=end, pad_token_id=pad)

            rate, ids = decode_rate(tflite_loop, end, args.rounds)
            row["tokens_per_s"] = rate
            row["over_keras"] = rate / keras_rate
            row["benchmark_prompt_greedy_equal"] = bool(np.array_equal(ids, keras_ids))
            rows.append(row)
            del interpreter
    result = {
        "environment": recorded,
        "config": config,
        "max_length": args.max_length,
        "prompt_length": PROMPT_LENGTH,
        "threads": args.threads,
        "weight_bytes": weight_bytes,
        "peak_rss_after_load": rss_loaded,
        "keras_tokens_per_s": keras_rate,
        "tflite": rows,
    }
    if args.reference:
        result["reference_checkpoints"] = reference_rows()
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    return result


def print_table(result):
    config = result["config"]
    print(
        f"llama {config['num_hidden_layers']} x {config['hidden_size']}, vocabulary {config['vocab_size']}: "
        f"weights {result['weight_bytes'] / 1e6:.1f} MB float32; batch 1, {result['prompt_length']}-token prompt, "
        f"greedy to {result['max_length']}; LiteRT {result['threads']} threads"
    )
    print(f"Keras generate (compiled generate_ids): {result['keras_tokens_per_s']:.1f} new tokens/s")
    header = f"{'file':>8} {'MB':>8} {'tok/s':>7} {'x Keras':>7} {'export s':>8} {'peak RSS':>8}"
    print(f"{header} {'logit err':>9} {'rel':>7} {'tokens=':>7} {'rows=':>5}")
    for row in result["tflite"]:
        print(
            f"{row['quantization']:>8} {row['bytes'] / 1e6:>8.1f} {row['tokens_per_s']:>7.1f} "
            f"{row['over_keras']:>7.2f} {row['export_s']:>8.0f} {row['peak_rss_after_export'] / 1e9:>7.1f}G "
            f"{row['path_logits_max_abs_error']:>9.2g} {row['path_logits_relative_error']:>7.2%} "
            f"{row['greedy_tokens_equal']:>7.0%} {row['greedy_sequences_equal']:>5.0%}"
        )
    if "reference_checkpoints" in result:
        header = f"{'reference checkpoint':>22} {'file':>8} {'KB':>6}"
        print(f"{header} {'logit err':>9} {'rel':>7} {'tokens=':>7} {'rows=':>5}")
    for row in result.get("reference_checkpoints", []):
        print(
            f"{row['checkpoint']:>22} {row['quantization']:>8} {row['bytes'] / 1e3:>6.0f} "
            f"{row['path_logits_max_abs_error']:>9.2g} {row['path_logits_relative_error']:>7.2%} "
            f"{row['greedy_tokens_equal']:>7.0%} {row['greedy_sequences_equal']:>5.0%}"
        )


if __name__ == "__main__":
    main()
