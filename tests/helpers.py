"""Assertion helpers shared by the layer and model tests."""

import keras
import numpy as np


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def count_params(layer):
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def assert_round_trip(layer, tensors, tmp_path, static=None, atol=1e-6):
    """`get_config`/`from_config` and a `.keras` file both reproduce `layer`'s outputs.

    Args:
        layer: a built or unbuilt layer.
        tensors: dict of call arguments that are tensors (NumPy arrays); the
            first one is passed positionally.
        static: dict of non-tensor call arguments (flags).
    """
    static = static or {}
    names = list(tensors)
    first, rest = tensors[names[0]], {k: tensors[k] for k in names[1:]}
    expected = to_numpy(layer(first, **rest, **static))

    clone = layer.__class__.from_config(layer.get_config())
    clone(first, **rest, **static)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(first, **rest, **static)), expected, atol=atol)
    assert clone.get_config() == layer.get_config()

    symbolic = {
        name: keras.Input(shape=value.shape[1:], dtype=str(value.dtype), name=name) for name, value in tensors.items()
    }
    sym_first = symbolic[names[0]]
    sym_rest = {k: symbolic[k] for k in names[1:]}
    model = keras.Model(symbolic, layer(sym_first, **sym_rest, **static))
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(tensors)), expected, atol=atol)
    return loaded


def randomize_weights(layer, seed=0, scale=0.1):
    """`layer` (built) with every weight moved off its initial value, in place.

    Adds `N(0, scale)` noise to each weight, so biases and LayerNorm betas
    are non-zero, LayerNorm gammas are not 1 and the query, key and value
    kernels differ: a NumPy reference then fails when a block drops a bias,
    a beta or a gamma. Seed-generator states are not weights and stay as
    they are.

    Returns:
        `layer`.
    """
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        noise = rng.normal(scale=scale, size=weight.shape)
        weight.assign((to_numpy(weight) + noise).astype(weight.dtype))
    return layer


def softmax(x, axis=-1):
    x = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


# === A tiny translation task both seq2seq export test files train on ===

TRANSLATION_PAIRS = [
    ("the cat sat on a mat .", "el gato se sento en una alfombra ."),
    ("the dog sat .", "el perro se sento ."),
    ("how are you ?", "como estas ?"),
    ("a cat", "una gato"),
    ("the dog", "el perro"),
    ("you", "estas"),
]


def memorizing_translator(model_class, *, learning_rate, epochs, **overrides):
    """A tiny `model_class` (`Seq2SeqLM`, `LSTMSeq2Seq`) trained to memorize `TRANSLATION_PAIRS`.

    Its outputs are real sentences that end with EOS; `overrides` go to
    `from_preset("tiny", ...)`.
    """
    from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

    keras.utils.set_random_seed(0)
    source_vocabulary = list(SPECIAL_TOKENS) + sorted({w for s, _ in TRANSLATION_PAIRS for w in s.split()})
    target_vocabulary = list(SPECIAL_TOKENS) + sorted({w for _, t in TRANSLATION_PAIRS for w in t.split()})
    source = TextPreprocessor(source_vocabulary, sequence_length=12)
    target = TextPreprocessor(target_vocabulary, sequence_length=13)
    model = model_class.from_preset("tiny", source_preprocessor=source, target_preprocessor=target, **overrides)
    packed_source = source([s for s, _ in TRANSLATION_PAIRS])
    packed_target = target([t for _, t in TRANSLATION_PAIRS])
    ids, mask = packed_target["token_ids"].numpy(), packed_target["padding_mask"].numpy()
    inputs = {
        "encoder_token_ids": packed_source["token_ids"].numpy(),
        "encoder_padding_mask": packed_source["padding_mask"].numpy(),
        "decoder_token_ids": ids[:, :-1],
        "decoder_padding_mask": mask[:, :-1],
    }
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )
    model.fit(inputs, ids[:, 1:], sample_weight=mask[:, 1:], epochs=epochs, batch_size=6, verbose=0)
    return model
