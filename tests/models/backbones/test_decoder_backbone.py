"""TransformerDecoderBackbone: NumPy reference per option, cache, causality, padding, files."""

import keras
import numpy as np
import pytest
from backbone_checks import assert_round_trips, token_batch

import backbone_reference as reference
from helpers import to_numpy
from zoo.models import TransformerDecoderBackbone

# GPT-2-like, LLaMA-like, Qwen2-like presets, and options none of them covers.
CONFIGURATIONS = {
    "gpt2_like": ("tiny", {}),
    "llama_like": ("tiny_llama", {}),
    "qwen2_like": ("tiny_qwen2", {}),
    "post_ln_sinusoidal_relu": (
        "tiny",
        dict(
            normalize_first=False,
            use_final_norm=False,
            position_encoding="sinusoidal",
            activation="relu",
            embedding_scale=4.0,
        ),
    ),
    "offset_positions_embedding_norm_silu": (
        "tiny",
        dict(position_offset=2, use_embedding_norm=True, activation="silu", use_mlp_bias=False, norm_type="rms_norm"),
    ),
    "concatenated_sinusoids_exact_gelu_mqa": (
        "tiny",
        dict(
            position_encoding="sinusoidal",
            sinusoidal_layout="concatenated",
            activation="gelu",
            num_heads=4,
            num_key_value_heads=1,
            use_attention_output_bias=False,
        ),
    ),
}


def build(name, seed=0):
    preset, overrides = CONFIGURATIONS[name]
    model = TransformerDecoderBackbone.from_preset(preset, **overrides)
    reference.randomize(model, seed)
    return model


def batch(model, lengths=(7, 4), total_length=7, seed=0):
    ids, mask = token_batch(model.vocabulary_size, lengths, total_length, seed)
    return {"token_ids": ids, "padding_mask": mask}


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_matches_numpy_reference(name):
    model = build(name)
    inputs = batch(model)
    expected = reference.decoder_backbone(model, inputs)
    actual = to_numpy(model(inputs))
    assert actual.shape == (2, 7, model.hidden_dim)
    real = inputs["padding_mask"].astype(bool)
    np.testing.assert_allclose(actual[real], expected[real], atol=1e-5)


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_cached_decoding_equals_full_forward(name):
    model = build(name)
    inputs = batch(model, lengths=(7, 7))
    full = to_numpy(model(inputs))
    cache = model.empty_cache(batch_size=2, max_length=10)
    prefill, cache = model.call_with_cache(inputs["token_ids"][:, :3], cache, cache_index=0)
    steps = [to_numpy(prefill)]
    for index in range(3, 7):
        step_ids = inputs["token_ids"][:, index : index + 1]
        hidden, cache = model.call_with_cache(step_ids, cache, index)
        steps.append(to_numpy(hidden))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    key_value_heads = model.num_key_value_heads or model.num_heads
    head_dim = model.hidden_dim // model.num_heads
    assert tuple(cache.shape) == (2, model.num_layers, 2, 10, key_value_heads, head_dim)


@pytest.mark.parametrize("name", ["gpt2_like", "llama_like", "offset_positions_embedding_norm_silu"])
def test_cached_steps_in_a_compiled_loop_with_a_tensor_index_equal_the_full_forward(name):
    """What a generation loop does: one token per step, `cache_index` a loop tensor, in a graph."""
    import tensorflow as tf

    model = build(name)
    inputs = batch(model, lengths=(7, 7))
    full = to_numpy(model(inputs))
    ids = keras.ops.convert_to_tensor(inputs["token_ids"])

    @tf.function
    def decode_all(ids):
        def step(index, state):
            cache, hidden = state
            step_ids = keras.ops.slice(ids, (0, index), (2, 1))
            output, cache = model.call_with_cache(step_ids, cache, index)
            return cache, keras.ops.slice_update(hidden, (0, index, 0), output)

        initial = (model.empty_cache(2, 7), keras.ops.zeros((2, 7, model.hidden_dim)))
        return keras.ops.fori_loop(0, 7, step, initial)[1]

    np.testing.assert_allclose(to_numpy(decode_all(ids)), full, atol=1e-5)


