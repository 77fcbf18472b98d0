"""EncoderDecoderBackbone: NumPy reference per option, cached decoding, causality, padding."""

import keras
import numpy as np
import pytest
from backbone_checks import assert_round_trips, outputs_of, token_batch

import backbone_reference as reference
from helpers import to_numpy
from zoo.models import EncoderDecoderBackbone

CONFIGURATIONS = {
    # Seq2SeqLM's stack: pre-LN, learned positions, relu, scaled embeddings, final norms.
    "transformer_base_like": ("tiny", {}),
    # BART-like: post-LN, embedding norms, positions from row 2, gelu.
    "bart_like": ("tiny_bart", {}),
    # Marian-like: post-LN, concatenated sinusoids, scaled embeddings, silu.
    "marian_like": ("tiny_marian", {}),
    # RMSNorm, rotary self-attention, swiglu, grouped-query heads, qkv-only biases, and
    # separate decoder sizes.
    "rms_rotary_gqa": (
        "tiny",
        dict(
            norm_type="rms_norm",
            position_encoding="rotary",
            activation="swiglu",
            num_heads=4,
            num_key_value_heads=2,
            use_attention_output_bias=False,
            use_mlp_bias=False,
            decoder_vocabulary_size=300,
            decoder_sequence_length=12,
        ),
    ),
}


def build(name, seed=0):
    preset, overrides = CONFIGURATIONS[name]
    model = EncoderDecoderBackbone.from_preset(preset, **overrides)
    reference.randomize(model, seed)
    return model


def batch(model, source_lengths=(8, 5), target_lengths=(6, 3), seed=0):
    source, source_mask = token_batch(model.vocabulary_size, source_lengths, 8, seed)
    target, target_mask = token_batch(model.decoder_vocabulary_size, target_lengths, 6, seed + 1)
    return {
        "encoder_token_ids": source,
        "encoder_padding_mask": source_mask,
        "decoder_token_ids": target,
        "decoder_padding_mask": target_mask,
    }


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_matches_numpy_reference(name):
    model = build(name)
    inputs = batch(model)
    expected = reference.encoder_decoder_backbone(model, inputs)
    actual = outputs_of(model, inputs)
    assert actual["encoder_sequence_output"].shape == (2, 8, model.hidden_dim)
    assert actual["decoder_sequence_output"].shape == (2, 6, model.hidden_dim)
    for side in ("encoder", "decoder"):
        real = inputs[f"{side}_padding_mask"].astype(bool)
        key = f"{side}_sequence_output"
        np.testing.assert_allclose(actual[key][real], expected[key][real], atol=1e-5, err_msg=side)


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_cached_decoding_equals_full_forward(name):
    model = build(name)
    inputs = batch(model, target_lengths=(6, 6))
    full = outputs_of(model, inputs)
    encoded = model.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"])
    np.testing.assert_allclose(to_numpy(encoded), full["encoder_sequence_output"], atol=1e-5)
    cross = model.cross_attention_cache(encoded)
    cache = model.empty_cache(batch_size=2, max_length=8)
    target, source_mask = inputs["decoder_token_ids"], inputs["encoder_padding_mask"]
    hidden, cache = model.call_with_cache(target[:, :2], cache, 0, cross, source_mask)
    steps = [to_numpy(hidden)]
    for index in range(2, 6):
        step_ids = target[:, index : index + 1]
        hidden, cache = model.call_with_cache(step_ids, cache, index, cross, source_mask)
        steps.append(to_numpy(hidden))
    decoded = np.concatenate(steps, axis=1)
    np.testing.assert_allclose(decoded, full["decoder_sequence_output"], atol=1e-5)


@pytest.mark.parametrize("name", ["bart_like", "rms_rotary_gqa"])
def test_decoder_is_causal(name):
    model = build(name)
    inputs = batch(model, target_lengths=(6, 6))
    changed = {**inputs, "decoder_token_ids": inputs["decoder_token_ids"].copy()}
    changed["decoder_token_ids"][:, 3:] = (changed["decoder_token_ids"][:, 3:] + 5) % 300
    before = outputs_of(model, inputs)["decoder_sequence_output"]
    after = outputs_of(model, changed)["decoder_sequence_output"]
    np.testing.assert_allclose(after[:, :3], before[:, :3], atol=1e-6)
    assert np.abs(after[:, 3:] - before[:, 3:]).max() > 1e-3


@pytest.mark.parametrize("name", ["marian_like", "rms_rotary_gqa"])
def test_padded_source_and_target_positions_change_nothing_real(name):
    model = build(name)
    inputs = batch(model, source_lengths=(8, 5), target_lengths=(6, 3))
    changed = {name: value.copy() for name, value in inputs.items()}
    changed["encoder_token_ids"][1, 5:] = [3, 4, 5]
    changed["decoder_token_ids"][1, 3:] = [6, 7, 8]
    before, after = outputs_of(model, inputs), outputs_of(model, changed)
    for side, length in (("encoder", 5), ("decoder", 3)):
        key = f"{side}_sequence_output"
        np.testing.assert_allclose(after[key][0], before[key][0], atol=1e-6)
        np.testing.assert_allclose(after[key][1, :length], before[key][1, :length], atol=1e-6)


