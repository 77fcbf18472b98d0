"""LSTM and CNN baselines: shapes, padding invariance, NumPy references, round trips and exports."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import to_numpy
from zoo.export import export_saved_model, export_tflite, run_tflite
from zoo.models import CNNClassifier, CNNImageClassifier, LSTMClassifier
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "a the film is witty gorgeous dull plot mess , ! .".split()
TEXTS = [
    "a gorgeous, witty film",
    "the plot is a mess",
    "dull film !",
    "witty",
    "a dull , dull plot mess .",
    "gorgeous",
    "the film is a gorgeous mess",
]  # 7 texts, some shorter than the widest kernel
IMAGES = np.random.default_rng(0).integers(0, 256, size=(7, 8, 8, 1), dtype=np.uint8)
CLASS_NAMES = ["negative", "positive"]
SEQUENCE_LENGTH = 16  # the tiny presets' 32, halved: unrolled LSTMs trace and convert faster
TEXT_BUILDERS = {
    "lstm": lambda **kw: LSTMClassifier.from_preset("tiny", **{**TEXT_OPTIONS, **kw}),
    "bilstm": lambda **kw: LSTMClassifier.from_preset("tiny", **{**TEXT_OPTIONS, "bidirectional": True, **kw}),
    "cnn": lambda **kw: CNNClassifier.from_preset("tiny", **{**TEXT_OPTIONS, **kw}),
}
TEXT_OPTIONS = dict(vocabulary=VOCABULARY, class_names=CLASS_NAMES, sequence_length=SEQUENCE_LENGTH)


def ids_of(model, texts):
    return {name: value.numpy() for name, value in model.preprocessor(texts).items()}


def spread(model, seed=0):
    """`model` with random weights of scale 0.5, so its probabilities are not all near-uniform ties."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def text_models():
    return {kind: spread(build()) for kind, build in TEXT_BUILDERS.items()}


@pytest.fixture(scope="module")
def image_model():
    model = CNNImageClassifier.from_preset("tiny", class_names=list("abcdefghij"))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.fit(IMAGES, np.arange(7), epochs=3, verbose=0)  # trained batch-norm statistics, confident outputs
    return model


# === Shapes, round trips ===


@pytest.mark.parametrize("kind", sorted(TEXT_BUILDERS))
def test_text_outputs_and_classify(text_models, kind):
    model = text_models[kind]
    assert model.vocabulary_size == len(VOCABULARY)
    assert model.sequence_length == SEQUENCE_LENGTH == model.preprocessor.sequence_length
    assert to_numpy(model(ids_of(model, TEXTS))).shape == (7, 2)
    result = model.classify(TEXTS)
    assert result["probabilities"].shape == (7, 2)
    np.testing.assert_allclose(result["probabilities"].sum(-1), 1.0, atol=1e-5)
    assert result["labels"] == [CLASS_NAMES[i] for i in result["class_ids"]]
    np.testing.assert_allclose(model.predict(TEXTS, verbose=0), to_numpy(model(ids_of(model, TEXTS))), atol=1e-5)


def test_image_outputs_and_classify(image_model):
    assert to_numpy(image_model(IMAGES)).shape == (7, 10)
    result = image_model.classify(IMAGES)
    assert result["probabilities"].shape == (7, 10)
    assert result["labels"] == [image_model.class_names[i] for i in result["class_ids"]]
    # uint8 and float 0..255 give the same logits: the model rescales pixels itself.
    np.testing.assert_allclose(
        to_numpy(image_model(IMAGES)), to_numpy(image_model(IMAGES.astype("float32"))), atol=1e-6
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: LSTMClassifier(30, 3, 12, hidden_dim=4, lstm_units=5, num_layers=2, bidirectional=True, pooling="max"),
        lambda: LSTMClassifier(30, 3, 12, hidden_dim=4, lstm_units=5, pooling="mean", class_names=["x", "y", "z"]),
        lambda: CNNClassifier(30, 3, 12, hidden_dim=4, filters=3, kernel_sizes=(2, 5), dropout=0.1),
    ],
    ids=["bilstm_2_layers_max", "lstm_mean", "cnn"],
)
def test_get_config_round_trip(build):
    model = build()
    inputs = {"token_ids": np.arange(24, dtype="int32").reshape(2, 12), "padding_mask": np.ones((2, 12), "int32")}
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.get_config() == model.get_config()
    assert to_numpy(model(inputs)).shape == (2, 3)
    np.testing.assert_allclose(to_numpy(clone(inputs)), to_numpy(model(inputs)), atol=1e-6)


