"""Checks every backbone test makes: config and `.keras` round trips, padded inputs."""

import keras
import numpy as np

from helpers import to_numpy


def outputs_of(model, inputs):
    """The model's outputs as NumPy (a dict stays a dict)."""
    outputs = model(inputs)
    if isinstance(outputs, dict):
        return {name: to_numpy(value) for name, value in outputs.items()}
    return to_numpy(outputs)


def assert_outputs_close(actual, expected, atol):
    if isinstance(expected, dict):
        assert set(actual) == set(expected)
        for name in expected:
            np.testing.assert_allclose(actual[name], expected[name], atol=atol, err_msg=name)
    else:
        np.testing.assert_allclose(actual, expected, atol=atol)


def assert_round_trips(model, inputs, tmp_path, atol=1e-6):
    """`from_config(get_config())` with the weights, and a `.keras` file, reproduce the outputs."""
    expected = outputs_of(model, inputs)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    assert_outputs_close(outputs_of(clone, inputs), expected, atol)
    path = tmp_path / "backbone.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert_outputs_close(outputs_of(loaded, inputs), expected, atol)
    return loaded


def token_batch(vocabulary_size, lengths, total_length, seed=0):
    """Right-padded `token_ids` (pad id 0) and `padding_mask` for sequences of `lengths`."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocabulary_size, size=(len(lengths), total_length)).astype("int32")
    mask = (np.arange(total_length)[None, :] < np.array(lengths)[:, None]).astype("int32")
    return ids * mask, mask
