"""LoRAAdapter: `layer(x) + (alpha / rank) (x A) B` against NumPy for every kind of projection it wraps."""

import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.layers import LowRankDense
from zoo.layers.lora import LoRAAdapter

RNG = np.random.default_rng(0)


def adapted(layer, input_shape, rank=3, alpha=6.0):
    layer.build(input_shape)
    adapter = LoRAAdapter(layer, rank, alpha)
    adapter.build()
    adapter.lora_b.assign(RNG.normal(size=adapter.lora_b.shape).astype("float32"))  # B starts at zero
    return adapter


def numpy_weights(adapter):
    return to_numpy(adapter.lora_a).astype("float64"), to_numpy(adapter.lora_b).astype("float64")


def test_dense():
    x = RNG.normal(size=(2, 5, 8)).astype("float32")
    adapter = adapted(keras.layers.Dense(6, bias_initializer="ones"), x.shape)
    a, b = numpy_weights(adapter)
    kernel, bias = (to_numpy(w).astype("float64") for w in adapter.layer.weights)
    expected = x @ (kernel + 2.0 * a @ b) + bias  # alpha / rank = 6 / 3
    assert a.shape == (8, 3) and b.shape == (3, 6)
    np.testing.assert_allclose(to_numpy(adapter(x)), expected, atol=1e-5)


@pytest.mark.parametrize(
    "equation, output_shape, input_shape, flat",
    [
        ("btd,dnh->btnh", (None, 2, 4), (2, 5, 8), ((8,), (8,))),  # query/key/value: D -> (heads, head_dim)
        ("btnh,nhd->btd", (None, 6), (2, 5, 2, 4), ((2, 4), (6,))),  # attention output: (heads, head_dim) -> D
    ],
)
def test_einsum_dense_gets_one_matrix_update_of_its_flattened_kernel(equation, output_shape, input_shape, flat):
    x = RNG.normal(size=input_shape).astype("float32")
    layer = keras.layers.EinsumDense(equation, output_shape=output_shape, bias_axes=None)
    adapter = adapted(layer, x.shape)
    a, b = numpy_weights(adapter)
    kernel = to_numpy(layer.kernel).astype("float64")
    rows = int(np.prod(flat[0]))
    assert a.shape == (rows, 3) and b.shape == (3, kernel.size // rows)  # the paper's A, B, not per head
    merged = kernel + (2.0 * a @ b).reshape(kernel.shape)
    np.testing.assert_allclose(to_numpy(adapter(x)), np.einsum(equation, x, merged), atol=1e-5)


def test_low_rank_dense_over_two_input_axes():
    x = RNG.normal(size=(2, 5, 2, 4)).astype("float32")
    adapter = adapted(LowRankDense(6, rank=2, input_axes=2, bias_initializer="ones"), x.shape)
    a, b = numpy_weights(adapter)
    u, v, bias = (to_numpy(w).astype("float64") for w in adapter.layer.weights)
    expected = x.reshape(2, 5, 8) @ (u @ v + 2.0 * a @ b) + bias
    np.testing.assert_allclose(to_numpy(adapter(x)), expected, atol=1e-5)


def test_embedding_rows_get_the_update():
    ids = RNG.integers(0, 10, size=(2, 7)).astype("int32")
    adapter = adapted(keras.layers.Embedding(10, 4), ids.shape)
    a, b = numpy_weights(adapter)
    table = to_numpy(adapter.layer.embeddings).astype("float64")
    assert a.shape == (10, 3)
    np.testing.assert_allclose(to_numpy(adapter(ids)), (table + 2.0 * a @ b)[ids], atol=1e-5)


def test_b_starts_at_zero_and_bad_layers_are_refused():
    x = RNG.normal(size=(2, 8)).astype("float32")
    dense = keras.layers.Dense(4)
    dense.build(x.shape)
    adapter = LoRAAdapter(dense, 2)
    adapter.build()
    np.testing.assert_array_equal(to_numpy(adapter(x)), to_numpy(dense(x)))
    with pytest.raises(ValueError, match="rank must be a positive integer. Received: rank=0"):
        LoRAAdapter(dense, 0)
    with pytest.raises(ValueError, match="LoRA supports Dense, EinsumDense, Embedding and LowRankDense"):
        LoRAAdapter(keras.layers.LayerNormalization(), 2)
