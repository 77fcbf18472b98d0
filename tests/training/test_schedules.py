"""zoo.training.schedules: warmup + cosine, pure function and Keras schedule agree."""

import math

import keras
import numpy as np
import pytest

from zoo.training import WarmupCosineDecay, warmup_cosine

ARGS = dict(peak_learning_rate=1e-3, warmup_steps=10, total_steps=110, min_learning_rate=1e-4)

# Hand-computed: warmup is peak * step / 10; decay runs over 100 steps from 1e-3 to 1e-4,
# so lr = 1e-4 + 9e-4 * 0.5 * (1 + cos(pi * (step - 10) / 100)).
EXPECTED = [
    (0, 0.0),  # warmup starts from zero
    (5, 5e-4),  # half-way through warmup
    (10, 1e-3),  # end of warmup: the peak
    (35, 1e-4 + 9e-4 * 0.5 * (1 + math.cos(math.pi / 4))),  # a quarter of the decay: 8.6820e-4
    (60, 5.5e-4),  # middle of the decay: cos(pi/2) = 0, half-way between peak and min
    (110, 1e-4),  # end: the floor
    (500, 1e-4),  # stays at the floor
]


@pytest.mark.parametrize("step, expected", EXPECTED)
def test_warmup_cosine_hand_computed_values(step, expected):
    assert warmup_cosine(step, **ARGS) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("step, expected", EXPECTED)
def test_keras_schedule_hand_computed_values(step, expected):
    schedule = WarmupCosineDecay(**ARGS)
    value = float(keras.ops.convert_to_numpy(schedule(step)))
    assert value == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_keras_schedule_matches_pure_function_on_every_step():
    schedule = WarmupCosineDecay(**ARGS)
    steps = np.arange(0, 130)
    got = keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(steps)))
    want = [warmup_cosine(step, **ARGS) for step in steps]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-10)


def test_no_warmup_starts_at_peak_and_min_defaults_to_zero():
    assert warmup_cosine(0, peak_learning_rate=0.1, warmup_steps=0, total_steps=4) == 0.1
    assert warmup_cosine(2, peak_learning_rate=0.1, warmup_steps=0, total_steps=4) == pytest.approx(0.05)
    assert warmup_cosine(4, peak_learning_rate=0.1, warmup_steps=0, total_steps=4) == 0.0
    schedule = WarmupCosineDecay(0.1, warmup_steps=0, total_steps=4)
    assert float(schedule(0)) == pytest.approx(0.1)


def test_get_config_round_trip_and_serialization():
    schedule = WarmupCosineDecay(2e-3, warmup_steps=5, total_steps=50, min_learning_rate=1e-5, name="wc")
    config = schedule.get_config()
    assert config == {
        "peak_learning_rate": 2e-3,
        "warmup_steps": 5,
        "total_steps": 50,
        "min_learning_rate": 1e-5,
        "name": "wc",
    }
    clone = WarmupCosineDecay.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, WarmupCosineDecay)
    for step in (0, 3, 5, 20, 50):
        assert float(restored(step)) == pytest.approx(float(schedule(step)))


def test_optimizer_with_schedule_survives_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(WarmupCosineDecay(1e-3, 2, 10)), loss="mse")
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    learning_rate = keras.saving.deserialize_keras_object(loaded.optimizer.get_config()["learning_rate"])
    assert isinstance(learning_rate, WarmupCosineDecay)
    assert learning_rate.get_config()["total_steps"] == 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(peak_learning_rate=0.0), "Received: peak_learning_rate=0.0"),
        (dict(peak_learning_rate=-1e-3), "Received: peak_learning_rate=-0.001"),
        (dict(warmup_steps=200), "Received: warmup_steps=200, total_steps=110"),
        (dict(warmup_steps=-1), "Received: warmup_steps=-1"),
        (dict(total_steps=2.5), "Received: total_steps=2.5"),
        (dict(total_steps=0, warmup_steps=0), "Received: total_steps=0"),
        (dict(min_learning_rate=1e-2), "Received: min_learning_rate=0.01, peak_learning_rate=0.001"),
    ],
)
def test_invalid_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WarmupCosineDecay(**{**ARGS, **kwargs})
    with pytest.raises(ValueError, match=message):
        warmup_cosine(0, **{**ARGS, **kwargs})
