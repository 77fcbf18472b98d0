"""zoo._keras_compat: every private Keras API zoo uses still does what zoo relies on.

Pinned to Keras 3.15. When Keras is upgraded, this test fails first on
purpose: for each wrapper in zoo/_keras_compat.py re-check the private
attribute or method it names in the new keras/src (Layer._flatten_layers,
Model._symbolic_build, Layer._convert_input_args /
_allow_non_tensor_positional_args, Optimizer._learning_rate,
Layer._tracker.replace_tracked_value), run the
tests below, and then move CHECKED_KERAS_VERSION.
"""

import pathlib
import re

import keras
import numpy as np
import tensorflow as tf

from zoo import _keras_compat
from zoo._keras_compat import (
    accept_string_inputs,
    learning_rate_schedule,
    sublayers,
    symbolic_build,
)
from zoo.layers import MultiHeadAttention, TransformerEncoder

ZOO = pathlib.Path(__file__).resolve().parents[1]


def test_pinned_to_the_checked_keras_version():
    assert keras.__version__.startswith(_keras_compat.CHECKED_KERAS_VERSION + "."), (
        f"Keras is {keras.__version__}; zoo/_keras_compat.py was checked against "
        f"{_keras_compat.CHECKED_KERAS_VERSION}: re-check every wrapper (see this file's docstring)"
    )
    assert _keras_compat.CHECKED_KERAS_VERSION == "3.15"


def test_sublayers_descend_into_custom_layers_in_call_order():
    inputs = keras.Input((4, 8))
    first = TransformerEncoder(num_heads=2, intermediate_dim=16, name="first")
    second = TransformerEncoder(num_heads=2, intermediate_dim=16, name="second")
    model = keras.Model(inputs, second(first(inputs)))
    layers = sublayers(model)
    assert model not in layers
    attention = [layer for layer in layers if isinstance(layer, MultiHeadAttention)]
    assert [layer.path for layer in attention] == ["first/self_attention", "second/self_attention"]
    assert first.self_attention.query_dense in layers  # two levels down
    assert all(layer not in model.layers for layer in attention)  # what model.layers misses


def test_symbolic_build_creates_the_optimizer_and_metric_variables_before_a_step():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    features, targets = np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32")
    dataset = tf.data.Dataset.from_tensor_slices((features, targets))
    assert not model.optimizer.built
    assert [v.path for v in model.metrics_variables] == ["loss/total", "loss/count"]
    symbolic_build(model, dataset.batch(2).element_spec)
    assert model.optimizer.built
    assert len(model.optimizer.variables) == 6  # iterations, learning rate, Adam's 2 x (kernel, bias)
    assert "mean_absolute_error/total" in [v.path for v in model.metrics_variables]


def test_accept_string_inputs_lets_a_layer_take_python_and_tf_strings():
    class Lengths(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            accept_string_inputs(self)

        def call(self, texts):
            return tf.strings.length(texts)

    layer = Lengths()
    np.testing.assert_array_equal(layer(["ab", "cde"]).numpy(), [2, 3])
    np.testing.assert_array_equal(layer(tf.constant(["abcd"])).numpy(), [4])


def test_learning_rate_schedule_returns_the_schedule_object():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert learning_rate_schedule(keras.optimizers.Adam(schedule)) is schedule
    constant = learning_rate_schedule(keras.optimizers.Adam(0.25))
    np.testing.assert_allclose(float(constant.numpy()), 0.25)


# The private names the wrappers hide (attribute access), and imports of Keras's source package
# (a message that names a class's module, such as keras.src.models.sequential, is no API use).
PRIVATE = re.compile(
    r"\.(_flatten_layers|_symbolic_build|_convert_input_args|_allow_non_tensor_positional_args"
    r"|_learning_rate)\b|^\s*(from|import)\s+keras\.src\b"
)


def test_no_other_module_touches_a_private_keras_api():
    offenders = []
    for folder in ("zoo", "recipes", "benchmarks", "tests", "tools"):
        for path in sorted((ZOO / folder).rglob("*.py")):
            if path.name in ("_keras_compat.py", "test_keras_compat.py"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PRIVATE.search(line):
                    offenders.append(f"{path.relative_to(ZOO)}:{number}: {line.strip()}")
    assert not offenders, "use zoo._keras_compat instead:\n" + "\n".join(offenders)


def test_keras_hub_byte_pair_pieces_on_the_pinned_keras_hub():
    import keras_hub
    import tensorflow as tf

    from zoo._keras_compat import CHECKED_KERAS_HUB_VERSION, keras_hub_byte_pair_pieces

    assert keras_hub.__version__.startswith(CHECKED_KERAS_HUB_VERSION), keras_hub.__version__
    # "Ġ" is GPT-2's character for the space byte; "a b" merges first, then "Ġ ab".
    vocabulary = {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4}
    pieces = keras_hub_byte_pair_pieces(vocabulary, ["a b", "Ġ ab"])
    merged = pieces.merge(tf.constant([" ab", "ba"]))
    assert merged.to_list() == [[b"\xc4\xa0ab"], [b"b", b"a"]]
    assert pieces.token_to_id(tf.constant(["Ġab", "zz"])).numpy().tolist() == [4, -1]
    assert pieces.detokenize(tf.ragged.constant([[4, 1], [0]])).numpy().tolist() == [b" abb", b"a"]


def test_replace_sublayer_swaps_a_built_layer_s_sublayer_for_weights_and_calls():
    attention = MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.random.default_rng(0).normal(size=(1, 3, 8)).astype("float32")
    before = keras.ops.convert_to_numpy(attention(x))  # built: its tracker is locked
    assert np.abs(before[:, 0] - before[:, 1]).max() > 1e-3
    old = attention.query_dense
    new = keras.layers.EinsumDense("btd,dnh->btnh", output_shape=(None, 2, 4), bias_axes="nh", name="query")
    new.build((1, 3, 8))
    _keras_compat.replace_sublayer(attention, "query_dense", old, new)
    assert attention.query_dense is new and new in sublayers(attention) and old not in sublayers(attention)
    ids = {id(w) for w in attention.weights}
    assert id(new.kernel) in ids and id(old.kernel) not in ids
    new.kernel.assign(np.zeros(new.kernel.shape))
    new.bias.assign(np.zeros(new.bias.shape))
    # With zero queries every key gets the same score: each output row is the mean of the values' projection.
    out = keras.ops.convert_to_numpy(attention(x))
    np.testing.assert_allclose(out[:, 0], out[:, 1], atol=1e-6)


def test_tensorflow_backend_numpy_has_the_ops_keras_int8_layers_call():
    from zoo._keras_compat import tensorflow_backend_numpy

    backend_numpy = tensorflow_backend_numpy()
    for name in ("matmul", "einsum", "squeeze"):
        assert callable(getattr(backend_numpy, name))
    assert backend_numpy.matmul(np.eye(2, dtype="float32"), np.ones((2, 1), "float32")).numpy().tolist() == [[1], [1]]


def test_default_quantization_config_is_what_a_bare_mode_resolves_to():
    from zoo._keras_compat import default_quantization_config

    for mode in ("int8", "int4"):
        config = default_quantization_config(mode)
        assert config.mode == mode and config.get_config() == default_quantization_config(mode).get_config()
    assert default_quantization_config("int4").get_config()["block_size"] == 128
