import numpy as np
import pytest
from references import reference_decoder

from helpers import assert_round_trip, count_params, randomize_weights, to_numpy
from zoo.layers import TransformerDecoder

RNG = np.random.default_rng(0)
ENCODER_PADDING = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], bool)


def random(*shape):
    return RNG.normal(size=shape).astype("float32")


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_numpy_reference(normalize_first):
    decoder = TransformerDecoder(
        num_heads=2, intermediate_dim=12, use_cross_attention=True, normalize_first=normalize_first
    )
    x, memory = random(2, 4, 8), random(2, 6, 8)
    decoder(x, memory)  # build
    randomize_weights(decoder, seed=1)  # biases, LayerNorm gamma and beta away from 0 / 1
    out = to_numpy(decoder(x, memory, encoder_padding_mask=ENCODER_PADDING))
    causal = np.broadcast_to(np.tril(np.ones((4, 4), bool)), (2, 4, 4))
    cross = np.broadcast_to(ENCODER_PADDING[:, None, :], (2, 4, 6))
    np.testing.assert_allclose(out, reference_decoder(decoder, x, memory, causal, cross), atol=1e-5)


def test_causality_without_cross_attention():
    decoder = TransformerDecoder(num_heads=2, intermediate_dim=16)
    x = random(1, 6, 8)
    changed = x.copy()
    changed[:, 4:] += 2.0
    a, b = to_numpy(decoder(x)), to_numpy(decoder(changed))
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-5)
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_encoder_padding_invariance():
    decoder = TransformerDecoder(num_heads=2, intermediate_dim=16, use_cross_attention=True)
    x, memory = random(2, 3, 8), random(2, 6, 8)
    changed = memory.copy()
    changed[1, 4:] = 100.0
    a = to_numpy(decoder(x, memory, encoder_padding_mask=ENCODER_PADDING))
    b = to_numpy(decoder(x, changed, encoder_padding_mask=ENCODER_PADDING))
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"use_cross_attention": True},
        {"use_cross_attention": True, "num_key_value_heads": 1, "normalize_first": True},
        {"use_cross_attention": False, "use_rotary": True, "num_key_value_heads": 2},
    ],
)
def test_cached_decoding_equals_full_forward(kwargs):
    decoder = TransformerDecoder(num_heads=4, intermediate_dim=16, **kwargs)
    x, memory = random(2, 6, 16), random(2, 5, 16)
    cross_inputs = {"encoder_padding_mask": ENCODER_PADDING[:, :5]} if kwargs["use_cross_attention"] else {}
    full = to_numpy(decoder(x, memory if cross_inputs else None, **cross_inputs))

    cache = decoder.init_cache(batch_size=2, max_length=6)
    if cross_inputs:
        cross_inputs["cross_attention_cache"] = decoder.compute_cross_attention_cache(memory)
    out, cache = decoder(x[:, :2], self_attention_cache=cache, self_attention_cache_index=0, **cross_inputs)
    steps = [to_numpy(out)]
    for t in range(2, 6):
        out, cache = decoder(x[:, t : t + 1], self_attention_cache=cache, self_attention_cache_index=t, **cross_inputs)
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_cached_decoding_respects_decoder_padding():
    # Left-padded prompt: the first two cache slots are padding for row 1.
    decoder = TransformerDecoder(num_heads=2, intermediate_dim=8)
    x = random(2, 4, 8)
    padding = np.array([[1, 1, 1, 1], [0, 0, 1, 1]], bool)
    full = to_numpy(decoder(x, decoder_padding_mask=padding))
    cache = decoder.init_cache(2, 4)
    steps = []
    for t in range(4):
        out, cache = decoder(
            x[:, t : t + 1], decoder_padding_mask=padding, self_attention_cache=cache, self_attention_cache_index=t
        )
        steps.append(to_numpy(out))
    cached = np.concatenate(steps, axis=1)
    np.testing.assert_allclose(cached[:, 2:], full[:, 2:], atol=1e-5)
    np.testing.assert_allclose(cached[0], full[0], atol=1e-5)


