"""Seq2SeqLM: cached decoding equals the full forward pass, generation settings, round trip."""

import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.models import EncoderDecoderBackbone, Seq2SeqLM
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

SOURCE_VOCABULARY = list(SPECIAL_TOKENS) + "the cat dog sat on a mat . how are you ?".split()
TARGET_VOCABULARY = list(SPECIAL_TOKENS) + "el gato perro se sento en una alfombra . como estas ?".split()
SOURCES = ["the cat sat on a mat .", "how are you ?", "dog"]
TARGET_LENGTH = 12


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(1)
    source = TextPreprocessor(SOURCE_VOCABULARY, sequence_length=10)
    target = TextPreprocessor(TARGET_VOCABULARY, sequence_length=TARGET_LENGTH + 1)
    return Seq2SeqLM.from_preset("tiny", source_preprocessor=source, target_preprocessor=target)


def encoder_inputs(model, texts=SOURCES):
    packed = model.source_preprocessor(texts)
    return {"encoder_token_ids": packed["token_ids"].numpy(), "encoder_padding_mask": packed["padding_mask"].numpy()}


def test_preset_follows_the_preprocessors(model):
    assert (model.source_length, model.target_length) == (10, TARGET_LENGTH)
    assert (model.source_vocabulary_size, model.target_vocabulary_size) == (
        len(SOURCE_VOCABULARY),
        len(TARGET_VOCABULARY),
    )
    assert (model.bos_token_id, model.end_token_id, model.pad_token_id) == (2, 3, 0)  # [CLS], [SEP], [PAD]


def test_decode_steps_reproduce_the_full_forward_pass(model):
    # Teacher forcing through decode_step with the KV cache == one causal forward pass.
    inputs = encoder_inputs(model)
    rng = np.random.default_rng(0)
    decoder_ids = rng.integers(4, len(TARGET_VOCABULARY), size=(3, 8)).astype("int32")
    decoder_ids[:, 0] = model.bos_token_id
    full = to_numpy(
        model({**inputs, "decoder_token_ids": decoder_ids, "decoder_padding_mask": np.ones_like(decoder_ids)})
    )
    encoded = model.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"])
    cross = model.cross_attention_caches(encoded)
    caches = model.empty_caches(3, 8)
    for index in range(8):
        logits, caches = model.decode_step(
            decoder_ids[:, index : index + 1], index, caches, cross, inputs["encoder_padding_mask"]
        )
        np.testing.assert_allclose(to_numpy(logits), full[:, index], atol=1e-5)


def test_cached_and_uncached_greedy_agree(model):
    inputs = encoder_inputs(model)
    cached = model.generate_ids(inputs["encoder_token_ids"], inputs["encoder_padding_mask"], use_cache=True)
    uncached = model.generate_ids(inputs["encoder_token_ids"], inputs["encoder_padding_mask"], use_cache=False)
    np.testing.assert_array_equal(to_numpy(cached), to_numpy(uncached))
    assert to_numpy(cached).shape == (3, TARGET_LENGTH)
    assert (to_numpy(cached)[:, 0] == model.bos_token_id).all()


def test_padding_in_the_source_changes_nothing(model):
    inputs = encoder_inputs(model)
    garbage = inputs["encoder_token_ids"].copy()
    garbage[inputs["encoder_padding_mask"] == 0] = SOURCE_VOCABULARY.index("cat")
    a = model.generate({**inputs}, max_length=8)
    b = model.generate({**inputs, "encoder_token_ids": garbage}, max_length=8)
    np.testing.assert_array_equal(a, b)


def test_batching_does_not_change_a_translation(model):
    together = model.generate(SOURCES, max_length=8)
    alone = [model.generate([text], max_length=8)[0] for text in SOURCES]
    assert together == alone


