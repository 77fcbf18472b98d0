"""Losses the task models train with (registered, so saved compiled models reload)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class SparseCategoricalCrossentropyWithSmoothing(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing (Szegedy et al. 2016).

    The target distribution puts `1 - label_smoothing` on the label and
    spreads `label_smoothing` uniformly over all `K` classes, so

        loss = (1 - eps) * -log p[label] + eps * mean_k(-log p[k])

    which equals `keras.losses.CategoricalCrossentropy(label_smoothing=eps)`
    on one-hot labels, without materializing `(B, T, K)` one-hot targets
    (K is a vocabulary in sequence models). Keras' sparse cross-entropy has
    no smoothing option. Padding is excluded by passing `sample_weight`.

    Args:
        label_smoothing: float in [0, 1).
        from_logits: whether predictions are logits (else probabilities).
    """

    def __init__(
        self, label_smoothing=0.1, from_logits=True, name="sparse_categorical_crossentropy_smoothed", **kwargs
    ):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}")
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            log_probs = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        labels = ops.expand_dims(ops.cast(y_true, "int32"), -1)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, labels, axis=-1), -1)
        if not self.label_smoothing:
            return nll
        uniform = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "from_logits": self.from_logits}