@pytest.mark.parametrize("kind", sorted(TEXT_BUILDERS))
def test_text_keras_round_trip_keeps_preprocessor(text_models, kind, tmp_path):
    model = text_models[kind]
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and isinstance(loaded.preprocessor, TextPreprocessor)
    assert loaded.preprocessor.vocabulary == VOCABULARY
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0), atol=1e-6)
    assert loaded.classify(TEXTS)["labels"] == model.classify(TEXTS)["labels"]


def test_image_keras_round_trip(image_model, tmp_path):
    image_model.save(tmp_path / "cnn.keras")
    loaded = keras.saving.load_model(tmp_path / "cnn.keras")
    assert isinstance(loaded, CNNImageClassifier) and loaded.get_config() == image_model.get_config()
    clone = CNNImageClassifier.from_config(image_model.get_config())
    clone.set_weights(image_model.get_weights())
    for other in (loaded, clone):
        np.testing.assert_allclose(other.predict(IMAGES, verbose=0), image_model.predict(IMAGES, verbose=0), atol=1e-5)


# === Padding invariance ===


@pytest.mark.parametrize(
    "kind,options",
    [
        ("lstm", {}),
        ("lstm", {"pooling": "mean"}),
        ("lstm", {"pooling": "max", "num_layers": 2}),
        ("bilstm", {}),
        ("cnn", {}),
    ],
)
def test_padded_positions_do_not_change_the_logits(kind, options):
    model = TEXT_BUILDERS[kind](**options)
    inputs = ids_of(model, ["witty", "the plot is a mess", "a gorgeous , witty film"])  # "witty": 3 < kernel 4, 5
    changed = inputs["token_ids"].copy()
    changed[inputs["padding_mask"] == 0] = (
        np.arange(changed.size).reshape(changed.shape)[inputs["padding_mask"] == 0] % (len(VOCABULARY) - 4) + 4
    )
    expected = to_numpy(model(inputs))
    actual = to_numpy(model({"token_ids": changed, "padding_mask": inputs["padding_mask"]}))
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    # Without the mask the same garbage does change them: the test can fail.
    unmasked = {"token_ids": changed, "padding_mask": np.ones_like(changed)}
    assert np.abs(to_numpy(model(unmasked)) - expected).max() > 1e-4


# === Numerics against independent NumPy references ===


def numpy_same_conv(x, kernel, bias):
    """`Conv1D(padding="same")` of `x` `(T, E)` with `kernel` `(k, E, F)`: TF pads (k-1)//2 left, the rest right."""
    size = kernel.shape[0]
    left = (size - 1) // 2
    padded = np.pad(x, ((left, size - 1 - left), (0, 0)))
    return np.stack([sum(padded[t + j] @ kernel[j] for j in range(size)) + bias for t in range(len(x))])


