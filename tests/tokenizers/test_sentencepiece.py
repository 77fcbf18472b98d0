"""SentencePiece option: training with zoo's special ids, in-graph tokenization, string-in TFLite."""

import keras
import numpy as np
import pytest

from zoo.export import export_tflite, run_tflite
from zoo.models import TextClassifier
from zoo.tokenizers import (
    TextPreprocessor,
    load_sentencepiece,
    save_sentencepiece,
    sentencepiece_pieces,
    train_sentencepiece,
)

WORDS = (
    "a gorgeous witty film with sharp script the plot is mess and acting worse dull lifeless far too long "
    "moving beautiful story great performances warm funny boring flat jokes bad never quite finds its "
    "footing but last act tender clever surprising predictable tedious charming"
).split()
RNG = np.random.default_rng(0)
CORPUS = [" ".join(RNG.choice(WORDS, size=8)) for _ in range(300)] + ["Ça a été très bien !"] * 5


@pytest.fixture(scope="module")
def model_proto():
    return train_sentencepiece(CORPUS, 60)


def test_training_is_deterministic_with_fixed_special_ids(model_proto):
    assert train_sentencepiece(CORPUS, 60) == model_proto
    pieces = sentencepiece_pieces(model_proto)
    assert len(pieces) == 60  # enough text for the full size
    assert pieces[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert not any("é" in piece or "Ç" in piece for piece in pieces)  # normalized before training


def test_packing_matches_the_sentencepiece_library(model_proto):
    import sentencepiece

    preprocessor = TextPreprocessor(sentencepiece_model=model_proto, sequence_length=32)
    out = preprocessor(["A gorgeous WITTY film", ""])
    reference = sentencepiece.SentencePieceProcessor(model_proto=model_proto).encode("a gorgeous witty film")
    expected = [2] + reference + [3]
    expected += [0] * (32 - len(expected))
    np.testing.assert_array_equal(out["token_ids"].numpy()[0], expected)
    np.testing.assert_array_equal(out["token_ids"].numpy()[1], [2, 3] + [0] * 30)
    assert preprocessor.detokenize(out["token_ids"][:1]).numpy()[0].decode() == "a gorgeous witty film"


def test_file_and_config_round_trip(model_proto, tmp_path):
    path = tmp_path / "tokenizer.model"
    save_sentencepiece(model_proto, path)
    assert load_sentencepiece(path) == model_proto
    from_file = TextPreprocessor(sentencepiece_model=str(path), sequence_length=8)
    clone = TextPreprocessor.from_config(from_file.get_config())
    assert clone.sentencepiece_model == model_proto and clone.vocabulary == from_file.vocabulary
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TextPreprocessor(sentencepiece_model=str(tmp_path / "missing.model"), sequence_length=8)
    with pytest.raises(ValueError, match="exactly one of vocabulary="):
        TextPreprocessor(["[PAD]"], sequence_length=8, sentencepiece_model=model_proto)


def test_small_corpus_gives_fewer_pieces_not_an_error():
    pieces = sentencepiece_pieces(train_sentencepiece(CORPUS[:4], 5000))
    assert 5 < len(pieces) < 5000
    with pytest.raises(ValueError, match="model_type must be"):
        train_sentencepiece(CORPUS, 50, model_type="char")


def test_sentencepiece_classifier_keras_file_and_string_in_tflite(model_proto, tmp_path):
    preprocessor = TextPreprocessor(sentencepiece_model=model_proto, sequence_length=32)
    model = TextClassifier.from_preset("tiny", preprocessor=preprocessor)
    texts = ["a gorgeous , witty film", "", "dull " * 5000, b"\xff\xfe mess"]
    path = tmp_path / "sp.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.preprocessor.sentencepiece_model == model_proto
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(preprocessor(texts))))
    tflite, _ = export_tflite(model, tmp_path / "sp.tflite", variant="text")
    out = run_tflite(tflite.read_bytes(), {"text": texts})["probabilities"]
    np.testing.assert_allclose(out, expected, atol=1e-4)