def test_beam_of_one_equals_greedy_and_beams_score_at_least_greedy(model):
    inputs = encoder_inputs(model)
    greedy = model.generate(inputs, max_length=8)
    np.testing.assert_array_equal(model.generate(inputs, max_length=8, sampler="beam", num_beams=1), greedy)
    beam = model.generate(inputs, max_length=8, sampler="beam", num_beams=4)
    assert beam.shape == greedy.shape

    def log_likelihood(ids):  # of the generated continuation, up to and including EOS
        logits = to_numpy(
            model({**inputs, "decoder_token_ids": ids[:, :-1], "decoder_padding_mask": np.ones_like(ids[:, :-1])})
        )
        logp = (
            logits
            - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
            - logits.max(-1, keepdims=True)
        )
        chosen = np.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]
        alive = np.cumsum(ids[:, :-1] == model.end_token_id, axis=1) == 0
        return (chosen * alive).sum(1)

    assert (log_likelihood(beam) >= log_likelihood(greedy) - 1e-4).all()


def test_seeded_sampling_is_reproducible(model):
    a = model.generate(SOURCES, max_length=10, sampler="top_p", p=0.9, temperature=1.5, seed=7)
    b = model.generate(SOURCES, max_length=10, sampler="top_p", p=0.9, temperature=1.5, seed=7)
    assert a == b
    samples = {tuple(model.generate(SOURCES, max_length=10, sampler="random", seed=s)) for s in range(4)}
    assert len(samples) > 1  # different seeds give different samples
    top1 = model.generate(encoder_inputs(model), max_length=10, sampler="top_k", k=1, seed=3)
    np.testing.assert_array_equal(top1, model.generate(encoder_inputs(model), max_length=10))


def test_generation_stops_at_end_token(model):
    clone = Seq2SeqLM.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    bias = np.zeros(len(TARGET_VOCABULARY), "float32")
    bias[TARGET_VOCABULARY.index("gato")] = 50.0  # "gato" first ...
    kernel, _ = clone.lm_head.get_weights()
    clone.lm_head.set_weights([kernel * 0, bias])
    ids = clone.generate(encoder_inputs(clone), max_length=6)
    assert (ids[:, 1:] == TARGET_VOCABULARY.index("gato")).all()
    bias[model.end_token_id] = 100.0  # ... unless [SEP] (EOS) wins: then padding after it
    clone.lm_head.set_weights([kernel * 0, bias])
    ids = clone.generate(encoder_inputs(clone), max_length=6)
    np.testing.assert_array_equal(ids[0], [model.bos_token_id, model.end_token_id, 0, 0, 0, 0])
    assert clone.generate(["dog"], max_length=6) == [""]


def test_strings_in_strings_out_and_keras_round_trip(model, tmp_path):
    texts = model.generate(SOURCES, max_length=8)
    assert len(texts) == 3 and all(isinstance(text, str) for text in texts)
    assert model.generate("dog", max_length=8) == [texts[2]]
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Seq2SeqLM)
    assert loaded.target_preprocessor.vocabulary == TARGET_VOCABULARY
    assert loaded.generate(SOURCES, max_length=8) == texts


def test_clear_errors(model):
    with pytest.raises(ValueError, match=r"max_length must be in \[2, 12\]"):
        model.generate(SOURCES, max_length=40)
    with pytest.raises(ValueError, match="empty list"):
        model.generate([])
    bare = Seq2SeqLM.from_preset("tiny", source_vocabulary_size=20, target_vocabulary_size=20)
    with pytest.raises(ValueError, match="needs a model built with source and target preprocessors"):
        bare.generate(["hello"])
    with pytest.raises(ValueError, match="needs preprocessors or"):
        Seq2SeqLM.from_preset("tiny")
    with pytest.raises(ValueError, match="target preprocessor does not match"):
        Seq2SeqLM(  # the flat arguments of earlier versions
            source_vocabulary_size=20,
            target_vocabulary_size=20,
            source_length=10,
            target_length=10,
            target_preprocessor=TextPreprocessor(TARGET_VOCABULARY, sequence_length=5),
        )
    with pytest.raises(ValueError, match="target preprocessor does not match"):
        short_target = TextPreprocessor(TARGET_VOCABULARY, sequence_length=5)
        Seq2SeqLM(bare.backbone, target_preprocessor=short_target)
    with pytest.raises(ValueError, match="backbone must be a zoo.models.EncoderDecoderBackbone"):
        Seq2SeqLM(20)
    with pytest.raises(ValueError, match="pass a backbone or its arguments, not both"):
        Seq2SeqLM(model.backbone, hidden_dim=8)
    with pytest.raises(ValueError, match=r"needs \['source_length', 'target_length'\]"):
        Seq2SeqLM(source_vocabulary_size=20, target_vocabulary_size=20)
    with pytest.raises(ValueError, match=r"unknown Seq2SeqLM arguments \['position'\]"):
        Seq2SeqLM.from_preset("tiny", source_vocabulary_size=20, target_vocabulary_size=20, position="rotary")