@pytest.mark.parametrize("name", ["gpt2_like", "llama_like"])
def test_cached_decoding_with_a_padding_mask_over_the_cache(name):
    model = build(name)
    inputs = batch(model, lengths=(7, 4))
    full = to_numpy(model(inputs))
    cache_mask = np.concatenate([inputs["padding_mask"], np.zeros((2, 3), "int32")], axis=1)
    hidden, _ = model.call_with_cache(inputs["token_ids"], model.empty_cache(2, 10), 0, padding_mask=cache_mask)
    real = inputs["padding_mask"].astype(bool)
    np.testing.assert_allclose(to_numpy(hidden)[real], full[real], atol=1e-5)


@pytest.mark.parametrize("name", ["gpt2_like", "llama_like", "qwen2_like"])
def test_causal_later_tokens_do_not_change_earlier_outputs(name):
    model = build(name)
    inputs = batch(model, lengths=(7, 7))
    changed = {**inputs, "token_ids": inputs["token_ids"].copy()}
    changed["token_ids"][:, 4:] = (changed["token_ids"][:, 4:] + 11) % model.vocabulary_size
    before, after = to_numpy(model(inputs)), to_numpy(model(changed))
    np.testing.assert_allclose(after[:, :4], before[:, :4], atol=1e-6)
    assert np.abs(after[:, 4:] - before[:, 4:]).max() > 1e-3


@pytest.mark.parametrize("name", ["gpt2_like", "llama_like"])
def test_padded_positions_do_not_change_real_ones(name):
    model = build(name)
    inputs = batch(model, lengths=(7, 4))
    changed = {**inputs, "token_ids": inputs["token_ids"].copy()}
    changed["token_ids"][1, 4:] = [5, 6, 7]
    before, after = to_numpy(model(inputs)), to_numpy(model(changed))
    np.testing.assert_allclose(after[0], before[0], atol=1e-6)
    np.testing.assert_allclose(after[1, :4], before[1, :4], atol=1e-6)


@pytest.mark.parametrize("name", ["gpt2_like", "qwen2_like", "llama_like"])
def test_config_and_keras_file_round_trip(name, tmp_path):
    model = build(name)
    loaded = assert_round_trips(model, batch(model), tmp_path)
    ids = batch(model)["token_ids"][:, :2]
    hidden, _ = loaded.call_with_cache(ids, loaded.empty_cache(2, 8), 0)
    assert hidden.shape == (2, 2, model.hidden_dim)


def test_tied_logits_use_the_transposed_token_table():
    model = build("gpt2_like")
    inputs = batch(model)
    hidden = to_numpy(model(inputs))
    table = to_numpy(model.token_embedding.embeddings)
    assert table.shape == (model.vocabulary_size, model.hidden_dim)
    logits = to_numpy(model.logits(model(inputs)))
    np.testing.assert_allclose(logits, hidden @ table.T, atol=1e-4)


def test_tied_logits_work_inside_a_functional_task_graph():
    model = build("qwen2_like")
    names = ("token_ids", "padding_mask")
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in names}
    task = keras.Model(inputs, model.logits(model(inputs)))
    data = batch(model)
    expected = to_numpy(model.logits(model(data)))
    np.testing.assert_allclose(to_numpy(task(data)), expected, atol=1e-6)
    assert len(task.trainable_weights) == len(model.trainable_weights)  # the head adds none


def test_untied_backbone_refuses_logits():
    model = build("llama_like")
    with pytest.raises(ValueError, match="tie_word_embeddings=False"):
        model.logits(np.zeros((1, 2, model.hidden_dim), "float32"))


