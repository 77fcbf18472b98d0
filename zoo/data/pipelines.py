"""tf.data input pipelines built from in-memory datasets."""

import tensorflow as tf


def image_batches(dataset, batch_size, *, shuffle=False, seed=0, augment=None, num_classes=None):
    """Batches of `(float32 raw-pixel images, labels)` from an `ImageDataset`.

    Args:
        dataset: a `zoo.data.ImageDataset`.
        batch_size: int.
        shuffle: bool, reshuffle every epoch (seeded).
        seed: int, shuffle seed.
        augment: optional callable applied to each float image batch
            (e.g. `keras.layers.RandomTranslation`), training data only.
        num_classes: if set, labels are one-hot `(B, num_classes)` (needed
            for label smoothing); else integer ids `(B,)`.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    data = tf.data.Dataset.from_tensor_slices((dataset.images, dataset.labels))
    if shuffle:
        data = data.shuffle(len(dataset), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)

    def prepare(images, labels):
        images = tf.cast(images, tf.float32)
        if augment is not None:
            images = augment(images)
        if num_classes is not None:
            labels = tf.one_hot(labels, num_classes)
        return images, labels

    return data.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def text_batches(dataset, preprocessor, batch_size, *, shuffle=False, seed=0):
    """Batches of `({"token_ids", "padding_mask"}, labels)` from a `TextDataset`.

    Texts are tokenized once, up front (small int arrays), not every epoch.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    inputs = {name: value.numpy() for name, value in preprocessor(dataset.texts).items()}
    data = tf.data.Dataset.from_tensor_slices((inputs, dataset.labels))
    if shuffle:
        data = data.shuffle(len(dataset), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
