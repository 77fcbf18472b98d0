"""LSTMLanguageModel: shapes, causality, round trip, the same training inputs as CausalLM."""

import keras
import numpy as np
import pytest

from zoo.models import LSTMLanguageModel


def _inputs(token_ids):
    token_ids = np.asarray(token_ids, "int32")
    return {"token_ids": token_ids, "padding_mask": (token_ids != 0).astype("int32")}


@pytest.fixture
def model():
    return LSTMLanguageModel(vocabulary_size=30, sequence_length=12, hidden_dim=8, lstm_units=12, num_layers=2)


def test_logits_shape_and_any_length(model):
    rng = np.random.default_rng(0)
    assert model(_inputs(rng.integers(1, 30, size=(3, 12)))).shape == (3, 12, 30)
    assert model(_inputs(rng.integers(1, 30, size=(2, 5)))).shape == (2, 5, 30)


def test_causal_a_later_token_does_not_change_earlier_logits(model):
    token_ids = np.random.default_rng(1).integers(1, 30, size=(2, 12))
    changed = token_ids.copy()
    changed[:, 7] = (changed[:, 7] % 29) + 1
    before, after = model(_inputs(token_ids)).numpy(), model(_inputs(changed)).numpy()
    np.testing.assert_allclose(before[:, :7], after[:, :7], atol=1e-6)
    assert np.abs(before[:, 7:] - after[:, 7:]).max() > 1e-4


def test_keras_round_trip_gives_equal_logits(model, tmp_path):
    inputs = _inputs(np.random.default_rng(2).integers(1, 30, size=(2, 12)))
    model.save(tmp_path / "lm.keras")
    restored = keras.saving.load_model(tmp_path / "lm.keras")
    np.testing.assert_allclose(restored(inputs).numpy(), model(inputs).numpy(), atol=1e-6)
    assert restored.get_config() == model.get_config()


def test_trains_on_lm_batches_and_learns_a_repeating_text():
    from zoo.data.pipelines import lm_batches

    stream = np.tile(np.arange(4, 12), 400)  # 4 5 6 ... 11 4 5 ...: each token determines the next
    batches = lm_batches(stream, 16, 16, bos_token_id=2, shuffle=True)
    model = LSTMLanguageModel(vocabulary_size=12, sequence_length=16, hidden_dim=8, lstm_units=16, num_layers=1)
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(batches, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="lstm_units must be a positive integer"):
        LSTMLanguageModel(vocabulary_size=10, sequence_length=8, lstm_units=0)
    with pytest.raises(ValueError, match="unknown preset"):
        LSTMLanguageModel.from_preset("huge", vocabulary_size=10)