@pytest.mark.parametrize("name", ["bart_like", "rms_rotary_gqa"])
def test_config_and_keras_file_round_trip(name, tmp_path):
    model = build(name)
    assert_round_trips(model, batch(model), tmp_path)


def test_tied_logits_use_the_decoder_table():
    model = build("marian_like")
    hidden = outputs_of(model, batch(model))["decoder_sequence_output"]
    table = to_numpy(model.token_embedding.embeddings)
    np.testing.assert_allclose(to_numpy(model.logits(hidden)), hidden @ table.T, atol=1e-4)


@pytest.mark.parametrize("low_rank", [None, {"encoder_embedding/*": 6}])
def test_tied_logits_in_a_functional_graph_read_the_weights_of_each_call(low_rank):
    # A task builds its graph on the backbone's outputs before it trains or loads weights: the
    # logits must follow the table (and its E -> D projection) as they are at call time.
    model = EncoderDecoderBackbone.from_preset("tiny_bart", low_rank=low_rank)
    task_graph = keras.Model(model.input, model.logits(model.output["decoder_sequence_output"]))
    reference.randomize(model, seed=5)
    inputs = batch(model)
    hidden = outputs_of(model, inputs)["decoder_sequence_output"]
    table = to_numpy(model.token_embedding.embeddings)  # (V, D), or (V, E) factorized
    if low_rank is not None:
        hidden = hidden @ to_numpy(model.decoder_embedding.token_projection.kernel).T  # (B, T, E)
    np.testing.assert_allclose(to_numpy(task_graph(inputs)), hidden @ table.T, atol=1e-4)


def test_shared_token_table_serves_both_sides():
    shared, separate = build("bart_like"), build("transformer_base_like")
    assert shared.encoder_token_embedding is shared.token_embedding
    assert separate.encoder_token_embedding is not separate.token_embedding
    paths = [v.path for v in shared.weights]
    assert [p for p in paths if p.endswith("token_embedding/embeddings")] == [
        "encoder_embedding/token_embedding/embeddings"
    ]
    assert "decoder_embedding/position_embedding/embeddings" in paths
    # Moving the one table moves both sides' embeddings.
    inputs = batch(shared)
    before = outputs_of(shared, inputs)
    table = shared.token_embedding.embeddings
    table.assign(table + np.random.default_rng(3).normal(size=table.shape).astype("float32"))
    after = outputs_of(shared, inputs)
    for key in ("encoder_sequence_output", "decoder_sequence_output"):
        assert np.abs(after[key] - before[key]).max() > 1e-3, key
    with pytest.raises(ValueError, match="vocabulary_size=1000, decoder_vocabulary_size=300"):
        EncoderDecoderBackbone.from_preset("tiny_bart", decoder_vocabulary_size=300)


def test_decoder_sizes_default_to_the_encoders():
    model = EncoderDecoderBackbone.from_preset("tiny")
    assert (model.decoder_vocabulary_size, model.decoder_sequence_length) == (1000, 16)
    separate = build("rms_rotary_gqa")
    assert tuple(separate.token_embedding.embeddings.shape) == (300, 16)
    assert tuple(separate.encoder_token_embedding.embeddings.shape) == (1000, 16)


def test_low_rank_with_a_shared_factorized_table_matches_the_reference(tmp_path):
    low_rank = {"*_attention/*": 3, "decoder_*/feedforward/*": 4, "encoder_embedding/*": 6}
    model = EncoderDecoderBackbone.from_preset("tiny_bart", low_rank=low_rank)
    reference.randomize(model, seed=4)
    paths = {v.path for v in model.weights}
    assert {
        "decoder_0/cross_attention/key/u_kernel",
        "encoder_embedding/token_projection/kernel",
        "encoder_0/feedforward/output/kernel",
    } <= paths
    inputs = batch(model)
    expected = reference.encoder_decoder_backbone(model, inputs)
    actual = outputs_of(model, inputs)
    for side in ("encoder", "decoder"):
        real = inputs[f"{side}_padding_mask"].astype(bool)
        key = f"{side}_sequence_output"
        np.testing.assert_allclose(actual[key][real], expected[key][real], atol=1e-5, err_msg=side)
    assert_round_trips(model, inputs, tmp_path)
    with pytest.raises(ValueError, match="matches no projection"):
        EncoderDecoderBackbone.from_preset("tiny_bart", low_rank={"decoder_embedding/*": 6})
