import numpy as np
import pytest
from references import reference_sinusoidal

from helpers import assert_round_trip, count_params, to_numpy
from zoo.layers import PatchEmbedding, TokenAndPositionEmbedding


def test_token_and_learned_position_embedding(tmp_path):
    layer = TokenAndPositionEmbedding(vocabulary_size=20, sequence_length=8, embedding_dim=6)
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], "int32")
    out = to_numpy(layer(ids))
    table = to_numpy(layer.token_embedding.embeddings)
    positions = to_numpy(layer.position_embedding.position_embeddings)
    np.testing.assert_allclose(out, table[ids] + positions[:4], atol=1e-6)
    assert count_params(layer) == 20 * 6 + 8 * 6
    assert_round_trip(layer, {"token_ids": ids}, tmp_path)


def test_start_index_matches_full_sequence():
    for encoding in ("learned", "sinusoidal"):
        layer = TokenAndPositionEmbedding(30, 10, 4, position_encoding=encoding)
        ids = np.arange(1, 8, dtype="int32")[None]
        full = to_numpy(layer(ids))
        step = to_numpy(layer(ids[:, 5:6], start_index=5))
        np.testing.assert_allclose(step[:, 0], full[:, 5], atol=1e-6)


def test_sinusoidal_scaled_embedding():
    layer = TokenAndPositionEmbedding(30, 10, 4, position_encoding="sinusoidal", scale_embeddings=True)
    ids = np.array([[3, 4, 5]], "int32")
    table = to_numpy(layer.token_embedding(ids))
    expected = table * 2.0 + reference_sinusoidal(3, 4)
    np.testing.assert_allclose(to_numpy(layer(ids)), expected, atol=1e-5)
    assert count_params(layer) == 30 * 4


def test_token_embedding_rejects_bad_arguments():
    with pytest.raises(ValueError, match="position_encoding must be one of"):
        TokenAndPositionEmbedding(10, 4, 4, position_encoding="rotary")
    with pytest.raises(ValueError, match="vocabulary_size must be a positive integer"):
        TokenAndPositionEmbedding(0, 4, 4)


def test_patch_embedding_equals_flattened_patches_times_kernel(tmp_path):
    layer = PatchEmbedding(image_size=(4, 6), patch_size=2, hidden_dim=5, num_channels=3)
    images = np.random.default_rng(0).uniform(size=(2, 4, 6, 3)).astype("float32")
    out = to_numpy(layer(images))
    assert out.shape == (2, 1 + 6, 5)
    kernel = to_numpy(layer.projection.kernel).reshape(2 * 2 * 3, 5)  # (ph * pw * C, D)
    patches = images.reshape(2, 2, 2, 3, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 6, 12)
    projected = patches @ kernel + to_numpy(layer.projection.bias)
    positions = to_numpy(layer.position_embedding.position_embeddings)
    class_token = to_numpy(layer.class_token)[0]
    np.testing.assert_allclose(out[:, 1:], projected + positions[1:], atol=1e-5)
    np.testing.assert_allclose(out[:, 0], np.broadcast_to(class_token + positions[0], (2, 1, 5))[:, 0], atol=1e-6)
    assert count_params(layer) == 12 * 5 + 5 + 5 + 7 * 5
    assert_round_trip(layer, {"images": images}, tmp_path)


def test_patch_embedding_without_class_token():
    layer = PatchEmbedding(image_size=8, patch_size=4, hidden_dim=3, num_channels=1, use_class_token=False)
    assert layer(np.zeros((1, 8, 8, 1), "float32")).shape == (1, 4, 3)


def test_patch_embedding_shape_errors():
    with pytest.raises(ValueError, match="patch_size must divide image_size"):
        PatchEmbedding(image_size=10, patch_size=3, hidden_dim=4)
    layer = PatchEmbedding(image_size=8, patch_size=2, hidden_dim=4, num_channels=1)
    with pytest.raises(ValueError, match=r"expects images of shape \(batch, 8, 8, 1\); received shape \(1, 9, 9, 1\)"):
        layer(np.zeros((1, 9, 9, 1), "float32"))
    with pytest.raises(ValueError, match="expects images of shape"):
        layer(np.zeros((8, 8, 1), "float32"))


def test_factorized_token_embedding_is_table_times_projection(tmp_path):
    layer = TokenAndPositionEmbedding(20, 8, 6, embedding_rank=3, scale_embeddings=True)
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], "int32")
    out = to_numpy(layer(ids))
    table = to_numpy(layer.token_embedding.embeddings)
    projection = to_numpy(layer.token_projection.kernel)
    positions = to_numpy(layer.position_embedding.position_embeddings)
    assert table.shape == (20, 3) and projection.shape == (3, 6)
    np.testing.assert_allclose(out, (table[ids] @ projection) * np.sqrt(6) + positions[:4], atol=1e-5)
    assert count_params(layer) == 20 * 3 + 3 * 6 + 8 * 6
    assert_round_trip(layer, {"token_ids": ids}, tmp_path)
    with pytest.raises(ValueError, match="embedding_rank must be None or a positive integer"):
        TokenAndPositionEmbedding(20, 8, 6, embedding_rank=0)


def test_embedding_scale_offset_and_layout_options(tmp_path):
    layer = TokenAndPositionEmbedding(20, 8, 6, embedding_scale=1.5, position_offset=2)
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], "int32")
    out = to_numpy(layer(ids))
    table = to_numpy(layer.token_embedding.embeddings)
    positions = to_numpy(layer.position_embedding.position_embeddings)
    assert positions.shape == (10, 6) and count_params(layer) == 20 * 6 + 10 * 6
    np.testing.assert_allclose(out, table[ids] * 1.5 + positions[2:6], atol=1e-6)
    step = to_numpy(layer(ids[:, 2:3], start_index=2))
    np.testing.assert_allclose(step[:, 0], out[:, 2], atol=1e-6)
    assert_round_trip(layer, {"token_ids": ids}, tmp_path)

    marian = TokenAndPositionEmbedding(20, 8, 6, position_encoding="sinusoidal", sinusoidal_layout="concatenated")
    sinusoids = reference_sinusoidal(4, 6)
    concatenated = np.concatenate([sinusoids[:, 0::2], sinusoids[:, 1::2]], axis=1)
    expected = to_numpy(marian.token_embedding(ids)) + concatenated
    np.testing.assert_allclose(to_numpy(marian(ids)), expected, atol=1e-5)


def test_embedding_option_errors_name_the_values():
    with pytest.raises(ValueError, match="Received: scale_embeddings=True, embedding_scale=2.0"):
        TokenAndPositionEmbedding(10, 4, 4, scale_embeddings=True, embedding_scale=2.0)
    with pytest.raises(ValueError, match="position_offset=2, position_encoding='sinusoidal'"):
        TokenAndPositionEmbedding(10, 4, 4, position_encoding="sinusoidal", position_offset=2)
    with pytest.raises(ValueError, match="Received: sinusoidal_layout='split'"):
        TokenAndPositionEmbedding(10, 4, 4, sinusoidal_layout="split")


def test_old_configs_without_the_new_options_load_unchanged():
    layer = TokenAndPositionEmbedding(20, 8, 6, scale_embeddings=True)
    ids = np.array([[1, 2, 3]], "int32")
    expected = to_numpy(layer(ids))
    config = layer.get_config()
    for key in ("embedding_scale", "position_offset", "sinusoidal_layout"):
        config.pop(key)
    clone = TokenAndPositionEmbedding.from_config(config)
    clone(ids)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(ids)), expected)
    assert [w.path for w in clone.weights] == [w.path for w in layer.weights]
