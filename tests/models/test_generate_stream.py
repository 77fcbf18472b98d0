"""generate(stream=True): the pieces join into generate()'s text; valid text per piece; clear errors."""

import keras
import numpy as np
import pytest

from zoo.models import CausalLM, Seq2SeqLM
from zoo.models.streaming import _new_text
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

VOCABULARY = list(SPECIAL_TOKENS) + "to be or not that is the question , . whether tis nobler".split()
SOURCE_VOCABULARY = list(SPECIAL_TOKENS) + "the cat dog sat on a mat . how are you ?".split()
TARGET_VOCABULARY = list(SPECIAL_TOKENS) + "el gato perro se sento en una alfombra . como estas ?".split()
SETTINGS = [
    {"sampler": "greedy"},
    {"sampler": "top_k", "k": 5, "seed": 3},
    {"sampler": "top_p", "p": 0.9, "seed": 7, "temperature": 2.0},
]


@pytest.fixture(scope="module")
def causal_lm():
    keras.utils.set_random_seed(2)
    return CausalLM.from_preset("tiny", preprocessor=TextPreprocessor(VOCABULARY, sequence_length=16))


@pytest.fixture(scope="module")
def seq2seq():
    keras.utils.set_random_seed(1)
    source = TextPreprocessor(SOURCE_VOCABULARY, sequence_length=10)
    target = TextPreprocessor(TARGET_VOCABULARY, sequence_length=13)
    return Seq2SeqLM.from_preset("tiny", source_preprocessor=source, target_preprocessor=target)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s["sampler"])
@pytest.mark.parametrize("strip_prompt", [False, True])
def test_causal_lm_pieces_join_into_the_generated_text(causal_lm, settings, strip_prompt):
    for prompt in ["to be , or not", "that"]:
        expected = causal_lm.generate([prompt], max_length=14, strip_prompt=strip_prompt, **settings)[0]
        pieces = list(causal_lm.generate(prompt, max_length=14, strip_prompt=strip_prompt, stream=True, **settings))
        assert "".join(pieces) == expected
        assert all(pieces)  # no empty piece
        if strip_prompt:  # word-level vocabulary: one piece per new word
            assert len(pieces) == len(expected.split())


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s["sampler"])
def test_seq2seq_pieces_join_into_the_generated_text(seq2seq, settings):
    for source in ["the cat sat on a mat .", "how are you ?"]:
        expected = seq2seq.generate([source], max_length=10, **settings)[0]
        pieces = list(seq2seq.generate([source], max_length=10, stream=True, **settings))
        assert "".join(pieces) == expected


class BytesModel:
    """A stand-in whose ids are UTF-8 bytes (as byte-level BPE pieces can be): detokenize decodes them."""

    pad_token_id = 0

    def detokenize(self, rows):
        return [bytes(int(b) for b in row if b).decode("utf-8", "replace") for row in rows]


def test_a_character_split_over_tokens_is_yielded_only_once_complete():
    data = "añ€".encode()  # 1 + 2 + 3 bytes
    emitted, pieces = "", []
    for end in range(1, len(data) + 1):
        piece, emitted = _new_text(BytesModel(), list(data[:end]), 0, emitted, hold_back=True)
        pieces.append(piece)
    assert pieces == ["a", "", "ñ", "", "", "€"]
    # At the end an incomplete character is yielded as generate() returns it.
    piece, _ = _new_text(BytesModel(), list(data[:-1]), 0, "añ", hold_back=False)
    assert piece == "\ufffd"


def test_clear_errors(causal_lm, seq2seq):
    with pytest.raises(ValueError, match="sampler='beam'"):
        causal_lm.generate("to be", stream=True, sampler="beam")
    with pytest.raises(ValueError, match="one text at a time.*a batch of 2"):
        causal_lm.generate(["to be", "or not"], stream=True)
    with pytest.raises(ValueError, match="takes a string"):
        seq2seq.generate({"encoder_token_ids": np.ones((1, 3), "int32")}, stream=True)
    with pytest.raises(ValueError, match="max_length"):
        next(causal_lm.generate("to be", stream=True, max_length=99))