def test_cnn_classifier_matches_numpy_reference():
    model = CNNClassifier(6, 2, 5, hidden_dim=2, filters=2, kernel_sizes=(1, 2), dropout=0.0)
    rng = np.random.default_rng(3)
    table = np.abs(rng.normal(size=(6, 2))).astype("float32")
    kernels = {1: -np.abs(rng.normal(size=(1, 2, 2))), 2: -np.abs(rng.normal(size=(2, 2, 2)))}
    biases = {1: np.array([0.9, 0.2]), 2: np.array([1.5, 0.3])}  # a window of zeros gives relu(bias) > 0
    dense, dense_bias = rng.normal(size=(4, 2)), np.array([0.1, -0.2])
    model.get_layer("token_embedding").set_weights([table])
    for size in (1, 2):
        model.get_layer(f"conv_{size}").set_weights([kernels[size].astype("float32"), biases[size].astype("float32")])
    model.get_layer("logits").set_weights([dense.astype("float32"), dense_bias.astype("float32")])

    token_ids = np.array([[3, 5, 1, 4, 2], [2, 2, 2, 2, 2]], "int32")
    padding_mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], "int32")
    expected, unmasked = [], []
    for ids, mask in zip(token_ids, padding_mask):
        x = table[ids] * mask[:, None]  # padded positions are zeros
        features = [np.maximum(numpy_same_conv(x, kernels[size], biases[size]), 0) for size in (1, 2)]  # (T, F)
        expected.append(np.concatenate([f[mask == 1].max(0) for f in features]) @ dense + dense_bias)
        unmasked.append(np.concatenate([f.max(0) for f in features]) @ dense + dense_bias)
    actual = to_numpy(model({"token_ids": token_ids, "padding_mask": padding_mask}))
    np.testing.assert_allclose(actual, np.array(expected), rtol=1e-5, atol=1e-5)
    # A plain max over time would have let row 0's padded positions win.
    assert np.abs(np.array(unmasked)[0] - np.array(expected)[0]).max() > 0.1


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm_final_state(x, kernel, recurrent_kernel, bias):
    """The LSTM equations over `x` `(T, E)`, gates in Keras order i, f, c, o; returns the last `h`."""
    units = recurrent_kernel.shape[0]
    h, c = np.zeros(units), np.zeros(units)
    for x_t in x:
        z = x_t @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (z[k * units : (k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    return h


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_classifier_matches_numpy_reference(bidirectional):
    model = LSTMClassifier(7, 3, 6, hidden_dim=3, lstm_units=4, bidirectional=bidirectional)
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(scale=0.7, size=w.shape).astype("float32") for w in model.get_weights()])
    layer = model.get_layer("bidirectional_0" if bidirectional else "lstm_0")
    cells = [layer.forward_layer.cell, layer.backward_layer.cell] if bidirectional else [layer.cell]
    weights = [
        [to_numpy(w).astype("float64") for w in (cell.kernel, cell.recurrent_kernel, cell.bias)] for cell in cells
    ]
    table = to_numpy(model.get_layer("token_embedding").embeddings).astype("float64")
    dense, dense_bias = (to_numpy(w).astype("float64") for w in model.get_layer("logits").weights)

    token_ids = np.array([[2, 6, 1, 4, 5, 3]], "int32")  # the last two are padding
    padding_mask = np.array([[1, 1, 1, 1, 0, 0]], "int32")
    x = table[token_ids[0, :4]]
    states = [numpy_lstm_final_state(x, *weights[0])]
    if bidirectional:
        states.append(numpy_lstm_final_state(x[::-1], *weights[1]))  # backward: last real token to the first
    expected = np.concatenate(states) @ dense + dense_bias
    actual = to_numpy(model({"token_ids": token_ids, "padding_mask": padding_mask}))[0]
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


# === Exports ===


@pytest.mark.parametrize("kind", ["lstm", "cnn"])
def test_text_saved_model_takes_strings_in_batches_of_1_and_7(text_models, kind, tmp_path):
    model = text_models[kind]
    path, report = export_saved_model(model, tmp_path / kind)
    assert report.max_abs_diff["probabilities"] <= 1e-5
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    for batch in (TEXTS[:1], TEXTS):
        outputs = serve(text=tf.constant(batch))
        expected = tf.nn.softmax(model(model.preprocessor(batch))).numpy()
        np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
        assert [label.decode() for label in outputs["label"].numpy()] == [CLASS_NAMES[i] for i in expected.argmax(-1)]


@pytest.mark.parametrize("kind,variant", [("lstm", "text"), ("bilstm", "token_ids"), ("cnn", "text")])
def test_float_tflite_matches_keras(text_models, kind, variant, tmp_path):
    model = text_models[kind]
    path, report = export_tflite(model, tmp_path / f"{kind}.tflite", variant=variant)
    assert report.max_abs_diff["probabilities"] <= 1e-4 and report.top1_agreement == 1.0
    assert report.batch_sizes[-1] == 1
    inputs = {"text": TEXTS} if variant == "text" else ids_of(model, TEXTS)
    probabilities = run_tflite(path.read_bytes(), inputs)["probabilities"]
    np.testing.assert_allclose(probabilities, tf.nn.softmax(model(model.preprocessor(TEXTS))).numpy(), atol=1e-4)


def test_image_saved_model_takes_uint8_batches_of_1_and_7(image_model, tmp_path):
    path, report = export_saved_model(image_model, tmp_path / "cnn")
    assert report.max_abs_diff["probabilities"] <= 1e-5
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    for batch in (IMAGES[:1], IMAGES):
        outputs = serve(images=tf.constant(batch))
        expected = tf.nn.softmax(image_model(batch.astype("float32"))).numpy()
        np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)


