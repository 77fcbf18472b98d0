"""SmolLM2-135M-sized decode speed and load memory: zoo vs keras-hub, against the memory-bandwidth bound.

    python -m benchmarks.decode_speed                       # max_length 128 and 512, 2 rounds
    python -m benchmarks.decode_speed --max-lengths 128 --rounds 1

A random checkpoint with SmolLM2-135M's published configuration (576 wide,
30 layers, 9 heads / 3 KV heads, 1,536 intermediate, 49,152 tokens, tied
embeddings, RMSNorm, rope_theta 100,000) is written as a Hugging Face
`llama` directory (config.json + model.safetensors, float32) into a
temporary directory. Then:

- load: a fresh Python process runs `CausalLM.from_checkpoint` and reports
  the seconds and the peak RSS above the process' RSS before loading,
  against the weights' bytes (the issue's target: <= 2.5x);
- decode: batch 1, a 16-token prompt, greedy to `max_length`: zoo's
  `generate` (split per-layer KV cache, one compiled loop per cache-length
  bucket 64, 128, 256, ...: see `zoo.models.causal_lm_generate`) and keras-hub's
  `LlamaCausalLM.generate` (its static cache) with the same configuration
  and weights shape in the same process, after one warm-up call each; new
  tokens / s, best of `--rounds`;
- bound: weights' bytes read per token vs a measured NumPy copy bandwidth.

Writes benchmarks/results/decode_speed.json and prints a table.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.common import environment

SMOLLM2_135M = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "vocab_size": 49152,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "hidden_act": "silu",
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 100000.0,
    "tie_word_embeddings": True,
    "attention_bias": False,
    "mlp_bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
PROMPT_LENGTH = 16


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lengths", default="128,512", help="comma-separated total lengths")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-keras-hub", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/decode_speed.json")
    parser.add_argument("--load-only", help=argparse.SUPPRESS)  # the child process of the load measurement
    return parser.parse_args(argv)


def write_checkpoint(directory, config=SMOLLM2_135M, seed=0):
    """A random Llama-layout checkpoint (safetensors, float32); returns the weights' bytes."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    d, inner, kv = config["hidden_size"], config["intermediate_size"], config["num_key_value_heads"]
    head = d // config["num_attention_heads"]

    def normal(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    tensors = {"model.embed_tokens.weight": normal(config["vocab_size"], d), "model.norm.weight": np.ones(d, "float32")}
    for i in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{i}."
        tensors.update(
            {
                prefix + "self_attn.q_proj.weight": normal(d, d),
                prefix + "self_attn.k_proj.weight": normal(kv * head, d),
                prefix + "self_attn.v_proj.weight": normal(kv * head, d),
                prefix + "self_attn.o_proj.weight": normal(d, d),
                prefix + "mlp.gate_proj.weight": normal(inner, d),
                prefix + "mlp.up_proj.weight": normal(inner, d),
                prefix + "mlp.down_proj.weight": normal(d, inner),
                prefix + "input_layernorm.weight": np.ones(d, "float32"),
                prefix + "post_attention_layernorm.weight": np.ones(d, "float32"),
            }
        )
    save_file(tensors, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(config, indent=1))
    return sum(array.nbytes for array in tensors.values())


def rss_bytes():
    """This process' current resident set size (Linux /proc)."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def load_in_child(directory):
    """Run in a fresh process: import, then time `from_checkpoint`; prints JSON."""
    import resource

    from zoo.quiet import start_tensorflow_quietly

    start_tensorflow_quietly()
    from zoo.models import CausalLM

    before = rss_bytes()
    start = time.perf_counter()
    CausalLM.from_checkpoint(directory, sequence_length=512, preprocessor=None)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"load_s": seconds, "rss_before": before, "peak_rss": peak}))


def measure_load(directory):
    command = [sys.executable, "-m", "benchmarks.decode_speed", "--load-only", str(directory)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def copy_bandwidth(size=512 * 2**20, repeats=5):
    """Bytes per second of a large NumPy copy (read + write of `size` bytes, counted once)."""
    source = np.ones(size // 4, "float32")
    target = np.empty_like(source)
    best = min(_timed(lambda: np.copyto(target, source)) for _ in range(repeats))
    return size / best


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def keras_hub_model(config):
    import keras_hub

    backbone = keras_hub.models.LlamaBackbone(
        vocabulary_size=config["vocab_size"],
        num_layers=config["num_hidden_layers"],
        num_query_heads=config["num_attention_heads"],
        hidden_dim=config["hidden_size"],
        intermediate_dim=config["intermediate_size"],
        num_key_value_heads=config["num_key_value_heads"],
        rope_max_wavelength=config["rope_theta"],
        layer_norm_epsilon=config["rms_norm_eps"],
        tie_word_embeddings=True,
    )
    return keras_hub.models.LlamaCausalLM(backbone=backbone, preprocessor=None)


def decode_rate(generate, max_length, rounds):
    """New tokens per second of `generate(max_length)` (best of `rounds`, after one warm-up)."""
    generate(max_length)
    best = min(_timed(lambda: generate(max_length)) for _ in range(rounds))
    return (max_length - PROMPT_LENGTH) / best


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.load_only:
        return load_in_child(args.load_only)
    from zoo.quiet import start_tensorflow_quietly

    start_tensorflow_quietly()
    max_lengths = [int(value) for value in args.max_lengths.split(",")]
    with tempfile.TemporaryDirectory() as temporary:
        directory = pathlib.Path(temporary)
        weight_bytes = write_checkpoint(directory)
        load = measure_load(directory)
        from zoo.models import CausalLM

        zoo_model = CausalLM.from_checkpoint(directory, sequence_length=max(max_lengths), preprocessor=None)
    bandwidth = copy_bandwidth()
    prompt = np.random.default_rng(1).integers(3, SMOLLM2_135M["vocab_size"], (1, PROMPT_LENGTH)).astype("int32")
    mask = np.ones_like(prompt)

    def zoo_generate(max_length):
        return zoo_model.generate({"token_ids": prompt, "padding_mask": mask}, max_length=max_length)

    hub = None if args.no_keras_hub else keras_hub_model(SMOLLM2_135M)

    def hub_generate(max_length):
        pad = np.zeros((1, max_length - PROMPT_LENGTH), "int32")
        inputs = {"token_ids": np.concatenate([prompt, pad], 1), "padding_mask": np.concatenate([mask, pad], 1)}
        return hub.generate(inputs, max_length=max_length, stop_token_ids=None)

    rows = []
    for max_length in max_lengths:
        row = {"max_length": max_length, "zoo_tokens_per_s": decode_rate(zoo_generate, max_length, args.rounds)}
        if hub is not None:
            row["keras_hub_tokens_per_s"] = decode_rate(hub_generate, max_length, args.rounds)
            row["zoo_over_keras_hub"] = row["zoo_tokens_per_s"] / row["keras_hub_tokens_per_s"]
        row["fraction_of_bound"] = row["zoo_tokens_per_s"] / (bandwidth / weight_bytes)
        rows.append(row)
    result = {
        "environment": environment("benchmarks.decode_speed", sys.argv[1:] if argv is None else argv),
        "config": SMOLLM2_135M,
        "weight_bytes": weight_bytes,
        "load": {**load, "peak_over_weights": (load["peak_rss"] - load["rss_before"]) / weight_bytes},
        "copy_bandwidth_bytes_per_s": bandwidth,
        "bound_tokens_per_s": bandwidth / weight_bytes,
        "decode": rows,
    }
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2))
    print_table(result)
    return result


def print_table(result):
    load = result["load"]
    print(f"weights {result['weight_bytes'] / 1e6:.0f} MB (float32)")
    print(
        f"load {load['load_s']:.1f} s, peak RSS +{(load['peak_rss'] - load['rss_before']) / 1e6:.0f} MB above the "
        f"process before loading = {load['peak_over_weights']:.2f}x the weights "
        f"(total peak {load['peak_rss'] / 1e6:.0f} MB)"
    )
    print(
        f"copy bandwidth {result['copy_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s -> bound "
        f"{result['bound_tokens_per_s']:.1f} tokens/s (weights read once per token)"
    )
    print(f"{'max_length':>10} {'zoo tok/s':>10} {'keras-hub':>10} {'ratio':>6} {'of bound':>8}")
    for row in result["decode"]:
        hub = row.get("keras_hub_tokens_per_s")
        print(
            f"{row['max_length']:>10} {row['zoo_tokens_per_s']:>10.1f} {hub or float('nan'):>10.1f} "
            f"{row.get('zoo_over_keras_hub', float('nan')):>6.2f} {row['fraction_of_bound']:>8.0%}"
        )


if __name__ == "__main__":
    main()