def test_bias_options_choose_which_projections_have_biases():
    def bias_paths(**overrides):
        model = TransformerDecoderBackbone.from_preset("tiny", num_layers=1, **overrides)
        return sorted(v.path for v in model.weights if v.path.endswith("/bias"))

    attention = ["query", "key", "value", "attention_output"]
    mlp = ["intermediate", "output"]
    gpt2 = [f"decoder_0/self_attention/{n}/bias" for n in attention]
    gpt2 += [f"decoder_0/feedforward/{n}/bias" for n in mlp]
    assert bias_paths() == sorted(gpt2)
    assert bias_paths(use_attention_bias=False, use_mlp_bias=False) == []
    qwen2 = bias_paths(use_attention_output_bias=False, use_mlp_bias=False)
    assert qwen2 == sorted(f"decoder_0/self_attention/{n}/bias" for n in attention[:3])


def test_argument_errors_name_the_value():
    with pytest.raises(ValueError, match="Received: hidden_dim=16, num_heads=3"):
        TransformerDecoderBackbone.from_preset("tiny", num_heads=3)
    with pytest.raises(ValueError, match="Received: norm_type='batch_norm'"):
        TransformerDecoderBackbone.from_preset("tiny", norm_type="batch_norm")
    with pytest.raises(ValueError, match="Received: position_encoding='alibi'"):
        TransformerDecoderBackbone.from_preset("tiny", position_encoding="alibi")
    with pytest.raises(ValueError, match="Received: activation='tanh'"):
        TransformerDecoderBackbone.from_preset("tiny", activation="tanh")
    with pytest.raises(ValueError, match="Received: num_layers=0"):
        TransformerDecoderBackbone.from_preset("tiny", num_layers=0)
    message = r"unknown TransformerDecoderBackbone arguments \['hidden_size'\]"
    with pytest.raises(ValueError, match=message):
        TransformerDecoderBackbone.from_preset("tiny", hidden_size=8)


LOW_RANK = {
    "*/self_attention/*": 3,
    "decoder_1/self_attention/value": None,  # a later pattern wins: dense again
    "*/feedforward/intermediate": 4,
    "embedding/token_embedding": 8,
}


@pytest.mark.parametrize("preset", ["tiny", "tiny_llama"])
def test_low_rank_projections_match_the_reference_of_their_product(preset, tmp_path):
    model = TransformerDecoderBackbone.from_preset(preset, low_rank=LOW_RANK)
    reference.randomize(model, seed=2)
    paths = {v.path for v in model.weights}
    assert "decoder_0/self_attention/query/u_kernel" in paths
    assert "decoder_1/self_attention/value/kernel" in paths
    assert "decoder_0/feedforward/output/kernel" in paths
    assert "embedding/token_projection/kernel" in paths
    inputs = batch(model, lengths=(7, 7))
    expected = reference.decoder_backbone(model, inputs)
    np.testing.assert_allclose(to_numpy(model(inputs)), expected, atol=1e-5)
    cache = model.empty_cache(2, 7)
    hidden, _ = model.call_with_cache(inputs["token_ids"], cache, 0)
    np.testing.assert_allclose(to_numpy(hidden), expected, atol=1e-5)
    assert_round_trips(model, inputs, tmp_path)


def test_tied_logits_of_a_factorized_table_transpose_its_projection():
    model = TransformerDecoderBackbone.from_preset("tiny", low_rank={"embedding/*": 8})
    reference.randomize(model, seed=3)
    hidden = to_numpy(model(batch(model)))
    table = to_numpy(model.token_embedding.embeddings)  # (V, 8)
    projection = to_numpy(model.embedding.token_projection.kernel)  # (8, D)
    expected = hidden @ (table @ projection).T  # the effective (V, D) table, transposed
    np.testing.assert_allclose(to_numpy(model.logits(model(batch(model)))), expected, atol=1e-4)
    with pytest.raises(ValueError, match="matches no projection"):
        TransformerDecoderBackbone.from_preset("tiny", low_rank={"encoder_*/*": 2})
