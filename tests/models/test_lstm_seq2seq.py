"""LSTMSeq2Seq: step decoding equals the full forward pass, padding, causality, generation, round trip."""

import keras
import numpy as np
import pytest

from helpers import softmax, to_numpy
from zoo.models import LSTMSeq2Seq, Seq2SeqLM
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

SOURCE_VOCABULARY = list(SPECIAL_TOKENS) + "the cat dog sat on a mat . how are you ?".split()
TARGET_VOCABULARY = list(SPECIAL_TOKENS) + "el gato perro se sento en una alfombra . como estas ?".split()
SOURCES = ["the cat sat on a mat .", "how are you ?", "dog"]
TARGET_LENGTH = 12
# Two layers on each side exercise the stacks; both directions and scores.
CONFIGS = {
    "bidirectional_luong": dict(num_encoder_layers=2, num_decoder_layers=2),
    "unidirectional_bahdanau": dict(
        num_encoder_layers=2, num_decoder_layers=2, bidirectional_encoder=False, attention="bahdanau"
    ),
}


def build(**overrides):
    keras.utils.set_random_seed(1)
    source = TextPreprocessor(SOURCE_VOCABULARY, sequence_length=10)
    target = TextPreprocessor(TARGET_VOCABULARY, sequence_length=TARGET_LENGTH + 1)
    return LSTMSeq2Seq.from_preset("tiny", source_preprocessor=source, target_preprocessor=target, **overrides)


@pytest.fixture(scope="module", params=list(CONFIGS))
def model(request):
    return build(**CONFIGS[request.param])


def encoder_inputs(model, texts=SOURCES):
    packed = model.source_preprocessor(texts)
    return {"encoder_token_ids": packed["token_ids"].numpy(), "encoder_padding_mask": packed["padding_mask"].numpy()}


def random_targets(model, length=8, seed=0):
    ids = np.random.default_rng(seed).integers(4, model.target_vocabulary_size, size=(3, length)).astype("int32")
    ids[:, 0] = model.bos_token_id
    return ids


def logits_of(model, inputs, decoder_ids):
    return to_numpy(
        model({**inputs, "decoder_token_ids": decoder_ids, "decoder_padding_mask": np.ones_like(decoder_ids)})
    )


def test_preset_follows_the_preprocessors_and_output_shape(model):
    assert (model.source_length, model.target_length) == (10, TARGET_LENGTH)
    assert (model.bos_token_id, model.end_token_id, model.pad_token_id) == (2, 3, 0)
    inputs = encoder_inputs(model)
    assert logits_of(model, inputs, random_targets(model, 5)).shape == (3, 5, len(TARGET_VOCABULARY))
    assert {name for name in model.input} == {
        "encoder_token_ids",
        "encoder_padding_mask",
        "decoder_token_ids",
        "decoder_padding_mask",
    }  # Seq2SeqLM's inputs: the recipes' batches fit either model


def test_decode_steps_reproduce_the_full_forward_pass(model):
    # Teacher forcing one token at a time through the LSTM cells == one pass of the Keras LSTM layers.
    inputs = encoder_inputs(model)
    decoder_ids = random_targets(model)
    full = logits_of(model, inputs, decoder_ids)
    encoded, states = model.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"])
    memory = model.attention_memory(encoded)
    assert tuple(states.shape) == (3, model.num_decoder_layers, 2, model.lstm_units)
    assert tuple(memory.shape) == (3, 2, 10, model.lstm_units)
    for index in range(decoder_ids.shape[1]):
        logits, states = model.decode_step(
            decoder_ids[:, index : index + 1], index, states, memory, inputs["encoder_padding_mask"]
        )
        np.testing.assert_allclose(to_numpy(logits), full[:, index], atol=1e-5)


