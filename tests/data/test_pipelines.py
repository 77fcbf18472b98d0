"""tf.data pipelines: text batches (tokenized once, token dropout) and image batches."""

import numpy as np
import pytest

from zoo.data import ImageDataset, PairDataset, TextDataset
from zoo.data.pipelines import image_batches, lm_batches, pair_batches, text_batches
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


def pair_dataset(count=100, seed=0):
    rng = np.random.default_rng(seed)
    letters = "abcdefgh"
    sources = [" ".join(rng.choice(list(letters), size=rng.integers(1, 30))) for _ in range(count)]
    targets = [" ".join(rng.choice(list(letters), size=rng.integers(1, 12))) for _ in range(count)]
    return PairDataset(sources, targets, "toy-pairs")


@pytest.mark.parametrize("shuffle", [False, True])
def test_pair_batches_hold_every_pair_once_shifted_and_bucketed(shuffle):
    source = TextPreprocessor(VOCABULARY, sequence_length=24)
    target = TextPreprocessor(VOCABULARY, sequence_length=11)  # 10 decoder positions
    dataset = pair_dataset()
    packed_source = source(dataset.sources)["token_ids"].numpy()
    packed_target = target(dataset.targets)["token_ids"].numpy()
    batches = pair_batches(dataset, source, target, 16, shuffle=shuffle, seed=1)
    seen = []
    count = 0
    for inputs, labels, weights in batches:
        count += 1
        encoder = inputs["encoder_token_ids"].numpy()
        decoder = inputs["decoder_token_ids"].numpy()
        labels, weights = labels.numpy(), weights.numpy()
        assert encoder.shape[0] <= 16 and encoder.shape[1] <= 24 and decoder.shape[1] <= 10
        np.testing.assert_array_equal(inputs["encoder_padding_mask"].numpy(), (encoder != 0).astype("int32"))
        np.testing.assert_array_equal(weights, (labels != 0).astype("float32"))
        for row in range(encoder.shape[0]):
            # Find the pair by its source; the decoder reads the target without its last
            # token and the labels are the target without its first ([CLS]).
            index = next(
                i
                for i in range(len(dataset))
                if (packed_source[i, : encoder.shape[1]] == encoder[row]).all()
                and i not in seen
                and (packed_target[i, : decoder.shape[1]] == decoder[row]).all()
            )
            seen.append(index)
            width = decoder.shape[1]
            np.testing.assert_array_equal(labels[row], packed_target[index, 1 : width + 1])
            assert (packed_source[index, encoder.shape[1] :] == 0).all()  # nothing cut off by bucketing
    assert sorted(seen) == list(range(len(dataset)))
    assert count == int(batches.cardinality())  # the declared number of batches is exact
    widths = {inputs["encoder_token_ids"].shape[1] for inputs, _, _ in batches}
    assert len(widths) > 1  # short batches are not padded to the longest example


def test_pair_batches_bad_batch_size():
    source = TextPreprocessor(VOCABULARY, sequence_length=8)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        pair_batches(pair_dataset(4), source, source, 0)


def test_lm_batches_predict_every_stream_token_once_from_bos_and_its_prefix():
    stream = np.arange(100, 100 + 23)  # 23 tokens, windows of 4 -> 5 windows, 3 tokens dropped
    batches = list(lm_batches(stream, 5, 2, bos_token_id=2))
    inputs = np.concatenate([b[0]["token_ids"].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    np.testing.assert_array_equal(labels.reshape(-1), stream[:20])
    np.testing.assert_array_equal(inputs[:, 0], [2] * 5)
    np.testing.assert_array_equal(inputs[:, 1:], labels[:, :-1])  # shifted by one inside the window
    shuffled = np.concatenate([b[1].numpy() for b in lm_batches(stream, 5, 2, bos_token_id=2, shuffle=True, seed=1)])
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, labels))
    with pytest.raises(ValueError, match="fewer than one window"):
        lm_batches(stream[:3], 5, 2, bos_token_id=2)


def test_lm_batches_random_offset_moves_window_boundaries_each_epoch():
    stream = np.arange(1000, 1000 + 103)  # windows of 9 -> 11 windows, 10 used per epoch
    batches = lm_batches(stream, 10, 4, bos_token_id=2, shuffle=True, seed=0, random_offset=True)
    assert int(batches.cardinality()) == 3
    starts = set()
    for _ in range(6):
        epoch = list(batches)  # one pass; a second would reshuffle and draw a new offset
        labels = np.concatenate([b[1].numpy() for b in epoch])
        inputs = np.concatenate([b[0]["token_ids"].numpy() for b in epoch])
        assert labels.shape == (10, 9)
        rows = sorted(map(tuple, labels))
        # Consecutive windows of the stream, from one offset inside the first window.
        offset = rows[0][0] - 1000
        assert 0 <= offset < 9
        np.testing.assert_array_equal(np.array(rows).reshape(-1), stream[offset : offset + 90])
        np.testing.assert_array_equal(inputs[:, 0], 2)
        np.testing.assert_array_equal(inputs[:, 1:], labels[:, :-1])
        starts.add(offset)
    assert len(starts) > 1  # the offset is drawn again for each pass
