"""Character-level tokenizer: round trips, unknown characters, packing, saved files, and CausalLM use."""

import keras
import numpy as np
import pytest

from zoo.models import CausalLM
from zoo.tokenizers import CharacterPreprocessor, save_characters, train_characters

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def test_vocabulary_is_specials_then_characters_by_frequency():
    vocabulary = train_characters([TEXT])
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocabulary[5:7] == ["e", " "]  # the most frequent characters first (12 and 9 times)
    counts = {c: TEXT.count(c) for c in set(TEXT)}
    frequencies = [counts[c] for c in vocabulary[5:]]
    assert frequencies == sorted(frequencies, reverse=True)
    assert set(vocabulary[5:]) == set(TEXT)
    with pytest.raises(ValueError, match="at least one non-empty text"):
        train_characters([""])


def test_round_trip_and_unknown_characters():
    preprocessor = CharacterPreprocessor(train_characters([TEXT]), sequence_length=16)
    ids = preprocessor.tokenize([TEXT, "hear me"]).to_list()
    assert len(ids[0]) == len(TEXT)
    padded = np.zeros((2, len(TEXT)), "int32")
    for row, values in enumerate(ids):
        padded[row, : len(values)] = values
    assert [t.decode() for t in preprocessor.detokenize(padded).numpy()] == [TEXT, "hear me"]
    unknown = preprocessor.tokenize(["Zé"]).to_list()[0]
    assert unknown == [preprocessor.unk_id, preprocessor.unk_id]
    assert preprocessor.tokenize(["[PAD]"]).to_list()[0] != [preprocessor.pad_id]  # text is never a special token


def test_packing_matches_the_text_preprocessor_layout():
    preprocessor = CharacterPreprocessor(train_characters([TEXT]), sequence_length=6)
    packed = preprocessor(["hear", "hear me speak", ""])
    ids, mask = packed["token_ids"].numpy(), packed["padding_mask"].numpy()
    h, e, a, r = (preprocessor.vocabulary.index(c) for c in "hear")
    np.testing.assert_array_equal(ids[0], [preprocessor.cls_id, h, e, a, r, preprocessor.sep_id])
    np.testing.assert_array_equal(ids[1], [preprocessor.cls_id, h, e, a, r, preprocessor.sep_id])  # truncated
    np.testing.assert_array_equal(ids[2], [preprocessor.cls_id, preprocessor.sep_id, 0, 0, 0, 0])
    np.testing.assert_array_equal(mask[2], [1, 1, 0, 0, 0, 0])


def test_saved_vocabulary_keeps_newlines_and_spaces(tmp_path):
    vocabulary = train_characters([TEXT])
    save_characters(vocabulary, tmp_path / "characters.txt")
    loaded = CharacterPreprocessor(str(tmp_path / "characters.txt"), sequence_length=8)
    assert loaded.vocabulary == vocabulary and "\n" in loaded.vocabulary and " " in loaded.vocabulary


def test_causal_lm_with_characters_round_trips(tmp_path):
    preprocessor = CharacterPreprocessor(train_characters([TEXT]), sequence_length=8)
    model = CausalLM.from_preset("tiny", preprocessor=preprocessor)
    out = model.generate(["hear me"], max_length=16)
    assert out[0].startswith("hear me")
    path = tmp_path / "lm.keras"
    model.save(path)
    assert keras.saving.load_model(path).generate(["hear me"], max_length=16) == out


def test_bad_vocabularies():
    with pytest.raises(ValueError, match="lacks the special tokens"):
        CharacterPreprocessor(["a", "b"], sequence_length=8)
    with pytest.raises(ValueError, match="single characters"):
        CharacterPreprocessor(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ab"], sequence_length=8)