def test_encoder_loop_equals_the_keras_lstm_layers(model):
    inputs = encoder_inputs(model)
    loop_outputs, loop_states = model.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"])
    layer_outputs, layer_states = model._encode(
        inputs["encoder_token_ids"], inputs["encoder_padding_mask"], training=False
    )
    real = inputs["encoder_padding_mask"].astype(bool)
    np.testing.assert_allclose(to_numpy(loop_outputs)[real], to_numpy(layer_outputs)[real], atol=1e-5)
    np.testing.assert_allclose(to_numpy(loop_states), to_numpy(layer_states), atol=1e-5)


def test_padded_source_tokens_change_nothing(model):
    inputs = encoder_inputs(model)
    decoder_ids = random_targets(model)
    garbage = inputs["encoder_token_ids"].copy()
    padded = inputs["encoder_padding_mask"] == 0
    assert padded[1:].any()
    garbage[padded] = SOURCE_VOCABULARY.index("cat")
    np.testing.assert_array_equal(
        logits_of(model, {**inputs, "encoder_token_ids": garbage}, decoder_ids), logits_of(model, inputs, decoder_ids)
    )
    a = model.generate(inputs, max_length=8)
    np.testing.assert_array_equal(model.generate({**inputs, "encoder_token_ids": garbage}, max_length=8), a)


def test_the_decoder_is_causal(model):
    inputs = encoder_inputs(model)
    decoder_ids = random_targets(model)
    before = logits_of(model, inputs, decoder_ids)
    for t in (1, 4, 6):
        changed = decoder_ids.copy()
        changed[:, t + 1] = (changed[:, t + 1] + 1 - 4) % (model.target_vocabulary_size - 4) + 4
        after = logits_of(model, inputs, changed)
        np.testing.assert_array_equal(after[:, : t + 1], before[:, : t + 1])
        assert np.abs(after[:, t + 1] - before[:, t + 1]).max() > 1e-4  # the change does reach position t + 1


def test_greedy_generate_equals_an_argmax_loop_over_full_passes(model):
    inputs = encoder_inputs(model)
    generated = model.generate(inputs, max_length=8)
    ids = np.full((3, 1), model.bos_token_id, "int32")
    finished = np.zeros(3, bool)
    for _ in range(7):
        token = logits_of(model, inputs, ids)[:, -1].argmax(-1).astype("int32")
        token = np.where(finished, model.pad_token_id, token)
        finished |= token == model.end_token_id
        ids = np.concatenate([ids, token[:, None]], axis=1)
    np.testing.assert_array_equal(generated, ids)


def test_beam_of_one_equals_greedy_and_beams_score_at_least_greedy(model):
    inputs = encoder_inputs(model)
    greedy = model.generate(inputs, max_length=8)
    np.testing.assert_array_equal(model.generate(inputs, max_length=8, sampler="beam", num_beams=1), greedy)
    beam = model.generate(inputs, max_length=8, sampler="beam", num_beams=4)

    def log_likelihood(ids):  # of the continuation, up to and including EOS
        logits = logits_of(model, inputs, ids[:, :-1])
        log_probs = np.log(softmax(logits.astype("float64")))
        chosen = np.take_along_axis(log_probs, ids[:, 1:, None], axis=-1)[..., 0]
        alive = np.cumsum(ids[:, :-1] == model.end_token_id, axis=1) == 0
        return (chosen * alive).sum(1)

    assert (log_likelihood(beam) >= log_likelihood(greedy) - 1e-4).all()