def test_the_flat_arguments_describe_the_tiny_encoder_decoder_backbone():
    # EncoderDecoderBackbone's "tiny" preset is Seq2SeqLM's stack: the same config from both roads.
    model = Seq2SeqLM.from_preset("tiny", source_vocabulary_size=1000, target_vocabulary_size=1000)
    assert isinstance(model.backbone, EncoderDecoderBackbone)
    expected = EncoderDecoderBackbone.from_preset("tiny").get_config()
    assert {**model.backbone.get_config(), "name": None} == {**expected, "name": None}
    assert set(model.get_config()) == {
        "name",
        "trainable",
        "backbone",
        "source_preprocessor",
        "target_preprocessor",
        "bos_token_id",
        "end_token_id",
        "pad_token_id",
        "use_logits_bias",  # the generation rules and logits bias of checkpoints (issue 22)
        "forced_bos_token_id",
        "forced_eos_token_id",
        "suppressed_token_ids",
    }
    # The task's layers are the backbone's plus the head (the layout of files saved before).
    assert model.layers[:-1] == model.backbone.layers and model.layers[-1] is model.lm_head


@pytest.mark.parametrize("preset", ["tiny_bart", "tiny_marian"])
def test_a_tied_backbone_decodes_step_by_step_as_the_full_pass_and_round_trips(preset, tmp_path):
    backbone = EncoderDecoderBackbone.from_preset(preset)
    model = Seq2SeqLM(backbone)
    assert model.lm_head is None and backbone.tie_word_embeddings
    rng = np.random.default_rng(0)
    for weight in model.weights:  # away from the initial values, so a missed bias or norm shows
        weight.assign(to_numpy(weight) + rng.normal(scale=0.3, size=weight.shape).astype("float32"))
    source = rng.integers(4, 1000, size=(2, 7)).astype("int32")
    source_mask = np.array([[1] * 7, [1] * 4 + [0] * 3], "int32")
    target = rng.integers(4, 1000, size=(2, 6)).astype("int32")
    inputs = {
        "encoder_token_ids": source,
        "encoder_padding_mask": source_mask,
        "decoder_token_ids": target,
        "decoder_padding_mask": np.ones_like(target),
    }
    full = to_numpy(model(inputs))
    hidden = to_numpy(backbone(inputs)["decoder_sequence_output"])  # (B, T, D)
    table = to_numpy(backbone.token_embedding.embeddings)  # (V, D): the head is its transpose
    np.testing.assert_allclose(full, hidden @ table.T, atol=1e-4)
    cross = model.cross_attention_caches(model.encode(source, source_mask))
    caches = model.empty_caches(2, 6)
    for index in range(6):
        step_ids = target[:, index : index + 1]
        logits, caches = model.decode_step(step_ids, index, caches, cross, source_mask)
        np.testing.assert_allclose(to_numpy(logits), full[:, index], atol=1e-4)
    cached = model.generate_ids(source, source_mask, max_length=8, use_cache=True)
    uncached = model.generate_ids(source, source_mask, max_length=8, use_cache=False)
    np.testing.assert_array_equal(to_numpy(cached), to_numpy(uncached))
    path = tmp_path / f"{preset}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.backbone.get_config() == backbone.get_config()
    np.testing.assert_allclose(to_numpy(loaded(inputs)), full, atol=1e-6)
