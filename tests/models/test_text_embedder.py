import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_saved_model, export_tflite, run_tflite, tflite_variants
from zoo.models import TextEmbedder, TransformerEncoderBackbone
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "a the film is witty gorgeous dull plot mess , ! .".split()
TEXTS = ["a gorgeous, witty film", "the plot is a mess", "dull film !", "film"]


@pytest.fixture(scope="module")
def model():
    return TextEmbedder.from_preset("tiny", vocabulary=VOCABULARY)


def test_embeddings_are_unit_vectors_in_input_order(model):
    vectors = model.embed(TEXTS)
    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # Sorting by length and cutting each batch to its longest text changes nothing.
    full = model.predict(model.preprocess(TEXTS), verbose=0)
    np.testing.assert_allclose(vectors, full, atol=1e-6)
    for text, vector in zip(TEXTS, vectors):
        np.testing.assert_allclose(model.embed([text])[0], vector, atol=1e-6)
    np.testing.assert_allclose(model.embed(TEXTS, batch_size=1), vectors, atol=1e-6)


def test_padding_and_garbage_in_padded_positions_change_nothing(model):
    inputs = {k: v.numpy() for k, v in model.preprocess(["witty film"]).items()}
    garbage = inputs["token_ids"].copy()
    garbage[inputs["padding_mask"] == 0] = VOCABULARY.index("dull")
    a = model.predict(inputs, verbose=0)
    b = model.predict({"token_ids": garbage, "padding_mask": inputs["padding_mask"]}, verbose=0)
    short = {k: v[:, :4] for k, v in inputs.items()}  # [CLS] witty film [SEP]
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, model.predict(short, verbose=0), atol=1e-6)


def test_truncated_dimensions_are_renormalized_prefixes(model):
    full = model.embed(TEXTS)
    small = model.embed(TEXTS, dimensions=4)
    np.testing.assert_allclose(small, full[:, :4] / np.linalg.norm(full[:, :4], axis=1, keepdims=True), atol=1e-6)
    with pytest.raises(ValueError, match=r"dimensions must be an integer in \[1, 16\]"):
        model.embed(TEXTS, dimensions=17)


def test_unnormalized_embeddings_are_the_masked_mean():
    model = TextEmbedder.from_preset("tiny", vocabulary=VOCABULARY, normalize=False)
    inputs = model.preprocess(TEXTS)
    tokens = keras.Model(model.inputs, model.get_layer("encoder_0").output).predict(inputs, verbose=0)
    mask = inputs["padding_mask"].numpy()[..., None]
    np.testing.assert_allclose(model.embed(TEXTS), (tokens * mask).sum(1) / mask.sum(1), atol=1e-5)


def test_bad_inputs_are_named(model):
    with pytest.raises(ValueError, match="text 1 is empty; expected some words to embed"):
        model.embed(["film", "  "])
    with pytest.raises(ValueError, match="text 0 is a int"):
        model.embed([3])
    # An empty batch is refused as TextClassifier.classify([]) refuses it (it returned a (0, D) array).
    for empty in ([], (), np.array([], dtype=str)):
        with pytest.raises(ValueError, match="expected at least one text to embed; received an empty batch"):
            model.embed(empty)
        with pytest.raises(ValueError, match="expected at least one text to embed; received an empty batch"):
            model.predict(empty)
    with pytest.raises(ValueError, match="has no preprocessor"):
        TextEmbedder.from_preset("tiny", vocabulary_size=20).embed(["film"])
    with pytest.raises(ValueError, match="unknown preset 'huge' for text_embedder"):
        TextEmbedder.from_preset("huge", vocabulary_size=20)


def test_keras_round_trip(model, tmp_path):
    model.save(tmp_path / "embedder.keras")
    loaded = keras.saving.load_model(tmp_path / "embedder.keras")
    assert isinstance(loaded, TextEmbedder) and isinstance(loaded.preprocessor, TextPreprocessor)
    np.testing.assert_allclose(loaded.embed(TEXTS), model.embed(TEXTS), atol=1e-6)


def test_string_in_saved_model_and_tflite_match_keras(model, tmp_path):
    path, report = export_saved_model(model, tmp_path / "saved_model")
    served = tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(TEXTS))
    np.testing.assert_allclose(served["embeddings"].numpy(), model.embed(TEXTS), atol=1e-5)
    # Each weight is saved once (tracking the model too used to write every weight twice).
    saved = [shape for _, shape in tf.train.list_variables(str(path / "variables" / "variables"))]
    assert saved.count([len(VOCABULARY), 16]) == 1  # the token table
    assert sum(int(np.prod(shape)) for shape in saved if shape) == model.count_params()  # scalars: counters
    assert tflite_variants(model) == ["text", "token_ids"]
    path, report = export_tflite(model, tmp_path / "model.tflite", variant="text")
    outputs = run_tflite(path.read_bytes(), {"text": np.array(TEXTS, dtype=object)})
    np.testing.assert_allclose(outputs["embeddings"], model.embed(TEXTS), atol=1e-4)


def test_an_embedder_is_its_backbone_plus_pooling_and_takes_any_width():
    backbone = TransformerEncoderBackbone.from_preset("tiny", vocabulary_size=30, num_segments=0)
    model = TextEmbedder(backbone)
    # The backbone's layers, in order, then the head (the weight layout of earlier files).
    assert named_layers(model) == [*named_layers(backbone), "mean_pool", "l2_normalize"]
    assert model.embedding_dim == backbone.hidden_dim == 16
    config = model.get_config()
    assert set(config) == {"name", "trainable", "backbone", "normalize", "preprocessor"}
    # Flat arguments (old files, from_checkpoint) describe a backbone with inputs of any width.
    flat = TextEmbedder(
        vocabulary_size=30,
        sequence_length=32,
        hidden_dim=16,
        num_layers=2,
        num_heads=2,
        intermediate_dim=32,
        dropout=0.1,
    )
    assert flat.backbone.dropout == flat.dropout == 0.1 and flat.layer_norm_epsilon == 1e-12
    assert tuple(flat.input["token_ids"].shape) == (None, None) and not flat.backbone.use_final_norm
    with pytest.raises(ValueError, match="TextEmbedder takes token_ids and padding_mask only"):
        TextEmbedder(TransformerEncoderBackbone.from_preset("tiny"))


def named_layers(model):
    """The names of `model`'s layers other than its inputs."""
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
