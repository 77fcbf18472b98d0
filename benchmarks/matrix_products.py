"""Where the matrix products of our Transformers are, and what factorizing them saves: tables + TF's FLOP count.

    python -m benchmarks.matrix_products            # tables for three configs, TF-measured FLOPs of two models
    python -m benchmarks.matrix_products --quick    # tiny configs (tests)

For each config it prints one block's products (shapes, MFLOPs, parameters),
dense and with every projection factorized at rank d/4, and for whole models
(random weights) TensorFlow's own FLOP count of one forward pass next to the
table's sum (blocks + patch/embedding projection + head), so the table is
checked against the graph that really runs. Writes
benchmarks/results/matrix_products.json (or --out).
"""

import argparse
import sys

import numpy as np

from benchmarks.common import environment, print_flush, write_json
from zoo.compress.matrices import block_products, format_products, measured_flops

MODULE = "benchmarks.matrix_products"

CONFIGS = {
    # name: (hidden_dim, num_heads, intermediate_dim, sequence_length)
    "translation `small` encoder block (Multi30k model)": (256, 8, 512, 64),
    "all-MiniLM-L6-v2 block, 128 tokens": (384, 12, 1536, 128),
    "ViT `mnist` block (28x28, 4x4 patches + [CLS])": (128, 4, 256, 50),
}
QUICK_CONFIGS = {"tiny block": (32, 4, 64, 16)}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny configs only")
    parser.add_argument("--out", default="benchmarks/results/matrix_products.json")
    return parser.parse_args(argv)


def block_tables(configs):
    results = {}
    for name, (d, heads, f, t) in configs.items():
        rank = d // 4
        dense = block_products(d, heads, f, t)
        factorized = block_products(d, heads, f, t, projection_rank=rank, ffn_rank=rank)
        print_flush(f"\n### {name}: d={d}, heads={heads}, f={f}, T={t}\n")
        print_flush(format_products(dense))
        print_flush(f"\nevery projection at rank {rank} (d/4):\n")
        print_flush(format_products(factorized))
        totals = {
            key: {"flops": sum(r["flops"] for r in rows), "parameters": sum(r["parameters"] for r in rows)}
            for key, rows in (("dense", dense), (f"rank_{rank}", factorized))
        }
        attention_share = sum(r["flops"] for r in dense if r["parameters"] == 0) / totals["dense"]["flops"]
        print_flush(f"\nQK^T and softmax(.)V: {100 * attention_share:.1f}% of the block's FLOPs; projections the rest")
        results[name] = {
            "config": dict(d=d, heads=heads, f=f, T=t),
            "dense": dense,
            "factorized": factorized,
            "totals": totals,
            "attention_share": attention_share,
        }
    return results


def whole_models(quick):
    from zoo.models import ImageClassifier, TextClassifier

    rows = []
    vit_preset = "tiny" if quick else "mnist"
    vit = ImageClassifier.from_preset(vit_preset)
    height, width = vit.image_size
    patches = (height // vit.patch_size[0]) * (width // vit.patch_size[1])
    tokens = patches + 1
    table = vit.num_layers * sum(
        r["flops"] for r in block_products(vit.hidden_dim, vit.num_heads, vit.intermediate_dim, tokens)
    )
    table += (
        2 * patches * (vit.patch_size[0] * vit.patch_size[1] * vit.num_channels) * vit.hidden_dim
    )  # patch projection
    table += 2 * vit.hidden_dim * vit.num_classes  # head on [CLS]
    images = np.zeros((1, height, width, vit.num_channels), "float32")
    rows.append(
        {
            "model": f"ImageClassifier `{vit_preset}`",
            "tokens": tokens,
            "table_flops": table,
            "measured_flops": measured_flops(vit, images),
            "parameters": vit.count_params(),
        }
    )

    config = (
        dict(vocabulary_size=100, sequence_length=16, hidden_dim=32, num_layers=1, num_heads=4, intermediate_dim=64)
        if quick
        else dict(
            vocabulary_size=30522,
            sequence_length=128,
            hidden_dim=384,
            num_layers=6,
            num_heads=12,
            intermediate_dim=1536,
        )
    )
    classifier = TextClassifier(num_classes=2, **config)
    t = config["sequence_length"]
    table = (
        config["num_layers"]
        * sum(
            r["flops"] for r in block_products(config["hidden_dim"], config["num_heads"], config["intermediate_dim"], t)
        )
        + 2 * config["hidden_dim"] * 2
    )
    inputs = {"token_ids": np.ones((1, t), "int32"), "padding_mask": np.ones((1, t), "int32")}
    rows.append(
        {
            "model": "TextClassifier, MiniLM-L6 sizes" if not quick else "TextClassifier tiny",
            "tokens": t,
            "table_flops": table,
            "measured_flops": measured_flops(classifier, inputs),
            "parameters": classifier.count_params(),
        }
    )
    print_flush("\n### whole models, one example (random weights)\n")
    print_flush(
        "| model | tokens | table MFLOPs (matrix products) | TensorFlow-counted MFLOPs | table / counted | parameters |"
    )
    print_flush("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        ratio = row["table_flops"] / row["measured_flops"]
        row["table_over_measured"] = ratio
        print_flush(
            f"| {row['model']} | {row['tokens']} | {row['table_flops'] / 1e6:,.1f} | "
            f"{row['measured_flops'] / 1e6:,.1f} | {ratio:.3f} | {row['parameters']:,} |"
        )
    return rows


def main(argv=None):
    args = parse_args(argv)
    blocks = block_tables(QUICK_CONFIGS if args.quick else CONFIGS)
    models = whole_models(args.quick)
    results = {
        "environment": environment(MODULE, sys.argv[1:] if argv is None else argv),
        "blocks": blocks,
        "models": models,
    }
    write_json(results, args.out)
    print_flush(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
