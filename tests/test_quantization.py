"""Task.quantize("int8" | "int4"): outputs near float, .keras files reload quantized and equal, tied tables in float."""

import pathlib

import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.models import CausalLM, ImageClassifier, Seq2SeqLM, TextClassifier, TransformerDecoderBackbone
from zoo.quantization import quantization_mode, quantized_layers

RNG = np.random.default_rng(0)
REFERENCE = pathlib.Path(__file__).parent / "checkpoints" / "reference" / "decoder"


def id_batch(batch=4, width=32, vocabulary_size=50):
    ids = RNG.integers(1, vocabulary_size, (batch, width)).astype("int32")
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}


def relative_error(got, expected):
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("mode, tolerance", [("int8", 0.05), ("int4", 0.5)])
def test_text_classifier_quantizes_every_projection_and_reloads_quantized(tmp_path, mode, tolerance):
    keras.utils.set_random_seed(1)
    model = TextClassifier.from_preset("tiny", vocabulary_size=50, num_classes=3)
    x = id_batch()
    expected = to_numpy(model(x))
    model.quantize(mode)
    layers = quantized_layers(model)
    assert set(layers.values()) == {mode} and quantization_mode(model) == mode
    assert any(path.endswith("token_embedding") for path in layers)
    assert any(path.endswith("self_attention/query") for path in layers) and any("logits" in p for p in layers)
    got = to_numpy(model(x))
    assert 0 < relative_error(got, expected) < tolerance  # changed, but close
    model.save(tmp_path / "q.keras")
    loaded = keras.models.load_model(tmp_path / "q.keras")
    assert quantization_mode(loaded) == mode and quantized_layers(loaded) == layers
    np.testing.assert_array_equal(to_numpy(loaded(x)), got)
    int_variables = [v for v in loaded.weights if "int" in str(v.dtype)]
    assert int_variables, "the reloaded model holds integer weights"


def test_tied_causal_lm_reads_its_quantized_table_in_float_and_generates_the_same_after_reload(tmp_path):
    model = CausalLM.from_checkpoint(REFERENCE / "gpt2_tied", sequence_length=24)
    assert model.backbone.tie_word_embeddings
    ids = RNG.integers(3, 300, (2, 6)).astype("int32")
    mask = np.ones_like(ids)
    inputs = {"token_ids": ids, "padding_mask": mask}
    expected = to_numpy(model(inputs))
    model.quantize("int8")
    got = to_numpy(model(inputs))
    # Raw int8 table values (without their scales) would be ~100x off; dequantized they are within 5%.
    assert relative_error(got, expected) < 0.05
    tokens = to_numpy(model.generate_ids(ids, mask, max_length=16))
    np.testing.assert_array_equal(to_numpy(model.generate_ids(ids, mask, max_length=16, use_cache=False)), tokens)
    model.save(tmp_path / "lm.keras")
    loaded = keras.models.load_model(tmp_path / "lm.keras")
    np.testing.assert_array_equal(to_numpy(loaded.generate_ids(ids, mask, max_length=16)), tokens)


def test_llama_int4_cached_generation_is_token_for_token_equal_after_reload(tmp_path):
    model = CausalLM.from_checkpoint(REFERENCE / "llama_gqa_llama3", sequence_length=24)
    ids = RNG.integers(3, 300, (2, 5)).astype("int32")
    mask = np.ones_like(ids)
    model.quantize("int4")
    tokens = to_numpy(model.generate_ids(ids, mask, max_length=20))
    model.save(tmp_path / "lm.keras")
    loaded = keras.models.load_model(tmp_path / "lm.keras")
    np.testing.assert_array_equal(to_numpy(loaded.generate_ids(ids, mask, max_length=20)), tokens)


def test_seq2seq_and_image_classifier_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    model = Seq2SeqLM.from_preset("tiny", source_vocabulary_size=40, target_vocabulary_size=40)
    source = RNG.integers(4, 40, (2, 7)).astype("int32")
    model.quantize("int8")
    tokens = to_numpy(model.generate_ids(source, np.ones_like(source), max_length=10))
    model.save(tmp_path / "s2s.keras")
    loaded = keras.models.load_model(tmp_path / "s2s.keras")
    np.testing.assert_array_equal(to_numpy(loaded.generate_ids(source, np.ones_like(source), max_length=10)), tokens)

    vit = ImageClassifier.from_preset("tiny", num_classes=3)
    images = RNG.integers(0, 256, (3, 8, 8, 1)).astype("float32")
    expected = to_numpy(vit(images))
    vit.quantize("int8")
    assert relative_error(to_numpy(vit(images)), expected) < 0.05
    vit.save(tmp_path / "vit.keras")
    np.testing.assert_array_equal(
        to_numpy(keras.models.load_model(tmp_path / "vit.keras")(images)), to_numpy(vit(images))
    )


def test_clear_errors():
    keras.utils.set_random_seed(4)
    model = TextClassifier.from_preset("tiny", vocabulary_size=50, num_classes=2)
    with pytest.raises(ValueError, match="int2"):
        model.quantize("int2")
    with pytest.raises(ValueError, match=r"quantize mode must be one of \('int8', 'int4'\)"):
        model.quantize("float8")
    with pytest.raises(ValueError, match="takes a mode only"):
        model.quantize("int8", filters="query")
    model.quantize("int8")
    with pytest.raises(ValueError, match="already quantized \\(int8\\)"):
        model.quantize("int4")
    backbone = TransformerDecoderBackbone.from_preset("tiny", vocabulary_size=40)
    lm = CausalLM(backbone=backbone)
    lm.enable_lora(rank=2, targets=("query",))
    with pytest.raises(ValueError, match=r"has LoRA adapters; call merge_lora\(\) before quantize"):
        lm.quantize("int8")
