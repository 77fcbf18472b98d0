import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.models import TextClassifier, TransformerEncoderBackbone
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "a the film is witty gorgeous dull plot mess , ! .".split()
TEXTS = ["a gorgeous, witty film", "the plot is a mess", "dull film !"]


@pytest.fixture(scope="module")
def model():
    return TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, class_names=["negative", "positive"])


def test_from_preset_builds_preprocessor_and_classifies_strings(model):
    assert model.preprocessor.sequence_length == 32 == model.sequence_length
    assert model.vocabulary_size == len(VOCABULARY)
    result = model.classify(TEXTS)
    assert result["probabilities"].shape == (3, 2)
    assert set(result["labels"]) <= {"negative", "positive"}
    np.testing.assert_allclose(model.predict(TEXTS, verbose=0), model.predict(model.preprocess(TEXTS), verbose=0))


def test_strings_and_token_ids_give_the_same_logits(model):
    inputs = model.preprocessor(TEXTS)
    np.testing.assert_allclose(to_numpy(model(inputs)), model.predict(TEXTS, verbose=0), atol=1e-6)


def test_padding_does_not_change_the_prediction(model):
    # Garbage token ids in padded positions change nothing: attention and pooling ignore them.
    short_inputs = model.preprocessor(["witty film"])
    ids = short_inputs["token_ids"].numpy()
    mask = short_inputs["padding_mask"].numpy()
    changed = ids.copy()
    changed[mask == 0] = VOCABULARY.index("dull")  # garbage in the padded positions
    a = to_numpy(model({"token_ids": ids, "padding_mask": mask}))
    b = to_numpy(model({"token_ids": changed, "padding_mask": mask}))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_keras_round_trip_keeps_preprocessor(model, tmp_path):
    path = tmp_path / "text.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, TextClassifier) and isinstance(loaded.preprocessor, TextPreprocessor)
    assert loaded.preprocessor.vocabulary == VOCABULARY
    np.testing.assert_allclose(loaded.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0), atol=1e-6)


def test_class_token_pooling_variant():
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, pooling="class_token", normalize_first=True)
    logits = model.predict(TEXTS, verbose=0)
    assert logits.shape == (3, 2)
    # The head reads the final hidden state at position 0 ([CLS]) and nothing else.
    inputs = {name: np.asarray(value) for name, value in model.preprocess(TEXTS).items()}
    hidden = to_numpy(keras.Model(model.inputs, model.get_layer("final_norm").output)(inputs))  # (B, T, D)
    head = model.get_layer("logits")
    expected = hidden[:, 0] @ to_numpy(head.kernel) + to_numpy(head.bias)
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    assert np.abs(hidden[:, 1:].mean(1) @ to_numpy(head.kernel) + to_numpy(head.bias) - logits).max() > 1e-3


@pytest.mark.parametrize(
    "texts,message",
    [
        (["fine", "   "], "text 1 is empty"),
        (["fine", 3], "text 1 is a int, not a string"),
    ],
)
def test_bad_texts_get_clear_errors(model, texts, message):
    with pytest.raises(ValueError, match=message):
        model.classify(texts)


def test_model_without_preprocessor_needs_token_ids():
    model = TextClassifier.from_preset("tiny", vocabulary_size=50)
    assert model.preprocessor is None
    with pytest.raises(ValueError, match="has no preprocessor"):
        model.classify(["some text"])
    ids = np.zeros((2, 32), "int32")
    assert model.predict({"token_ids": ids, "padding_mask": np.ones_like(ids)}, verbose=0).shape == (2, 2)


def test_bad_construction():
    with pytest.raises(ValueError, match="needs vocabulary=, preprocessor= or vocabulary_size="):
        TextClassifier.from_preset("tiny")
    with pytest.raises(ValueError, match="the preprocessor does not match the model"):
        TextClassifier.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, 16), sequence_length=32)
    with pytest.raises(ValueError, match=r"unknown TextClassifier arguments \['layers'\]"):
        TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, layers=3)


def test_trains_on_a_separable_toy_task():
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    texts = ["witty gorgeous film", "gorgeous witty", "dull mess", "a dull plot mess"] * 8
    labels = np.array([1, 1, 0, 0] * 8)
    inputs = {k: v.numpy() for k, v in model.preprocessor(texts).items()}
    model.fit(inputs, labels, epochs=30, verbose=0)
    assert model.evaluate(inputs, labels, verbose=0)[1] == 1.0


