"""Assertion helpers shared by the layer and model tests."""

import keras
import numpy as np


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def count_params(layer):
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def assert_round_trip(layer, tensors, tmp_path, static=None, atol=1e-6):
    """`get_config`/`from_config` and a `.keras` file both reproduce `layer`'s outputs.

    Args:
        layer: a built or unbuilt layer.
        tensors: dict of call arguments that are tensors (NumPy arrays); the
            first one is passed positionally.
        static: dict of non-tensor call arguments (flags).
    """
    static = static or {}
    names = list(tensors)
    first, rest = tensors[names[0]], {k: tensors[k] for k in names[1:]}
    expected = to_numpy(layer(first, **rest, **static))

    clone = layer.__class__.from_config(layer.get_config())
    clone(first, **rest, **static)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(first, **rest, **static)), expected, atol=atol)
    assert clone.get_config() == layer.get_config()

    symbolic = {
        name: keras.Input(shape=value.shape[1:], dtype=str(value.dtype), name=name)
        for name, value in tensors.items()
    }
    sym_first = symbolic[names[0]]
    sym_rest = {k: symbolic[k] for k in names[1:]}
    model = keras.Model(symbolic, layer(sym_first, **sym_rest, **static))
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(tensors)), expected, atol=atol)
    return loaded


def softmax(x, axis=-1):
    x = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta
