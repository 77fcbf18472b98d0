"""LoRA on zoo task models: no change at enable, only A/B (+head) train, adapters round-trip, merge is exact."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import to_numpy
from zoo import lora
from zoo._keras_compat import sublayers
from zoo.layers.lora import LoRAAdapter
from zoo.models import CausalLM, ImageClassifier, Seq2SeqLM, TextClassifier, TransformerDecoderBackbone

RNG = np.random.default_rng(0)


def text_classifier(**overrides):
    keras.utils.set_random_seed(1)
    return TextClassifier.from_preset("tiny", vocabulary_size=50, num_classes=2, **overrides)


def id_batch(batch=6, width=32, vocabulary_size=50, seed=0):
    ids = np.random.default_rng(seed).integers(1, vocabulary_size, (batch, width)).astype("int32")
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}


def as_if_trained(model, seed=0):
    """Give every B random values (B starts at zero), as a few epochs of training would."""
    rng = np.random.default_rng(seed)
    for adapter in lora.lora_state(model).adapters.values():
        adapter.lora_b.assign(rng.normal(0, 0.3, adapter.lora_b.shape).astype("float32"))


def adapters(model):
    return [layer for layer in sublayers(model) if isinstance(layer, LoRAAdapter)]


def test_enable_changes_no_output_and_leaves_only_a_b_and_head_trainable():
    model = text_classifier()
    x = id_batch()
    before = to_numpy(model(x))
    model.enable_lora(rank=4, targets=("query", "value"))
    np.testing.assert_array_equal(to_numpy(model(x)), before)  # B = 0: exactly the base model
    names = sorted(w.path for w in model.trainable_weights)
    layers = range(model.num_layers)
    expected = [f"encoder_{i}/self_attention/{p}/lora_{f}" for i in layers for p in ("query", "value") for f in "ab"]
    assert names == sorted(expected + ["logits/bias", "logits/kernel"])
    d = model.hidden_dim  # query and value: D -> D; A (D, 4) + B (4, D) each; the head D -> 2
    assert lora.trainable_share(model)[0] == model.num_layers * 2 * 4 * (d + d) + d * 2 + 2


def test_enable_without_the_head_trains_the_adapters_alone():
    model = text_classifier()
    model.enable_lora(rank=2, targets=("*/feedforward/*",), train_head=False)
    assert all("/lora_" in w.path and "/feedforward/" in w.path for w in model.trainable_weights)
    assert len(model.trainable_weights) == 2 * 2 * model.num_layers  # intermediate, output


def test_a_few_fit_steps_change_only_a_b_and_the_head_and_lower_the_loss():
    model = text_classifier()
    y = np.arange(32) % 2
    x = id_batch(batch=32, vocabulary_size=25, seed=3)
    x["token_ids"] += 24 * y[:, None]  # class 0 uses tokens 1-24, class 1 tokens 25-48
    model.enable_lora(rank=4, targets=("query", "value", "intermediate"))
    before = {w.path: to_numpy(w).copy() for w in model.weights}
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0]
    trainable = {w.path for w in model.trainable_weights}
    for w in model.weights:
        changed = not np.array_equal(to_numpy(w), before[w.path])
        assert changed == (w.path in trainable), w.path  # every frozen weight unchanged, every trained one moved


def test_keras_file_round_trip_keeps_lora_active(tmp_path):
    model = text_classifier()
    model.enable_lora(rank=3, targets=("query", "value", "token_embedding"), alpha=6)
    as_if_trained(model)
    x = id_batch()
    model.save(tmp_path / "lora.keras")
    loaded = keras.models.load_model(tmp_path / "lora.keras")
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)
    assert loaded.lora_enabled and len(adapters(loaded)) == len(adapters(model))
    assert sorted(w.path for w in loaded.trainable_weights) == sorted(w.path for w in model.trainable_weights)
    for a, b in zip(adapters(loaded), adapters(model)):  # the adapter itself, not a merged kernel
        np.testing.assert_array_equal(to_numpy(a.lora_b), to_numpy(b.lora_b))


def test_adapter_file_loads_onto_a_fresh_base_and_is_small(tmp_path):
    model = text_classifier()
    model.save(tmp_path / "base.keras")  # the base as a user has it (a checkpoint, a preset run)
    model.enable_lora(rank=4, targets=("query", "value"))
    as_if_trained(model)
    x = id_batch()
    path = model.save_lora(tmp_path / "sentiment.lora")
    assert not list(tmp_path.glob(".*tmp"))  # written atomically: no temporary file left
    fresh = keras.models.load_model(tmp_path / "base.keras")
    fresh.load_lora(path)
    np.testing.assert_allclose(to_numpy(fresh(x)), to_numpy(model(x)), atol=1e-6)
    trained = lora.trainable_share(model)[0]
    assert path.stat().st_size < 4 * trained + 4096  # float32 A, B and head + the metadata
    assert path.stat().st_size < (tmp_path / "base.keras").stat().st_size / 4


def test_a_mismatched_base_is_refused(tmp_path):
    model = text_classifier()
    model.enable_lora(rank=4, targets=("query", "value"))
    path = model.save_lora(tmp_path / "a.lora")
    with pytest.raises(ValueError, match="made for another base model: config sha256") as error:
        text_classifier(num_heads=4).load_lora(path)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="adapter for a TextClassifier, not a ImageClassifier"):
        ImageClassifier.from_preset("tiny", num_classes=2).load_lora(path)
    # Same configuration, but the file names a projection the model lacks (an edited file).
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(str(arrays["metadata"]))
    metadata["paths"].append("encoder_7/self_attention/query")
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(ValueError, match="adapts 'encoder_7/self_attention/query', which this model does not have"):
        text_classifier().load_lora(tmp_path / "edited.npz")
    (tmp_path / "junk.lora").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="is not a zoo LoRA adapter file"):
        text_classifier().load_lora(tmp_path / "junk.lora")


def test_merge_equals_unmerged_and_gives_an_ordinary_model(tmp_path):
    model = text_classifier()
    total = len(model.trainable_weights)
    model.enable_lora(rank=4, targets=("query", "key", "value", "attention_output", "intermediate", "output"))
    as_if_trained(model)
    x = id_batch()
    unmerged = to_numpy(model.predict(x, verbose=0))
    model.merge_lora()
    np.testing.assert_allclose(to_numpy(model.predict(x, verbose=0)), unmerged, atol=1e-5)
    assert not adapters(model) and not model.lora_enabled and "lora" not in model.get_config()
    assert len(model.trainable_weights) == total
    model.save(tmp_path / "merged.keras")
    loaded = keras.models.load_model(tmp_path / "merged.keras")
    np.testing.assert_allclose(to_numpy(loaded(x)), unmerged, atol=1e-5)
    assert not adapters(loaded)


def test_lora_on_low_rank_projections_merges_into_a_higher_rank(tmp_path):
    model = text_classifier(low_rank={"*attention/*": 4, "*/feedforward/output": 3})
    model.enable_lora(rank=2, targets=("query", "attention_output", "output"))
    as_if_trained(model)
    x = id_batch()
    unmerged = to_numpy(model(x))
    model.merge_lora()
    np.testing.assert_allclose(to_numpy(model(x)), unmerged, atol=1e-5)
    ranks = {w.path: w.shape for w in model.weights if w.path.endswith("u_kernel")}
    assert ranks["encoder_0/self_attention/query/u_kernel"][1] == 6  # 4 + 2
    assert ranks["encoder_0/self_attention/key/u_kernel"][1] == 4  # not a target
    assert model.low_rank["encoder_0/feedforward/output"] == 5
    model.save(tmp_path / "merged.keras")
    np.testing.assert_allclose(to_numpy(keras.models.load_model(tmp_path / "merged.keras")(x)), unmerged, atol=1e-5)


def test_causal_lm_cached_generation_is_equal_before_and_after_merge():
    keras.utils.set_random_seed(2)
    model = CausalLM.from_preset("tiny", vocabulary_size=40)
    ids = RNG.integers(4, 40, (3, 5)).astype("int32")
    mask = np.ones_like(ids)
    base_logits = to_numpy(model({"token_ids": ids, "padding_mask": mask}))
    model.enable_lora(rank=4, targets=("query", "value", "intermediate", "output", "token_embedding"))
    as_if_trained(model, seed=1)
    logits = to_numpy(model({"token_ids": ids, "padding_mask": mask}))
    assert np.abs(logits - base_logits).max() > 1e-2  # the adapter does something
    lora_tokens = to_numpy(model.generate_ids(ids, mask, max_length=16, use_cache=True))
    np.testing.assert_array_equal(lora_tokens, to_numpy(model.generate_ids(ids, mask, max_length=16, use_cache=False)))
    model.merge_lora()
    np.testing.assert_array_equal(to_numpy(model.generate_ids(ids, mask, max_length=16, use_cache=True)), lora_tokens)


def test_a_tied_token_table_is_refused():
    backbone = TransformerDecoderBackbone.from_preset("tiny", vocabulary_size=40, tie_word_embeddings=True)
    model = CausalLM(backbone=backbone)
    with pytest.raises(ValueError, match="tie_word_embeddings=True"):
        model.enable_lora(rank=2, targets=("token_embedding",))


def test_seq2seq_cross_attention_and_token_tables(tmp_path):
    keras.utils.set_random_seed(3)
    model = Seq2SeqLM.from_preset("tiny", source_vocabulary_size=40, target_vocabulary_size=40)
    model.enable_lora(rank=2, targets=("*cross_attention/*", "query", "token_embedding"))
    paths = list(lora.lora_state(model).adapters)
    assert "decoder_0/cross_attention/key" in paths and "encoder_0/self_attention/query" in paths
    assert {"encoder_embedding/token_embedding", "decoder_embedding/token_embedding"} <= set(paths)
    as_if_trained(model, seed=2)
    source = RNG.integers(4, 40, (2, 7)).astype("int32")
    source_mask = np.ones_like(source)
    tokens = to_numpy(model.generate_ids(source, source_mask, max_length=10))
    model.save(tmp_path / "lora.keras")
    loaded = keras.models.load_model(tmp_path / "lora.keras")
    np.testing.assert_array_equal(to_numpy(loaded.generate_ids(source, source_mask, max_length=10)), tokens)
    model.merge_lora()
    np.testing.assert_array_equal(to_numpy(model.generate_ids(source, source_mask, max_length=10)), tokens)


def test_image_classifier_exports_merged_with_parity_against_the_unmerged_model(tmp_path):
    from zoo.export import export_saved_model

    keras.utils.set_random_seed(4)
    model = ImageClassifier.from_preset("tiny", num_classes=3)
    model.enable_lora(rank=2, targets=("query", "value", "output"))
    as_if_trained(model, seed=3)
    images = RNG.integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    expected = tf.nn.softmax(model(images.astype("float32"))).numpy()
    path, _ = export_saved_model(model, tmp_path / "vit")
    served = tf.saved_model.load(str(path)).signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
    assert model.lora_enabled and len(adapters(model)) == 3 * model.backbone.num_layers  # as before the export
    np.testing.assert_array_equal(tf.nn.softmax(model(images.astype("float32"))).numpy(), expected)


def test_clear_errors():
    model = text_classifier()
    with pytest.raises(ValueError, match="LoRA target 'qkv' matches no projection of TextClassifier; its projections"):
        model.enable_lora(rank=2, targets=("qkv",))
    with pytest.raises(ValueError, match="rank must be a positive integer. Received: rank=0"):
        model.enable_lora(rank=0)
    with pytest.raises(ValueError, match="LoRA is not enabled"):
        model.merge_lora()
    model.enable_lora(rank=2)
    with pytest.raises(ValueError, match="already enabled"):
        model.enable_lora(rank=2)