def test_attention_weights_match_a_numpy_luong_reference():
    model = build(num_decoder_layers=2)
    assert model.attention.score == "general"
    inputs = {**encoder_inputs(model), "decoder_token_ids": random_targets(model)}
    inputs["decoder_padding_mask"] = np.ones_like(inputs["decoder_token_ids"])
    weights = to_numpy(model.attention_weights(inputs))  # (B, T, S)
    mask = inputs["encoder_padding_mask"].astype(bool)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert (weights.transpose(0, 2, 1)[~mask] == 0).all()  # exactly zero on padded source positions

    # NumPy: score = h_t^T W_a a_s over the real positions, context, tanh(W_c [c; h]), output layer.
    encoded, states = (to_numpy(x) for x in model.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"]))
    h = to_numpy(
        model._decoder_states(inputs["decoder_token_ids"], inputs["decoder_padding_mask"], states, training=False)
    )
    scores = np.einsum("btd,bsd->bts", h, encoded @ to_numpy(model.attention.key_dense.kernel))
    expected = softmax(np.where(mask[:, None, :], scores, -np.inf))
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    attended = np.tanh(np.concatenate([expected @ encoded, h], -1) @ to_numpy(model.attention.output_dense.kernel))
    kernel, bias = (to_numpy(w) for w in model.lm_head.weights)
    np.testing.assert_allclose(
        logits_of(model, encoder_inputs(model), inputs["decoder_token_ids"]), attended @ kernel + bias, atol=1e-5
    )


def test_strings_in_strings_out_and_keras_round_trip(model, tmp_path):
    texts = model.generate(SOURCES, max_length=8)
    assert len(texts) == 3 and all(isinstance(text, str) for text in texts)
    assert model.generate("dog", max_length=8) == [texts[2]]
    inputs = encoder_inputs(model)
    decoder_ids = random_targets(model)
    path = tmp_path / "lstm_seq2seq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, LSTMSeq2Seq) and loaded.get_config() == model.get_config()
    assert loaded.target_preprocessor.vocabulary == TARGET_VOCABULARY
    np.testing.assert_array_equal(logits_of(loaded, inputs, decoder_ids), logits_of(model, inputs, decoder_ids))
    assert loaded.generate(SOURCES, max_length=8) == texts
    assert loaded.generate(SOURCES, max_length=8, sampler="beam", num_beams=3) == model.generate(
        SOURCES, max_length=8, sampler="beam", num_beams=3
    )


def test_one_training_step_learns(tmp_path):
    # The recipes' loss and batches: label ids shifted by one, padding weighted out.
    model = build()
    source = model.source_preprocessor(SOURCES)
    target = model.target_preprocessor(["el gato se sento", "como estas ?", "perro"])
    ids, mask = target["token_ids"].numpy(), target["padding_mask"].numpy()
    inputs = {
        "encoder_token_ids": source["token_ids"].numpy(),
        "encoder_padding_mask": source["padding_mask"].numpy(),
        "decoder_token_ids": ids[:, :-1],
        "decoder_padding_mask": mask[:, :-1],
    }
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(inputs, ids[:, 1:], sample_weight=mask[:, 1:], epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_clear_errors():
    model = build()
    with pytest.raises(ValueError, match=r"max_length must be in \[2, 12\]"):
        model.generate(SOURCES, max_length=40)
    with pytest.raises(ValueError, match="empty list"):
        model.generate([])
    bare = LSTMSeq2Seq.from_preset("tiny", source_vocabulary_size=20, target_vocabulary_size=20)
    with pytest.raises(ValueError, match="needs a model built with source and target preprocessors"):
        bare.generate(["hello"])
    with pytest.raises(ValueError, match=r"LSTMSeq2Seq.from_preset needs preprocessors or"):
        LSTMSeq2Seq.from_preset("tiny")
    with pytest.raises(ValueError, match="target preprocessor does not match"):
        LSTMSeq2Seq(20, 20, 10, 10, target_preprocessor=TextPreprocessor(TARGET_VOCABULARY, sequence_length=5))
    with pytest.raises(
        ValueError, match=r"attention must be one of \['luong', 'bahdanau'\]. Received: attention='dot'"
    ):
        LSTMSeq2Seq(20, 20, 10, 10, attention="dot")
    with pytest.raises(ValueError, match="lstm_units must be a positive integer. Received: lstm_units=0"):
        LSTMSeq2Seq(20, 20, 10, 10, lstm_units=0)
    with pytest.raises(ValueError, match="unknown preset 'base' for lstm_seq2seq"):
        LSTMSeq2Seq.from_preset("base", source_vocabulary_size=20, target_vocabulary_size=20)
    assert not isinstance(model, Seq2SeqLM)  # the export registry dispatches on the class
