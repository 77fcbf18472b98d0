"""tf.data pipelines: text batches (tokenized once, token dropout) and image batches."""

import numpy as np
import pytest

from zoo.data import ImageDataset, TextDataset
from zoo.data.pipelines import image_batches, text_batches
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "a b c d e f g h".split()


def text_dataset(count=64):
    texts = [" ".join("abcdefgh"[(i + j) % 8] for j in range(6)) for i in range(count)]
    return TextDataset(texts, np.arange(count, dtype=np.int64) % 2, ["neg", "pos"], "toy")


def test_text_batches_match_the_preprocessor():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=10)
    dataset = text_dataset(8)
    features, labels = next(iter(text_batches(dataset, preprocessor, 8)))
    np.testing.assert_array_equal(features["token_ids"].numpy(), preprocessor(dataset.texts)["token_ids"].numpy())
    np.testing.assert_array_equal(labels.numpy(), dataset.labels)


def test_token_dropout_replaces_only_word_pieces_at_about_the_rate():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=10)
    dataset = text_dataset(256)
    clean = preprocessor(dataset.texts)["token_ids"].numpy()
    batches = list(text_batches(dataset, preprocessor, 256, token_dropout=0.25, seed=3))
    dropped = batches[0][0]["token_ids"].numpy()
    unk = VOCABULARY.index("[UNK]")
    changed = dropped != clean
    assert (dropped[changed] == unk).all()
    # [CLS], [SEP] and padding never change.
    special = np.isin(clean, [VOCABULARY.index(t) for t in ("[PAD]", "[CLS]", "[SEP]")])
    assert not changed[special].any()
    rate = changed.sum() / (~special).sum()
    assert 0.2 < rate < 0.3
    # A fresh draw each epoch, same draws for the same seed.
    again = list(text_batches(dataset, preprocessor, 256, token_dropout=0.25, seed=3))[0][0]["token_ids"].numpy()
    np.testing.assert_array_equal(again, dropped)


def test_bad_pipeline_arguments():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=10)
    with pytest.raises(ValueError, match="token_dropout must be in"):
        text_batches(text_dataset(4), preprocessor, 2, token_dropout=1.0)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        text_batches(text_dataset(4), preprocessor, 0)


def test_image_batches_one_hot_and_float():
    images = np.arange(4 * 2 * 2 * 1, dtype=np.uint8).reshape(4, 2, 2, 1)
    dataset = ImageDataset(images, np.array([0, 1, 2, 1], np.int64), ["a", "b", "c"], "toy")
    features, labels = next(iter(image_batches(dataset, 4, num_classes=3)))
    assert features.dtype.name == "float32"
    np.testing.assert_array_equal(features.numpy(), images.astype("float32"))
    np.testing.assert_array_equal(labels.numpy(), np.eye(3)[[0, 1, 2, 1]])
