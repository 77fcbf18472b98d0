"""Cached vs uncached generation, zoo vs keras-hub (BART / GPT-2), in new tokens/s.

    python -m benchmarks.generation_speed            # encoder-decoder, 128 new tokens, batch 1 and 8
    python -m benchmarks.generation_speed --model causal_lm --new-tokens 256   # decoder-only vs GPT-2
    python -m benchmarks.generation_speed --quick    # sanity run, < 1 min

Builds a zoo `Seq2SeqLM` and a keras-hub `BartSeq2SeqLM` of the same sizes
(3 encoder + 3 decoder layers, hidden 256, 8 heads, feed-forward 512,
8,000-token vocabulary, random weights) and times greedy generation of
exactly `--new-tokens` tokens (no end token can stop it) after a 32-token
source, on TensorFlow:

- zoo with the KV cache (`generate`, the default: the self-attention cache
  is written in place, cross-attention keys/values computed once),
- zoo without the cache (every step reruns the decoder over the whole
  prefix: what a naive loop does),
- keras-hub `BartSeq2SeqLM.generate` (its own KV cache, XLA-compiled on TF
  as keras-hub does by default).

Each is compiled and warmed up, then `--repeats` rounds are timed,
interleaved. Reported: median new tokens/s per batch size and the ratios
cached/uncached and zoo/keras-hub (median of per-round paired ratios). BART
uses post-LN blocks with GELU and learned positions, zoo pre-LN with ReLU;
the matrix products per token are the same.
"""

import argparse
import os
import sys
import time

from benchmarks.common import environment, format_table, median, print_flush, write_json


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generation_speed", description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("seq2seq", "causal_lm"), default="seq2seq")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--batch-sizes", default="1,8", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; medians are reported")
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=3, help="encoder layers = decoder layers")
    parser.add_argument("--num-heads", type=int, default=8)
    parser.add_argument("--intermediate-dim", type=int, default=512)
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--source-length", type=int, default=32)
    parser.add_argument("--no-keras-hub", action="store_true", help="skip the keras-hub comparison")
    parser.add_argument("--quick", action="store_true", help="16 new tokens, one round, batch 1")
    parser.add_argument("--out", default=None, help="default benchmarks/results/generation_speed[_causal_lm].json")
    args = parser.parse_args(argv)
    if args.quick:
        args.new_tokens, args.repeats, args.batch_sizes = 16, 1, "1"
    if args.out is None:
        suffix = "" if args.model == "seq2seq" else f"_{args.model}"
        args.out = f"benchmarks/results/generation_speed{suffix}.json"
    return args


def build_zoo(args):
    from zoo.models import Seq2SeqLM

    return Seq2SeqLM(
        source_vocabulary_size=args.vocabulary_size,
        target_vocabulary_size=args.vocabulary_size,
        source_length=args.source_length,
        target_length=args.new_tokens + 1,
        hidden_dim=args.hidden_dim,
        num_encoder_layers=args.num_layers,
        num_decoder_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_dim=args.intermediate_dim,
        dropout=0.0,
        end_token_id=-1,  # never produced: every run makes exactly new_tokens tokens
    )


def build_keras_hub(args):
    import keras_hub

    backbone = keras_hub.models.BartBackbone(
        vocabulary_size=args.vocabulary_size,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        hidden_dim=args.hidden_dim,
        intermediate_dim=args.intermediate_dim,
        dropout=0.0,
        max_sequence_length=max(args.source_length, args.new_tokens + 1),
    )
    return keras_hub.models.BartSeq2SeqLM(backbone=backbone, preprocessor=None)


PROMPT_LENGTH = 8  # decoder-only prompts


def build_zoo_causal(args):
    from zoo.models import CausalLM

    return CausalLM(
        vocabulary_size=args.vocabulary_size,
        sequence_length=PROMPT_LENGTH + args.new_tokens,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_dim=args.intermediate_dim,
        dropout=0.0,
        end_token_id=-1,  # never produced
    )


def build_keras_hub_causal(args):
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=args.vocabulary_size,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        hidden_dim=args.hidden_dim,
        intermediate_dim=args.intermediate_dim,
        dropout=0.0,
        max_sequence_length=PROMPT_LENGTH + args.new_tokens,
    )
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