def test_image_tflite_float32_and_int8(image_model, tmp_path):
    path, report = export_tflite(image_model, tmp_path / "cnn.tflite")
    assert report.max_abs_diff["probabilities"] <= 1e-4 and report.top1_agreement == 1.0
    calibration = np.random.default_rng(1).integers(0, 256, size=(32, 8, 8, 1), dtype=np.uint8)
    path, report = export_tflite(
        image_model, tmp_path / "cnn_int8.tflite", quantize="int8", representative_data={"images": calibration}
    )
    assert report.max_abs_diff["probabilities"] <= 0.2  # the int8 tolerance of export_tflite
    assert report.top1_agreement == 1.0
    probabilities = run_tflite(path.read_bytes(), {"images": IMAGES})["probabilities"]
    assert probabilities.shape == (7, 10)
    expected = tf.nn.softmax(image_model(IMAGES.astype("float32"))).numpy()
    np.testing.assert_array_equal(probabilities.argmax(-1), expected.argmax(-1))  # the same top-1 class
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=0.05)


# === Errors ===


def test_bad_inputs_get_clear_errors(text_models, image_model):
    with pytest.raises(ValueError, match=r"expected images of shape \(batch, 8, 8, 1\); received shape \(2, 9, 9, 1\)"):
        image_model.classify(np.zeros((2, 9, 9, 1), "uint8"))
    with pytest.raises(ValueError, match=r"received shape \(2, 8, 8, 3\)"):
        image_model.predict(np.zeros((2, 8, 8, 3), "uint8"))
    for model in text_models.values():
        for empty in ([], np.array([], dtype=object)):
            with pytest.raises(ValueError, match="expected at least one text to classify; received an empty batch"):
                model.classify(empty)
        with pytest.raises(ValueError, match="text 1 is empty"):
            model.classify(["fine", "  "])
    with pytest.raises(ValueError, match="has no preprocessor"):
        CNNClassifier.from_preset("tiny", vocabulary_size=20).classify(["some text"])
    with pytest.raises(
        ValueError, match=r"unknown preset 'huge' for lstm_classifier; expected one of \['tiny', 'small'\]"
    ):
        LSTMClassifier.from_preset("huge", vocabulary=VOCABULARY)
    with pytest.raises(ValueError, match=r"unknown preset 'base' for cnn_image_classifier"):
        CNNImageClassifier.from_preset("base")


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: LSTMClassifier.from_preset("tiny", vocabulary_size=20, pooling="first"), "Received: pooling='first'"),
        (lambda: LSTMClassifier.from_preset("tiny", vocabulary_size=20, lstm_units=0), "Received: lstm_units=0"),
        (
            lambda: LSTMClassifier.from_preset("tiny", vocabulary_size=20, units=8),
            r"unknown LSTMClassifier arguments \['units'\]",
        ),
        (lambda: LSTMClassifier.from_preset("tiny"), "needs vocabulary=, preprocessor= or vocabulary_size="),
        (
            lambda: CNNClassifier.from_preset("tiny", vocabulary_size=20, kernel_sizes=(3, 3)),
            r"Received: kernel_sizes=\(3, 3\)",
        ),
        (
            lambda: CNNClassifier.from_preset("tiny", vocabulary_size=20, kernel_sizes=()),
            r"Received: kernel_sizes=\(\)",
        ),
        (lambda: CNNClassifier.from_preset("tiny", vocabulary_size=20, dropout=1.0), "Received: dropout=1.0"),
        (
            lambda: CNNClassifier.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, 16)),
            "the preprocessor does not match the model",
        ),
        (lambda: CNNImageClassifier.from_preset("tiny", filters=(4, 8, 16, 32)), "each side needs at least 16 pixels"),
        (lambda: CNNImageClassifier.from_preset("tiny", image_size=(8, 0)), r"Received: image_size=\(8, 0\)"),
        (lambda: CNNImageClassifier.from_preset("tiny", class_names=["a"]), "class_names has 1 names"),
    ],
)
def test_bad_constructor_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# === Training ===


@pytest.mark.parametrize("kind", ["bilstm", "cnn"])
def test_text_baselines_learn_a_separable_toy_task(kind):
    model = TEXT_BUILDERS[kind](dropout=0.0, sequence_length=8)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    texts = ["witty gorgeous film", "gorgeous witty", "dull mess", "a dull plot mess"] * 4  # <= 6 tokens
    inputs, labels = ids_of(model, texts), np.array([1, 1, 0, 0] * 4)
    model.fit(inputs, labels, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(inputs, labels, verbose=0)[1] == 1.0


def test_image_baseline_training_reduces_loss():
    model = CNNImageClassifier.from_preset("tiny")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    labels = np.arange(7) % 10
    before = model.evaluate(IMAGES, labels, verbose=0)
    model.fit(IMAGES, labels, epochs=5, verbose=0)
    assert model.evaluate(IMAGES, labels, verbose=0) < before
