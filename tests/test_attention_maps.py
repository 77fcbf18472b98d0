"""zoo.attention_maps (was zoo.inspect): maps replay the model; rows are distributions; plots.

Also the public hook the maps are read through,
`zoo.layers.MultiHeadAttention.record_scores`, against a NumPy softmax.
"""

import keras
import numpy as np
import pytest

from helpers import randomize_weights, softmax, to_numpy
from zoo.attention_maps import (
    attention_maps,
    attention_rollout,
    class_token_patch_attention,
    plot_attention_heads,
    plot_class_token_attention,
    recording_attention,
    translation_attention,
)
from zoo.layers import MultiHeadAttention
from zoo.models import CausalLM, ImageClassifier, Seq2SeqLM, TextClassifier

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(3, 8, 8, 1), dtype=np.uint8)


@pytest.fixture(scope="module")
def vit():
    return ImageClassifier.from_preset("tiny", num_layers=2, dropout=0.1)


def test_replayed_logits_equal_the_models_and_rows_sum_to_one(vit):
    maps, logits = attention_maps(vit, IMAGES, return_logits=True)
    np.testing.assert_allclose(logits, to_numpy(vit(IMAGES, training=False)), atol=1e-5)
    tokens = 1 + (8 // 4) ** 2
    assert list(maps) == ["encoder_0/self_attention", "encoder_1/self_attention"]
    for scores in maps.values():
        assert scores.shape == (3, 2, tokens, tokens)
        assert (scores >= 0).all()
        np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)


def test_first_block_attention_matches_a_numpy_computation(vit):
    maps = attention_maps(vit, IMAGES)
    x = to_numpy(vit.get_layer("patch_embedding")(to_numpy(vit.get_layer("rescaling")(IMAGES.astype("float32")))))
    block = vit.get_layer("encoder_0")
    norm = block.self_attention_norm
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + norm.epsilon) * to_numpy(norm.gamma) + to_numpy(norm.beta)
    weights = {w.path.split("/")[-2] + "/" + w.path.split("/")[-1]: to_numpy(w) for w in block.self_attention.weights}
    query = np.einsum("btd,dnh->btnh", normed, weights["query/kernel"]) + weights["query/bias"]
    key = np.einsum("btd,dnh->btnh", normed, weights["key/kernel"]) + weights["key/bias"]
    logits = np.einsum("btnh,bsnh->bnts", query, key) / np.sqrt(query.shape[-1])
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(maps["encoder_0/self_attention"], expected, atol=1e-5)


def test_rollout_rows_sum_to_one_and_reduce_to_one_block():
    rng = np.random.default_rng(1)
    raw = rng.random((2, 3, 5, 5))
    scores = raw / raw.sum(-1, keepdims=True)
    rollout = attention_rollout([scores, scores])
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-5)
    # No residual and one block: the head average itself.
    np.testing.assert_allclose(attention_rollout([scores], residual=0.0), scores.mean(1), atol=1e-6)
    with pytest.raises(ValueError, match="at least one"):
        attention_rollout([])


def test_class_token_grids_and_plot(vit, tmp_path):
    last, rollout = class_token_patch_attention(vit, IMAGES)
    assert last.shape == rollout.shape == (3, 2, 2)
    np.testing.assert_allclose(last.sum((1, 2)), 1.0, atol=1e-5)
    path = tmp_path / "attention.png"
    plot_class_token_attention(vit, IMAGES, path, titles=["a", "b", "c"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors(vit):
    with pytest.raises(ValueError, match=r"expected images of shape"):
        attention_maps(vit, np.zeros((1, 9, 9, 1), np.uint8))
    with pytest.raises(TypeError, match="no zoo.layers.MultiHeadAttention"):
        attention_maps(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="pooling='class_token'"):
        class_token_patch_attention(ImageClassifier.from_preset("tiny", pooling="mean"), IMAGES)


def test_text_classifier_maps_put_zero_weight_on_padding_and_leave_outputs_unchanged():
    model = TextClassifier.from_preset("tiny", vocabulary_size=50, num_layers=2)
    token_ids = np.array([[2, 7, 9, 3, 0, 0, 0, 0] + [0] * 24, [2, 5, 6, 8, 11, 12, 3, 0] + [0] * 24], "int32")
    padding_mask = (token_ids != 0).astype("int32")
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    maps, outputs = attention_maps(model, inputs, return_logits=True)
    np.testing.assert_allclose(outputs, to_numpy(model(inputs, training=False)), atol=1e-5)
    assert len(maps) == 2
    for scores in maps.values():
        np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)
        for row, mask in enumerate(padding_mask):
            assert np.abs(scores[row][..., mask == 0]).max() < 1e-6  # no weight on padding keys


def test_causal_maps_are_zero_on_future_positions():
    model = CausalLM.from_preset("tiny", vocabulary_size=40)
    token_ids = np.array([[1, 5, 6, 7, 8, 9]], "int32")
    maps = attention_maps(model, {"token_ids": token_ids, "padding_mask": np.ones_like(token_ids)})
    for scores in maps.values():
        future = np.triu(np.ones((6, 6), bool), k=1)
        assert np.abs(scores[0][:, future]).max() < 1e-6
        np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)