def test_a_fresh_process_loads_the_model_after_import_zoo(model, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "text.keras"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(path)
    code = (
        f"import zoo, keras; m = keras.saving.load_model({str(path)!r}); print(m.classify(['witty film'])['labels'][0])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] in ("negative", "positive")


def test_low_rank_options_train_save_and_export_to_tflite(tmp_path):
    from zoo.export import export_tflite, run_tflite

    model = TextClassifier.from_preset(
        "tiny",
        vocabulary_size=len(VOCABULARY),
        low_rank={
            "*attention/*": 4,
            "*/feedforward/intermediate": 3,
            "embedding/token_embedding": 5,
            "encoder_0/self_attention/value": None,
        },
    )
    weights = {w.path: tuple(w.shape) for w in model.weights}
    assert weights["embedding/token_embedding/embeddings"] == (len(VOCABULARY), 5)
    assert weights["embedding/token_projection/kernel"] == (5, 16)
    assert weights["encoder_0/self_attention/query/u_kernel"] == (16, 4)
    assert weights["encoder_0/self_attention/value/kernel"] == (16, 2, 8)
    assert weights["encoder_0/feedforward/intermediate/u_kernel"] == (16, 3)
    assert weights["encoder_0/feedforward/output/kernel"] == (32, 16)

    rng = np.random.default_rng(0)
    inputs = {
        "token_ids": rng.integers(4, len(VOCABULARY), (8, 32)).astype("int32"),
        "padding_mask": np.ones((8, 32), "int32"),
    }
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    before = {w.path: to_numpy(w).copy() for w in model.trainable_weights}
    model.fit(inputs, np.arange(8) % 2, epochs=1, batch_size=8, verbose=0)  # one step
    moved = [p for p, w in ((w.path, to_numpy(w)) for w in model.trainable_weights) if not np.allclose(w, before[p])]
    assert "encoder_0/self_attention/query/u_kernel" in moved and "embedding/token_projection/kernel" in moved

    path = tmp_path / "low_rank.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(model(inputs)), atol=1e-6)

    tflite_path, report = export_tflite(model, tmp_path / "low_rank.tflite")
    batch = {k: v[:3] for k, v in inputs.items()}
    probabilities = run_tflite(tflite_path.read_bytes(), batch)["probabilities"]
    np.testing.assert_allclose(probabilities, to_numpy(keras.ops.softmax(model(batch))), atol=1e-4)
    assert report.top1_agreement == 1.0


def test_a_classifier_is_its_backbone_plus_a_head_and_its_config_holds_the_backbone():
    backbone = TransformerEncoderBackbone.from_preset("tiny", vocabulary_size=30, num_segments=0)
    model = TextClassifier(backbone, num_classes=3, pooling="class_token", dropout=0.2)
    assert model.backbone is backbone
    # The backbone's layers, in order, then the head (the weight layout of earlier files).
    assert named_layers(model) == [*named_layers(backbone), "head_dropout", "logits"]
    assert (model.vocabulary_size, model.sequence_length, model.num_layers) == (30, 32, 2)
    assert model.dropout == 0.2 and backbone.dropout == 0.0  # the head's own dropout
    config = model.get_config()
    assert config["backbone"]["class_name"] == "TransformerEncoderBackbone"
    assert not set(config) & {"vocabulary_size", "hidden_dim", "low_rank", "normalize_first"}
    clone = TextClassifier.from_config(config)
    clone.set_weights(model.get_weights())
    inputs = {"token_ids": np.full((2, 7), 5, "int32"), "padding_mask": np.ones((2, 7), "int32")}
    np.testing.assert_allclose(to_numpy(clone(inputs)), to_numpy(model(inputs)), atol=1e-6)


def test_the_flat_arguments_of_earlier_versions_describe_the_backbone():
    model = TextClassifier(
        vocabulary_size=30,
        num_classes=2,
        sequence_length=16,
        hidden_dim=8,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        dropout=0.1,
        normalize_first=True,
        layer_norm_epsilon=1e-6,
    )
    backbone = model.backbone
    assert (backbone.hidden_dim, backbone.num_layers, backbone.dropout, model.dropout) == (8, 1, 0.1, 0.1)
    assert backbone.use_final_norm and backbone.use_embedding_norm and backbone.num_segments == 0
    assert model.layer_norm_epsilon == 1e-6 and model.normalize_first
    # The inputs keep their fixed width, as before backbones.
    assert tuple(model.input["token_ids"].shape) == (None, 16)
    assert backbone.fixed_input_length


@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"backbone": "bert"}, "backbone must be a zoo.models.TransformerEncoderBackbone"),
        ({}, "backbone must be a zoo.models.TransformerEncoderBackbone. Received: backbone of type NoneType"),
        ({"hidden_dim": 8}, "TextClassifier needs \\['vocabulary_size', 'sequence_length'\\]"),
        (
            {"backbone": TransformerEncoderBackbone.from_preset("tiny"), "hidden_dim": 8},
            "pass a backbone or its arguments, not both",
        ),
        ({"backbone": TransformerEncoderBackbone.from_preset("tiny")}, "num_segments=0. Received"),
    ],
)
def test_backbone_errors_are_clear(arguments, message):
    with pytest.raises(ValueError, match=message):
        TextClassifier(num_classes=2, **arguments)


def named_layers(model):
    """The names of `model`'s layers other than its inputs."""
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
