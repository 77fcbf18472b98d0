"""zoo.compress.matrices: the per-product table agrees with real layers' parameters and TensorFlow's FLOP count."""

import keras
import numpy as np
import pytest

from zoo.compress.matrices import block_products, format_products, measured_flops
from zoo.layers import TransformerEncoder

D, HEADS, F, T = 32, 4, 64, 16


def block_model(**ranks):
    inputs = keras.Input((T, D), batch_size=1)
    return keras.Model(inputs, TransformerEncoder(HEADS, F, **ranks)(inputs))


@pytest.mark.parametrize(
    "ranks",
    [
        {},
        {"projection_rank": 4},
        {"ffn_rank": 8},
        {"projection_rank": {"query": 2, "key": 2}, "ffn_rank": {"output": 3}},
    ],
)
def test_parameters_match_the_built_block(ranks):
    rows = block_products(D, HEADS, F, T, **ranks)
    layer_norms = 4 * D
    assert sum(row["parameters"] for row in rows) + layer_norms == block_model(**ranks).count_params()


def test_flops_match_tensorflows_count():
    ranks = {"projection_rank": 4, "ffn_rank": 8}
    table = {
        name: sum(row["flops"] for row in block_products(D, HEADS, F, T, **config))
        for name, config in (("dense", {}), ("ranked", ranks))
    }
    measured = {
        name: measured_flops(block_model(**config), np.zeros((1, T, D), "float32"))
        for name, config in (("dense", {}), ("ranked", ranks))
    }
    # The table lists matrix products only; TF adds softmax/norm/activation element-wise ops ...
    assert table["dense"] <= measured["dense"] <= table["dense"] * 1.15, (table, measured)
    # ... which factorization leaves alone: the saving TF measures is exactly the table's.
    assert measured["dense"] - measured["ranked"] == table["dense"] - table["ranked"]


def test_products_formula_and_table():
    rows = block_products(256, 4, 1024, 128)
    flops = {row["product"]: row["flops"] for row in rows}
    assert flops["Q = X Wq"] == 2 * 128 * 256 * 256
    assert flops["Q K^T / sqrt(dh)"] == 2 * 128 * 128 * 256
    assert flops["X W1"] == 2 * 128 * 256 * 1024
    cross = block_products(256, 4, 1024, 10, key_length=30)
    assert next(r for r in cross if r["product"] == "K = X Wk")["flops"] == 2 * 30 * 256 * 256
    table = format_products(rows)
    assert table.count("\n") == len(rows) + 2 and "**total**" in table
    with pytest.raises(ValueError, match="must divide"):
        block_products(30, 4, 64, 8)
