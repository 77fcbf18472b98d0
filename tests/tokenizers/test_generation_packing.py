"""`generate_preprocess` / `generate_postprocess`: the string packing of generation, in TF ops.

Both preprocessors pack prompts as `[CLS] pieces...` (no `[SEP]`), keep a
long prompt's end, and unpack generated ids up to the first end token;
the models' `generate` and the exported graphs both call them.
"""

import numpy as np
import pytest
import tensorflow as tf

from zoo.tokenizers import SPECIAL_TOKENS, CharacterPreprocessor, TextPreprocessor

PAD, UNK, CLS, SEP = range(4)
WORDS = "to be or not".split()
VOCABULARY = list(SPECIAL_TOKENS) + WORDS  # to=5, be=6, or=7, not=8
TO, BE, OR, NOT = 5, 6, 7, 8


@pytest.fixture(params=["wordpiece", "characters"])
def preprocessor(request):
    if request.param == "wordpiece":
        return TextPreprocessor(VOCABULARY, sequence_length=8)
    return CharacterPreprocessor(list(SPECIAL_TOKENS) + list("tobenr "), sequence_length=8)


def test_prompts_are_bos_then_pieces_right_padded():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=8)
    token_ids, padding_mask = preprocessor.generate_preprocess(["to be", "", "or"], 4)
    assert token_ids.dtype == tf.int32 and padding_mask.dtype == tf.int32
    np.testing.assert_array_equal(token_ids, [[CLS, TO, BE, PAD], [CLS, PAD, PAD, PAD], [CLS, OR, PAD, PAD]])
    np.testing.assert_array_equal(padding_mask, [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 0]])


def test_a_long_prompt_keeps_its_end():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=8)
    texts = tf.constant(["to be or not to be"])
    token_ids, padding_mask = preprocessor.generate_preprocess(texts, 3)
    np.testing.assert_array_equal(token_ids, [[CLS, TO, BE]])  # the last two pieces
    np.testing.assert_array_equal(padding_mask, [[1, 1, 1]])


def test_characters_pack_one_piece_per_character():
    preprocessor = CharacterPreprocessor(list(SPECIAL_TOKENS) + list("ab"), sequence_length=8)
    a, b = 5, 6
    token_ids, padding_mask = preprocessor.generate_preprocess(["ab", "bab"], 3)
    np.testing.assert_array_equal(token_ids, [[CLS, a, b], [CLS, a, b]])
    np.testing.assert_array_equal(padding_mask, [[1, 1, 1], [1, 1, 1]])


def test_generated_ids_are_cut_at_the_first_end_token():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=8)
    generated = np.array(
        [
            [CLS, TO, BE, SEP, OR, NOT],  # after [SEP]: dropped
            [CLS, OR, NOT, PAD, PAD, PAD],  # no end token: everything real
            [CLS, SEP, TO, TO, TO, TO],  # ends at once: empty
        ]
    )
    texts = preprocessor.generate_postprocess(generated)
    assert texts.dtype == tf.string
    assert [t.decode() for t in texts.numpy()] == ["to be", "or not", ""]
    # Other special ids: `TO` as the end token cuts row 0 at once, row 1 never.
    texts = preprocessor.generate_postprocess(generated, end_token_id=TO, pad_token_id=PAD)
    assert [t.decode() for t in texts.numpy()] == ["", "or not", ""]


def test_strip_false_keeps_surrounding_spaces():
    preprocessor = CharacterPreprocessor(list(SPECIAL_TOKENS) + list("ab "), sequence_length=8)
    a, space = 5, 7
    generated = np.array([[CLS, space, a, space, SEP]])
    assert preprocessor.generate_postprocess(generated).numpy().tolist() == [b"a"]
    assert preprocessor.generate_postprocess(generated, strip=False).numpy().tolist() == [b" a "]


def test_both_run_inside_a_tf_function(preprocessor):
    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string)])
    def round_trip(texts):
        token_ids, _ = preprocessor.generate_preprocess(texts, 6)
        return preprocessor.generate_postprocess(token_ids)

    texts = round_trip(tf.constant(["to be", "not"])).numpy()
    assert [t.decode() for t in texts] == ["to be", "not"]
