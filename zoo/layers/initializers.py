"""Initializer helper shared by the layers."""

import keras


def clone_initializer(initializer):
    """A fresh copy of `initializer`, for one weight.

    Keras 3 draws an unseeded initializer's seed once, when the instance is
    made, so one instance used for several weights gives them identical
    values (query, key and value kernels started equal before this). A copy
    made from the config draws its own seed; a seeded initializer stays
    seeded.
    """
    if not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    return initializer.__class__.from_config(initializer.get_config())
