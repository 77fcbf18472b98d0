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
