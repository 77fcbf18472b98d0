"""Every private Keras API zoo uses, in one place, each behind a function that says why.

Keras has no public equivalent for these; they are pinned to the Keras
version in `tests/test_keras_compat.py`, which exercises each one. When
Keras is upgraded, run that test first and re-check each function below
against the new `keras/src` (the attribute or method it names).

Nothing else in zoo, its recipes, benchmarks or tests should touch an
underscore attribute of a Keras object or import `keras.src`.
"""

# The Keras version these wrappers were checked against (tests/test_keras_compat.py).
CHECKED_KERAS_VERSION = "3.15"


def sublayers(model):
    """Every layer nested in `model` (recursively, `model` itself excluded), in tracking order.

    `Layer._flatten_layers(include_self=False, recursive=True)`: unlike
    `model.layers` it also descends into the sublayers of custom layers
    (the attention inside a `TransformerEncoder`). A Functional model
    tracks its layers in the order they were first called.

    Returns:
        list of `keras.layers.Layer`.
    """
    return list(model._flatten_layers(include_self=False, recursive=True))


def symbolic_build(model, data_batch):
    """Create the compiled loss', metrics' and optimizer's variables before the first step.

    `Model._symbolic_build(data_batch=...)`, what `model.fit` itself calls:
    a distributed custom loop must create these variables in cross-replica
    context (under `strategy.scope()`), not lazily inside `strategy.run`.

    Args:
        model: a compiled `keras.Model`.
        data_batch: a batch's structure, e.g. `dataset.element_spec`.
    """
    model._symbolic_build(data_batch=data_batch)


def accept_string_inputs(layer):
    """Let `layer.__call__` take Python strings and `tf.string` tensors as they are (tokenizers).

    Sets `Layer._convert_input_args = False` (do not convert the first
    argument to a float tensor) and `Layer._allow_non_tensor_positional_args
    = True` (accept a list of `str`), as keras-hub's preprocessing layers
    do. Call it in `__init__`, after `super().__init__`.
    """
    layer._convert_input_args = False
    layer._allow_non_tensor_positional_args = True


def learning_rate_schedule(optimizer):
    """The `LearningRateSchedule` (or float variable) an optimizer was built with.

    `Optimizer._learning_rate`: the public `optimizer.learning_rate`
    evaluates a schedule at the current step instead of returning it.
    """
    return optimizer._learning_rate


# The keras-hub version `keras_hub_byte_pair_pieces` was checked against (tests/test_keras_compat.py).
CHECKED_KERAS_HUB_VERSION = "0.32"


def keras_hub_byte_pair_pieces(vocabulary, merges):
    """keras-hub's byte-level BPE tables and merge loop, without its pre-tokenization.

    `zoo.tokenizers.BytePairPreprocessor` splits text into words exactly as
    the checkpoint's regex does, then needs the rest of BPE, which keras-hub's
    `BytePairTokenizer` has but only behind its own (inexact) splitting:
    its `byte2unicode` / `token_to_id_map` static tables, its
    `_bpe_merge_tf` loop, and `id_to_token_map` / `unicode2byte` to decode.

    Returns:
        A `tf.Module` (so SavedModels track its tables) with `merge(words)`
        (`(W,)` strings -> ragged BPE tokens `(W, None)`), `token_to_id`
        and `detokenize(ragged ids)` -> `(B,)` bytes.
    """
    import tensorflow as tf
    from keras_hub.tokenizers import BytePairTokenizer

    class BytePairPieces(tf.Module):
        def __init__(self):
            super().__init__(name="byte_pair_pieces")
            self.tokenizer = BytePairTokenizer(vocabulary, merges)
            # Its tables as attributes of this module too: keras-hub's layer does not hand all of them to
            # SavedModel tracking (detokenizing signatures failed with "untracked resource").
            tables = ("byte2unicode", "unicode2byte", "token_to_id_map", "id_to_token_map", "merge_ranks")
            self.tables = [getattr(self.tokenizer, name) for name in tables]

        def merge(self, words):
            characters = self.tokenizer.byte2unicode.lookup(tf.strings.bytes_split(words))  # (W, None)
            return self.tokenizer._bpe_merge_tf(characters)

        def token_to_id(self, tokens):
            return self.tokenizer.token_to_id_map.lookup(tokens)

        def detokenize(self, token_ids):
            text = tf.strings.reduce_join(self.tokenizer.id_to_token_map.lookup(token_ids), axis=-1)  # (B,)
            characters = tf.strings.unicode_split(text, "UTF-8")  # the byte characters
            return tf.strings.reduce_join(self.tokenizer.unicode2byte.lookup(characters), axis=-1)

    return BytePairPieces()


def replace_sublayer(parent, attribute, old, new):
    """Make `parent.<attribute>` the layer `new` instead of `old`, in a parent that is already built.

    A built layer locks its tracker (no new state), so plain assignment of a
    new sublayer fails; `Layer._tracker.replace_tracked_value("layers", old,
    new)` swaps the entry of `old` in the parent's tracked layers for `new`
    (its `weights`, `.keras` walking and `sublayers` then see `new`, which
    holds `old` itself where it wraps it), then the attribute is set. How
    `zoo.lora` puts an adapter around a projection and takes it off again.
    """
    parent._tracker.replace_tracked_value("layers", old, new)
    setattr(parent, attribute, new)


def tensorflow_backend_numpy():
    """Keras' TensorFlow backend ops module (`keras.src.backend.tensorflow.numpy`).

    `zoo.export.quantized.tflite_compatible` swaps its `matmul`, `einsum` and
    `squeeze` while a quantized model's TFLite file is traced: Keras' int8
    layers call them there, and there is no public hook.
    """
    from keras.src.backend.tensorflow import numpy as backend_numpy

    return backend_numpy


def default_quantization_config(mode):
    """The config Keras resolves a bare `quantize(mode)` to (`keras.src.quantizers.quantization_config`).

    `Task.quantize` compares what Keras' quantize wrapper passes it with this
    to tell a user's custom config (not supported) from the mode's default.
    """
    from keras.src.quantizers.quantization_config import validate_and_resolve_config

    return validate_and_resolve_config(mode, None)
