"""WordPiece training and the in-graph preprocessor."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor, load_vocabulary, save_vocabulary, train_wordpiece

CORPUS = [
    "a gorgeous, witty film",
    "the film is witty and gorgeous",
    "a witty, witty script",
    "the acting is wooden and the plot is a mess",
    "the plot is gorgeous",
    "Ça a été très bien !",
] * 20
VOCABULARY = list(SPECIAL_TOKENS) + [
    "a",
    "the",
    "film",
    "is",
    "witty",
    "gorgeous",
    "gor",
    "##geous",
    ",",
    "!",
    ".",
    "ca",
    "ete",
    "tres",
    "bien",
]


def ids(vocabulary, *tokens):
    return [vocabulary.index(token) for token in tokens]


def test_training_is_deterministic_and_starts_with_special_tokens():
    first = train_wordpiece(CORPUS, 60)
    assert first == train_wordpiece(CORPUS, 60)
    assert first[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert first[0] == "[PAD]"
    assert {"witty", "gorgeous", "film"} <= set(first)
    assert not any("é" in token or "Ç" in token for token in first)  # normalized before learning


def test_training_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one text"):
        train_wordpiece([], 100)
    with pytest.raises(ValueError, match="larger than the 5 reserved tokens"):
        train_wordpiece(CORPUS, 3)


def test_vocabulary_file_round_trip(tmp_path):
    path = tmp_path / "vocabulary.txt"
    save_vocabulary(VOCABULARY, path)
    assert load_vocabulary(path) == VOCABULARY
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_vocabulary(tmp_path / "missing.txt")


def test_packs_cls_pieces_sep_and_padding():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=8)
    out = preprocessor(["A gorgeous, witty film!", "Ça été"])
    v = VOCABULARY
    expected_first = ids(v, "[CLS]", "a", "gorgeous", ",", "witty", "film", "!", "[SEP]")
    expected_second = ids(v, "[CLS]", "ca", "ete", "[SEP]") + [0, 0, 0, 0]
    np.testing.assert_array_equal(out["token_ids"].numpy(), [expected_first, expected_second])
    np.testing.assert_array_equal(out["padding_mask"].numpy(), [[1] * 8, [1] * 4 + [0] * 4])


def test_truncates_but_keeps_sep_and_handles_odd_inputs():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=5)
    texts = ["the film " * 10_000, "", b"\xff\xfe is \xc3", "zebra"]
    out = preprocessor(texts)["token_ids"].numpy()
    v = VOCABULARY
    assert out[0].tolist() == ids(v, "[CLS]", "the", "film", "the", "[SEP]")
    assert out[1].tolist() == ids(v, "[CLS]", "[SEP]") + [0, 0, 0]
    assert out[2, 0] == v.index("[CLS]") and v.index("is") in out[2]  # invalid UTF-8 does not crash
    assert out[3].tolist() == ids(v, "[CLS]", "[UNK]", "[SEP]") + [0, 0]  # unknown word -> [UNK]


def test_single_string_and_tf_data():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=6)
    assert preprocessor("witty film")["token_ids"].shape == (1, 6)
    dataset = tf.data.Dataset.from_tensor_slices(["witty film", "the plot"]).batch(2).map(preprocessor)
    batch = next(iter(dataset))
    np.testing.assert_array_equal(
        batch["token_ids"].numpy(), preprocessor(["witty film", "the plot"])["token_ids"].numpy()
    )


def test_detokenize_inverts_tokenization_of_normalized_text():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=10)
    token_ids = preprocessor(["A GORGEOUS, witty film"])["token_ids"]
    assert preprocessor.detokenize(token_ids).numpy()[0].decode() == "a gorgeous , witty film"


def test_config_round_trip_and_keras_file(tmp_path):
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=6, lowercase=False)
    clone = TextPreprocessor.from_config(preprocessor.get_config())
    texts = ["Witty film", "witty film"]
    np.testing.assert_array_equal(clone(texts)["token_ids"].numpy(), preprocessor(texts)["token_ids"].numpy())
    # Without lowercasing, "Witty" is not in the vocabulary.
    assert preprocessor(texts)["token_ids"].numpy()[0, 1] == VOCABULARY.index("[UNK]")
    path = tmp_path / "vocabulary.txt"
    save_vocabulary(VOCABULARY, path)
    assert TextPreprocessor(path, sequence_length=6).vocabulary == VOCABULARY


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"lacks the special tokens \['\[CLS\]'\]"):
        TextPreprocessor([t for t in VOCABULARY if t != "[CLS]"], sequence_length=8)
    with pytest.raises(ValueError, match="sequence_length must be an integer >= 3"):
        TextPreprocessor(VOCABULARY, sequence_length=2)


def test_learner_sees_the_words_the_tokenizer_sees():
    # Every whole word of the corpus that the learner keeps must tokenize as itself.
    corpus = ["it's $5 (really) 東京 cheap!"] * 30
    vocabulary = train_wordpiece(corpus, 100)
    preprocessor = TextPreprocessor(vocabulary, sequence_length=16)
    pieces = [vocabulary[i] for i in preprocessor.tokenize(corpus[:1]).numpy()[0]]
    assert pieces == ["it", "'", "s", "$", "5", "(", "really", ")", "東", "京", "cheap", "!"]
