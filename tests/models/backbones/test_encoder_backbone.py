"""TransformerEncoderBackbone: NumPy reference per option, padding, round trips, errors."""

import numpy as np
import pytest
from backbone_checks import assert_round_trips, token_batch

import backbone_reference as reference
from helpers import to_numpy
from zoo.models import TransformerEncoderBackbone

CONFIGURATIONS = {
    # BERT-like: post-LN, learned positions, segments, embedding norm, exact gelu.
    "bert_like": {},
    # RoBERTa-like: positions from row 2, no segments.
    "roberta_like": dict(position_offset=2, num_segments=0),
    # Pre-LN with RMSNorm, rotary, swiglu, grouped-query heads, no biases, a final norm.
    "pre_rms_rotary_swiglu": dict(
        normalize_first=True,
        use_final_norm=True,
        use_embedding_norm=False,
        norm_type="rms_norm",
        position_encoding="rotary",
        rope_theta=500.0,
        activation="swiglu",
        num_heads=4,
        num_key_value_heads=2,
        use_attention_bias=False,
        use_mlp_bias=False,
    ),
    # Sinusoids (both layouts), scaled embeddings, relu / tanh gelu, qkv-only attention biases.
    "sinusoidal_scaled_relu": dict(
        position_encoding="sinusoidal",
        embedding_scale=4.0,
        activation="relu",
        use_attention_output_bias=False,
    ),
    "concatenated_sinusoids_gelu_approximate": dict(
        position_encoding="sinusoidal",
        sinusoidal_layout="concatenated",
        activation="gelu_approximate",
        use_embedding_norm=False,
        num_segments=3,
    ),
}


def build(name, seed=0):
    model = TransformerEncoderBackbone.from_preset("tiny", **CONFIGURATIONS[name])
    reference.randomize(model, seed)
    return model


def batch(model, lengths=(9, 5), total_length=9, seed=0):
    ids, mask = token_batch(model.vocabulary_size, lengths, total_length, seed)
    inputs = {"token_ids": ids, "padding_mask": mask}
    if model.num_segments:
        segments = np.random.default_rng(seed + 1).integers(0, model.num_segments, ids.shape)
        inputs["segment_ids"] = segments.astype("int32")
    return inputs


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_matches_numpy_reference(name):
    model = build(name)
    inputs = batch(model)
    expected = reference.encoder_backbone(model, inputs)
    actual = to_numpy(model(inputs))
    assert actual.shape == (2, 9, model.hidden_dim)
    real = inputs["padding_mask"].astype(bool)
    np.testing.assert_allclose(actual[real], expected[real], atol=1e-5)


@pytest.mark.parametrize("name", ["bert_like", "pre_rms_rotary_swiglu"])
def test_padded_positions_do_not_change_real_ones(name):
    model = build(name)
    inputs = batch(model, lengths=(9, 5))
    changed = {**inputs, "token_ids": inputs["token_ids"].copy()}
    changed["token_ids"][1, 5:] = [7, 8, 9, 10]
    before, after = to_numpy(model(inputs)), to_numpy(model(changed))
    np.testing.assert_allclose(after[0], before[0], atol=1e-6)
    np.testing.assert_allclose(after[1, :5], before[1, :5], atol=1e-6)


def test_every_real_token_sees_the_whole_sequence():
    model = build("bert_like")
    inputs = batch(model, lengths=(9, 9))
    changed = {**inputs, "token_ids": inputs["token_ids"].copy()}
    changed["token_ids"][:, -1] = (changed["token_ids"][:, -1] + 1) % model.vocabulary_size
    difference = np.abs(to_numpy(model(changed)) - to_numpy(model(inputs)))
    assert (difference[:, 0].max(axis=-1) > 1e-4).all()  # bidirectional: the first token changes


def test_segment_ids_are_an_input_only_with_segments():
    assert set(build("bert_like").input) == {"token_ids", "padding_mask", "segment_ids"}
    assert set(build("roberta_like").input) == {"token_ids", "padding_mask"}


@pytest.mark.parametrize("name", ["bert_like", "pre_rms_rotary_swiglu"])
def test_config_and_keras_file_round_trip(name, tmp_path):
    model = build(name)
    assert_round_trips(model, batch(model), tmp_path)


def test_argument_errors_name_the_value():
    with pytest.raises(ValueError, match="Received: num_segments=-1"):
        TransformerEncoderBackbone.from_preset("tiny", num_segments=-1)
    with pytest.raises(ValueError, match="Received: dropout=1.0"):
        TransformerEncoderBackbone.from_preset("tiny", dropout=1.0)
    with pytest.raises(ValueError, match="position_offset applies to a learned position table"):
        TransformerEncoderBackbone.from_preset("tiny", position_encoding="sinusoidal", position_offset=2)
    with pytest.raises(ValueError, match="Received: sinusoidal_layout='split'"):
        TransformerEncoderBackbone.from_preset("tiny", sinusoidal_layout="split")


def test_fixed_input_length_fixes_the_width_of_every_input_and_round_trips(tmp_path):
    model = TransformerEncoderBackbone.from_preset("tiny", fixed_input_length=True)
    reference.randomize(model, 0)
    assert {name: tuple(x.shape) for name, x in model.input.items()} == dict.fromkeys(
        ("token_ids", "padding_mask", "segment_ids"), (None, 32)
    )
    inputs = batch(model, lengths=(32, 20), total_length=32)
    variable = TransformerEncoderBackbone.from_preset("tiny")
    variable.set_weights(model.get_weights())
    np.testing.assert_allclose(to_numpy(model(inputs)), to_numpy(variable(inputs)), atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        model(batch(model, lengths=(9, 5), total_length=9))
    assert_round_trips(model, inputs, tmp_path)