def test_weight_counts():
    with_cross = TransformerDecoder(num_heads=2, intermediate_dim=32, use_cross_attention=True)
    with_cross(random(1, 3, 16), random(1, 4, 16))
    attention = 4 * (16 * 16 + 16)
    feedforward = 16 * 32 + 32 + 32 * 16 + 16
    assert count_params(with_cross) == 2 * attention + feedforward + 3 * 2 * 16
    without = TransformerDecoder(num_heads=2, intermediate_dim=32)
    without(random(1, 3, 16))
    assert count_params(without) == attention + feedforward + 2 * 2 * 16


def test_cross_attention_is_a_constructor_decision():
    without = TransformerDecoder(num_heads=2, intermediate_dim=8)
    with pytest.raises(ValueError, match="use_cross_attention=False"):
        without(random(1, 3, 8), random(1, 4, 8))
    with_cross = TransformerDecoder(num_heads=2, intermediate_dim=8, use_cross_attention=True)
    with pytest.raises(ValueError, match="needs encoder_sequence or cross_attention_cache"):
        with_cross(random(1, 3, 8))
    with pytest.raises(ValueError, match="self_attention_cache needs self_attention_cache_index"):
        without(random(1, 1, 8), self_attention_cache=np.zeros((1, 2, 3, 2, 4), "float32"))


def test_round_trip(tmp_path):
    decoder = TransformerDecoder(num_heads=2, intermediate_dim=16, use_cross_attention=True, num_key_value_heads=1)
    tensors = {
        "decoder_sequence": random(2, 3, 8),
        "encoder_sequence": random(2, 6, 8),
        "encoder_padding_mask": ENCODER_PADDING.astype("int32"),
    }
    loaded = assert_round_trip(decoder, tensors, tmp_path)
    assert loaded.layers[-1].use_cross_attention


def test_ranks_reach_self_and_cross_attention_and_layer_ranks_override_them(tmp_path):
    decoder = TransformerDecoder(
        num_heads=2,
        intermediate_dim=16,
        use_cross_attention=True,
        projection_rank=2,
        ffn_rank=3,
        layer_ranks={"cross_attention/value": None, "self_attention/query": 1, "feedforward/output": None},
    )
    decoder(random(1, 3, 8), random(1, 4, 8))
    shapes = {w.path.split("/", 1)[1]: tuple(w.shape) for w in decoder.weights}
    assert shapes["self_attention/query/u_kernel"] == (8, 1)
    assert shapes["self_attention/key/u_kernel"] == (8, 2)
    assert shapes["cross_attention/query/u_kernel"] == (8, 2)
    assert shapes["cross_attention/value/kernel"] == (8, 2, 4)  # dense by layer_ranks
    assert shapes["feedforward/intermediate/u_kernel"] == (8, 3)
    assert shapes["feedforward/output/kernel"] == (16, 8)
    tensors = {"decoder_sequence": random(2, 3, 8), "encoder_sequence": random(2, 5, 8)}
    assert_round_trip(decoder, tensors, tmp_path)


def test_low_rank_cached_decoding_equals_full_forward():
    decoder = TransformerDecoder(
        num_heads=2, intermediate_dim=16, use_cross_attention=True, projection_rank=3, ffn_rank=2
    )
    x, memory = random(2, 5, 8), random(2, 4, 8)
    full = to_numpy(decoder(x, memory))
    cache, cross = decoder.init_cache(2, 5), decoder.compute_cross_attention_cache(memory)
    steps = []
    for t in range(5):
        out, cache = decoder(
            x[:, t : t + 1], self_attention_cache=cache, self_attention_cache_index=t, cross_attention_cache=cross
        )
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_bad_layer_ranks_are_named():
    with pytest.raises(ValueError, match="use_cross_attention=False"):
        TransformerDecoder(num_heads=2, intermediate_dim=8, layer_ranks={"cross_attention/key": 2})
    with pytest.raises(ValueError, match="unknown layer_ranks keys \\['feedforward/gate'\\]"):
        TransformerDecoder(num_heads=2, intermediate_dim=8, layer_ranks={"feedforward/gate": 2})
    with pytest.raises(ValueError, match="layer_ranks must be None, a positive integer"):
        TransformerDecoder(num_heads=2, intermediate_dim=8, layer_ranks={"self_attention/key": 0})
