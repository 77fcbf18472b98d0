"""tf.data input pipelines built from in-memory datasets."""

import numpy as np
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


def text_batches(dataset, preprocessor, batch_size, *, shuffle=False, seed=0, token_dropout=0.0):
    """Batches of `({"token_ids", "padding_mask"}, labels)` from a `TextDataset`.

    Texts are tokenized once, up front (small int arrays), not every epoch.

    Args:
        dataset: a `zoo.data.TextDataset`.
        preprocessor: a `zoo.tokenizers.TextPreprocessor`.
        batch_size: int.
        shuffle: bool, reshuffle every epoch (seeded).
        seed: int, seed of the shuffle and of token dropout.
        token_dropout: float in [0, 1): replace this fraction of the word
            pieces (not `[CLS]`, `[SEP]` or padding) with `[UNK]`, afresh each
            epoch; a regularizer for training data only.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    if not 0.0 <= token_dropout < 1.0:
        raise ValueError(f"token_dropout must be in [0, 1). Received: token_dropout={token_dropout}")
    inputs = {name: value.numpy() for name, value in preprocessor(dataset.texts).items()}
    data = tf.data.Dataset.from_tensor_slices((inputs, dataset.labels))
    if shuffle:
        data = data.shuffle(len(dataset), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    if token_dropout:
        special = tf.constant([preprocessor.pad_id, preprocessor.cls_id, preprocessor.sep_id])
        unk_id = preprocessor.vocabulary.index("[UNK]")
        generator = tf.random.Generator.from_seed(seed)

        def drop(features, labels):
            token_ids = features["token_ids"]
            is_piece = tf.reduce_all(tf.not_equal(token_ids[..., tf.newaxis], special), axis=-1)
            dropped = tf.logical_and(is_piece, generator.uniform(tf.shape(token_ids)) < token_dropout)
            return {**features, "token_ids": tf.where(dropped, unk_id, token_ids)}, labels

        data = data.map(drop)
    return data.prefetch(tf.data.AUTOTUNE)


def pair_batches(dataset, source_preprocessor, target_preprocessor, batch_size, *, shuffle=False, seed=0):
    """Teacher-forcing batches from a `PairDataset`: `(inputs, labels, sample_weight)`.

    The target is packed as `[CLS] ... [SEP]`; the decoder reads it without
    its last token and learns to predict it without its first; padding gets
    weight 0. Texts are tokenized once, up front. Examples are bucketed by
    length (boundaries 8, 16, 24, 32, 48, 64, ...) and each batch is padded
    only to its bucket's length, so short sentences do not pay for the
    longest one (about 2-3x fewer tokens on sentence-level data).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    source = {name: value.numpy() for name, value in source_preprocessor(dataset.sources).items()}
    target = {name: value.numpy() for name, value in target_preprocessor(dataset.targets).items()}
    source_lengths = source["padding_mask"].sum(axis=1)
    target_lengths = target["padding_mask"].sum(axis=1)
    data = tf.data.Dataset.from_tensor_slices(
        {
            "source": tf.RaggedTensor.from_tensor(source["token_ids"], lengths=source_lengths),
            "target": tf.RaggedTensor.from_tensor(target["token_ids"], lengths=target_lengths),
        }
    ).map(lambda example: {name: value for name, value in example.items()})
    if shuffle:
        data = data.shuffle(len(dataset), seed=seed, reshuffle_each_iteration=True)
    longest = max(source_preprocessor.sequence_length, target_preprocessor.sequence_length)
    boundaries = [b for b in (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512) if b < longest] + [longest]
    bucket_boundaries = [b + 1 for b in boundaries]
    data = data.bucket_by_sequence_length(
        lambda example: tf.maximum(tf.shape(example["source"])[0], tf.shape(example["target"])[0]),
        bucket_boundaries=bucket_boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        pad_to_bucket_boundary=True,
    )
    # Bucketing hides the number of batches (Keras then warns at every epoch's end): each
    # bucket yields ceil(examples / batch_size) batches.
    buckets = np.searchsorted(bucket_boundaries, np.maximum(source_lengths, target_lengths), side="right")
    num_batches = int(sum(-(-count // batch_size) for count in np.bincount(buckets) if count))
    data = data.apply(tf.data.experimental.assert_cardinality(num_batches))

    def split(batch):
        # Both sides are padded to the bucket length; neither may exceed its own maximum.
        source_ids = batch["source"][:, : source_preprocessor.sequence_length]  # (B, <= S)
        target_ids = batch["target"][:, : target_preprocessor.sequence_length]  # (B, <= T + 1)
        inputs = {
            "encoder_token_ids": source_ids,
            "encoder_padding_mask": tf.cast(source_ids != source_preprocessor.pad_id, tf.int32),
            "decoder_token_ids": target_ids[:, :-1],
            "decoder_padding_mask": tf.cast(target_ids[:, :-1] != target_preprocessor.pad_id, tf.int32),
        }
        labels = target_ids[:, 1:]
        return inputs, labels, tf.cast(labels != target_preprocessor.pad_id, tf.float32)

    return data.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def lm_batches(token_ids, sequence_length, batch_size, *, bos_token_id, shuffle=False, seed=0, random_offset=False):
    """Next-token batches `(inputs, labels)` from one long token stream.

    The stream is cut into consecutive windows of `sequence_length - 1`
    tokens; each example reads `[BOS]` + a window and learns to predict the
    window (so every token of the stream is a label exactly once per epoch,
    the first of each window predicted from `[BOS]` alone). A last, shorter
    window is dropped.

    Args:
        token_ids: 1-D int array, the tokenized corpus.
        sequence_length: int >= 2, model positions per example.
        batch_size: int.
        bos_token_id: int.
        shuffle, seed: shuffle the windows each epoch.
        random_offset: start the windows at a random offset in
            `[0, sequence_length - 1)` drawn anew each epoch (each pass over
            the dataset), so window boundaries move between epochs, as
            nanoGPT's random crops do: cheap augmentation against
            overfitting a small corpus. One window fewer is used per epoch
            so every epoch has the same number of batches.

    Returns:
        A `tf.data.Dataset` of `({"token_ids", "padding_mask"}, labels)`,
        int32 `(B, sequence_length)`.
    """
    if sequence_length < 2 or batch_size <= 0:
        raise ValueError(f"need sequence_length >= 2 and batch_size > 0; received {sequence_length}, {batch_size}")
    token_ids = np.asarray(token_ids, "int32").reshape(-1)
    window = sequence_length - 1
    count = len(token_ids) // window
    if count == 0:
        raise ValueError(f"the stream has {len(token_ids)} tokens; fewer than one window of {window}")
    if random_offset and count >= 2:
        data = _offset_windows(token_ids, window, count - 1, bos_token_id, seed)
        if shuffle:
            data = data.shuffle(count - 1, seed=seed, reshuffle_each_iteration=True)
        return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    windows = token_ids[: count * window].reshape(count, window)
    inputs = np.concatenate([np.full((count, 1), bos_token_id, "int32"), windows[:, :-1]], axis=1)
    data = tf.data.Dataset.from_tensor_slices(({"token_ids": inputs, "padding_mask": np.ones_like(inputs)}, windows))
    if shuffle:
        data = data.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _offset_windows(token_ids, window, count, bos_token_id, seed):
    """`count` consecutive windows of the stream from an offset drawn per iteration."""
    stream = tf.constant(token_ids)

    def windows_from(offset):
        windows = tf.reshape(stream[offset : offset + count * window], [count, window])
        inputs = tf.concat([tf.fill([count, 1], tf.constant(bos_token_id, tf.int32)), windows[:, :-1]], axis=1)
        return tf.data.Dataset.from_tensor_slices(
            ({"token_ids": inputs, "padding_mask": tf.ones_like(inputs)}, windows)
        )

    offsets = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    data = offsets.map(lambda r: tf.cast(r % window, tf.int32)).flat_map(windows_from)
    return data.apply(tf.data.experimental.assert_cardinality(count))