def causal_runners(args, batch_size):
    import numpy as np
    import tensorflow as tf

    model = build_zoo_causal(args)
    total = PROMPT_LENGTH + args.new_tokens
    prompt = (
        np.random.default_rng(0).integers(4, args.vocabulary_size, size=(batch_size, PROMPT_LENGTH)).astype("int32")
    )
    inputs = {"token_ids": prompt, "padding_mask": np.ones_like(prompt)}
    padded, mask = model._pad_prompts(prompt, np.ones_like(prompt), total)
    uncached = tf.function(lambda ids, m: model.generate_ids(ids, m, max_length=total, use_cache=False))
    result = {
        "zoo cached": lambda: model.generate(inputs, max_length=total),
        "zoo uncached": lambda: uncached(padded, mask).numpy(),
    }
    if not args.no_keras_hub:
        hub = build_keras_hub_causal(args)
        hub_ids = np.zeros((batch_size, total), "int32")
        hub_ids[:, :PROMPT_LENGTH] = prompt
        hub_mask = np.zeros_like(hub_ids)
        hub_mask[:, :PROMPT_LENGTH] = 1
        hub_inputs = {"token_ids": hub_ids, "padding_mask": hub_mask}
        result["keras-hub"] = lambda: hub.generate(hub_inputs, stop_token_ids=None)
    return result


def inputs_for(args, batch_size):
    import numpy as np

    rng = np.random.default_rng(0)
    source = rng.integers(4, args.vocabulary_size, size=(batch_size, args.source_length)).astype("int32")
    decoder = np.zeros((batch_size, args.new_tokens + 1), "int32")
    decoder[:, 0] = 2
    decoder_mask = np.zeros_like(decoder)
    decoder_mask[:, 0] = 1
    return {
        "encoder_token_ids": source,
        "encoder_padding_mask": np.ones_like(source),
        "decoder_token_ids": decoder,
        "decoder_padding_mask": decoder_mask,
    }


def runners(args, batch_size):
    """name -> function generating `new_tokens` tokens for the batch."""
    import tensorflow as tf

    zoo_model = build_zoo(args)
    inputs = inputs_for(args, batch_size)
    encoder = {k: inputs[k] for k in ("encoder_token_ids", "encoder_padding_mask")}
    uncached = tf.function(lambda ids, mask: zoo_model.generate_ids(ids, mask, use_cache=False), reduce_retracing=True)
    result = {
        "zoo cached": lambda: zoo_model.generate(encoder),
        "zoo uncached": lambda: uncached(encoder["encoder_token_ids"], encoder["encoder_padding_mask"]).numpy(),
    }
    if not args.no_keras_hub:
        hub_model = build_keras_hub(args)
        result["keras-hub"] = lambda: hub_model.generate(inputs, stop_token_ids=None)
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import zoo  # noqa: F401  (quiet TensorFlow start-up)

    record = {"environment": environment("benchmarks.generation_speed", argv), "config": vars(args), "results": []}
    rows = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        functions = (causal_runners if args.model == "causal_lm" else runners)(args, batch_size)
        for function in functions.values():  # compile and warm up
            function()
        seconds = {name: [] for name in functions}
        for round_index in range(args.repeats):
            names = list(functions) if round_index % 2 == 0 else list(reversed(functions))
            for name in names:
                start = time.perf_counter()
                functions[name]()
                seconds[name].append(time.perf_counter() - start)
        tokens = batch_size * args.new_tokens
        rates = {name: tokens / median(values) for name, values in seconds.items()}

        def paired(a, b, seconds=seconds):
            return median([seconds[b][i] / seconds[a][i] for i in range(args.repeats)])

        entry = {
            "batch_size": batch_size,
            "new_tokens": args.new_tokens,
            "tokens_per_second": rates,
            "seconds": seconds,
            "cached_over_uncached": paired("zoo cached", "zoo uncached"),
        }
        if "keras-hub" in functions:
            entry["zoo_over_keras_hub"] = paired("zoo cached", "keras-hub")
        record["results"].append(entry)
        for name, rate in rates.items():
            ratio = "" if name == "zoo cached" else f"{paired('zoo cached', name):.2f}x"
            rows.append([batch_size, name, f"{rate:,.0f}", ratio])
        print_flush(f"batch {batch_size}: " + ", ".join(f"{n} {r:,.0f} tokens/s" for n, r in rates.items()))
    record["environment"]["load_average_at_end"] = list(os.getloadavg())
    print_flush(format_table(["batch", "generator", "new tokens/s", "zoo cached is faster by"], rows))
    write_json(record, args.out)
    print_flush(f"wrote {args.out}")
    return record


if __name__ == "__main__":
    main()