def test_translation_attention_covers_encoder_decoder_and_cross(tmp_path):
    from zoo.tokenizers import TextPreprocessor

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ein", "hund", "a", "dog", "."]
    source = TextPreprocessor(vocabulary=vocabulary, sequence_length=8)
    target = TextPreprocessor(vocabulary=vocabulary, sequence_length=6)
    model = Seq2SeqLM.from_preset("tiny", source_preprocessor=source, target_preprocessor=target)
    maps, tokens = translation_attention(model, "Ein Hund.")
    assert tokens["source"] == ["[CLS]", "ein", "hund", ".", "[SEP]"]
    assert tokens["target"][0] == "[CLS]"
    kinds = {path.split("/")[-1] for path in maps}
    assert kinds == {"self_attention", "cross_attention"}
    for path, scores in maps.items():
        keys = len(tokens["source"]) if path.startswith("encoder") or "cross" in path else len(tokens["target"])
        queries = len(tokens["source"]) if path.startswith("encoder") else len(tokens["target"])
        assert scores.shape[2:] == (queries, keys), path
        np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)  # cut to real tokens: nothing lost
    cross = next(path for path in maps if "cross" in path)
    out = tmp_path / "cross.png"
    plot_attention_heads(maps[cross][0], tokens["target"], tokens["source"], out, title=cross)
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="non-empty string"):
        translation_attention(model, "  ")
    with pytest.raises(ValueError, match="labels for"):
        plot_attention_heads(maps[cross][0], ["x"], tokens["source"], out)


def test_the_old_module_path_re_exports_the_same_functions():
    import zoo.attention_maps
    import zoo.inspect

    names = ("attention_maps", "attention_rollout", "translation_attention", "recording_attention")
    for name in names:
        assert getattr(zoo.inspect, name) is getattr(zoo.attention_maps, name)


def test_recording_uses_the_public_hook_and_leaves_the_layers_as_they_were(vit):
    layers = [vit.get_layer(f"encoder_{i}").self_attention for i in range(2)]
    configs = [layer.get_config() for layer in layers]
    weights = [[to_numpy(w).copy() for w in layer.weights] for layer in layers]
    with recording_attention(vit) as records:
        assert all("_attend" not in vars(layer) for layer in layers)  # nothing replaced
        vit(IMAGES, training=False)
    assert [path for path, _ in records] == ["encoder_0/self_attention", "encoder_1/self_attention"]
    vit(IMAGES, training=False)  # after the block: nothing more recorded
    assert len(records) == 2
    for layer, config, before in zip(layers, configs, weights):
        assert layer.get_config() == config
        for weight, value in zip(layer.weights, before):
            np.testing.assert_array_equal(to_numpy(weight), value)


def reference_scores(layer, query, key, mask):
    """softmax(Q K^T / sqrt(key_dim) + mask) per head, from the layer's weights, in NumPy."""
    weights = {"/".join(w.path.split("/")[-2:]): to_numpy(w) for w in layer.weights}
    q = np.einsum("btd,dnh->btnh", query, weights["query/kernel"]) + weights["query/bias"]
    k = np.einsum("btd,dnh->btnh", key, weights["key/kernel"]) + weights["key/bias"]
    k = np.repeat(k, layer.num_heads // layer.num_key_value_heads, axis=2)  # grouped-query heads
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(layer.key_dim)
    return softmax(np.where(mask[:, None], logits, -np.inf))


@pytest.mark.parametrize("num_key_value_heads", [None, 1])
@pytest.mark.parametrize("implementation", ["explicit", "fused"])
def test_record_scores_equal_a_numpy_softmax_and_change_nothing(num_key_value_heads, implementation):
    rng = np.random.default_rng(3)
    layer = MultiHeadAttention(
        num_heads=2,
        key_dim=4,
        num_key_value_heads=num_key_value_heads,
        attention_implementation=implementation,
    )
    query = rng.normal(size=(2, 3, 8)).astype("float32")
    memory = rng.normal(size=(2, 5, 8)).astype("float32")
    padding = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer(query, memory, padding_mask=padding)  # build
    randomize_weights(layer, seed=4, scale=0.5)
    config = layer.get_config()
    expected_output = to_numpy(layer(query, memory, padding_mask=padding))

    with layer.record_scores() as scores:
        output = to_numpy(layer(query, memory, padding_mask=padding))
        assert len(scores) == 1
        layer(query, memory, padding_mask=padding)
    assert len(scores) == 2  # one entry per call
    np.testing.assert_allclose(output, expected_output, atol=1e-6)
    assert layer.get_config() == config
    recorded = to_numpy(scores[0])
    assert recorded.shape == (2, 2, 3, 5)
    expected = reference_scores(layer, query, memory, padding[:, None, :])
    np.testing.assert_allclose(recorded, expected, atol=1e-6)
    np.testing.assert_allclose(recorded.sum(-1), 1.0, atol=1e-6)
    assert np.abs(recorded[0][..., ~padding[0]]).max() == 0.0  # padded keys get exactly 0

    layer(query, memory, padding_mask=padding)
    assert len(scores) == 2  # closed: later calls record nothing


def test_record_scores_with_a_causal_mask_and_explicit_scores_agree():
    rng = np.random.default_rng(5)
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    x = rng.normal(size=(1, 4, 8)).astype("float32")
    layer(x)
    randomize_weights(layer, seed=6, scale=0.5)
    with layer.record_scores() as scores:
        _, returned = layer(x, use_causal_mask=True, return_attention_scores=True)
    causal = np.tril(np.ones((1, 4, 4), bool))
    np.testing.assert_allclose(to_numpy(scores[0]), to_numpy(returned), atol=0)
    expected = reference_scores(layer, x, x, causal)
    np.testing.assert_allclose(to_numpy(scores[0]), expected, atol=1e-6)
    assert np.abs(to_numpy(scores[0])[..., ~causal[0]]).max() == 0.0  # future keys get exactly 0


def test_record_scores_refuses_a_second_open_block():
    layer = MultiHeadAttention(num_heads=1, key_dim=2)
    with layer.record_scores():
        with pytest.raises(RuntimeError, match="already recording"):
            with layer.record_scores():
                pass
    with layer.record_scores() as scores:  # the first block closed cleanly
        layer(np.zeros((1, 2, 2), "float32"))
    assert len(scores) == 1
