"""Checkpoint tokenizers (byte-level BPE) against Hugging Face `tokenizers`' own ids and decoded text.

The references (tests/tokenizers/reference/<style>/reference.json) were
written once by tools/make_tokenizer_references.py with `tokenizers` 0.23:
about 180 strings chosen where pre-tokenizers disagree (whitespace runs
before words and digits, line breaks, digit groups, contractions, Unicode
spaces, scripts, emoji, special tokens inside text, code). The `llama2`
style (SentencePiece with byte fallback) is referenced to the
`sentencepiece` library itself.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from zoo.tokenizers import BytePairPreprocessor, SentencePiecePreprocessor, load_checkpoint_tokenizer

REFERENCE = pathlib.Path(__file__).parent / "reference"
STYLES = ["gpt2", "gpt2_320", "llama3", "llama3_320", "qwen2", "smollm", "llama2"]
DECODER_CHECKPOINTS = pathlib.Path(__file__).parents[1] / "checkpoints" / "reference" / "decoder"


def reference(style):
    return json.loads((REFERENCE / style / "reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=STYLES)
def style(request):
    return (
        request.param,
        load_checkpoint_tokenizer(REFERENCE / request.param, sequence_length=64),
        reference(request.param),
    )


def test_ids_equal_hugging_face_on_every_tricky_string(style):
    name, tokenizer, expected = style
    rows = tokenizer.tokenize(tf.constant(expected["texts"])).to_list()
    bos = [] if tokenizer.cls_id is None else [tokenizer.cls_id]
    mismatches = [(text, ids) for text, ids, row in zip(expected["texts"], expected["ids"], rows) if bos + row != ids]
    print(f"{name}: {len(mismatches)} mismatches of {len(rows)}")
    assert not mismatches, mismatches[:3]


def test_detokenize_equals_hugging_face_decode(style):
    _, tokenizer, expected = style
    ids = tf.ragged.constant(expected["ids"], dtype=tf.int32).to_tensor(tokenizer.pad_id)
    texts = [text.decode("utf-8", "replace") for text in tokenizer.detokenize(ids).numpy()]
    assert texts == expected["decoded"]


def test_special_ids_follow_the_checkpoint():
    gpt2 = load_checkpoint_tokenizer(REFERENCE / "gpt2", 16)
    assert gpt2.cls_id is None and gpt2.sep_id == gpt2.vocabulary["<|endoftext|>"] == gpt2.pad_id
    llama = load_checkpoint_tokenizer(REFERENCE / "llama3", 16)
    assert llama.cls_id == llama.vocabulary["<|begin_of_text|>"] and llama.sep_id == llama.vocabulary["<|end_of_text|>"]
    qwen = load_checkpoint_tokenizer(REFERENCE / "qwen2", 16)
    assert qwen.cls_id is None and qwen.normalization == "NFC"
    smollm = load_checkpoint_tokenizer(REFERENCE / "smollm", 16)  # SmolLM2's: no BOS, <|endoftext|> is id 0
    assert smollm.pretokenizer == "smollm" and smollm.cls_id is None and smollm.sep_id == 0 == smollm.pad_id
    llama2 = load_checkpoint_tokenizer(REFERENCE / "llama2", 16)
    assert isinstance(llama2, SentencePiecePreprocessor)
    assert (llama2.cls_id, llama2.sep_id) == (1, 2) and llama2.pieces[1:3] == ["<s>", "</s>"]


def test_generate_preprocess_adds_bos_only_where_the_checkpoint_does():
    for style, starts_with_bos in [("gpt2", False), ("llama3", True)]:
        tokenizer = load_checkpoint_tokenizer(REFERENCE / style, 16)
        token_ids, padding_mask = (x.numpy() for x in tokenizer.generate_preprocess(tf.constant(["hello world"]), 8))
        pieces = tokenizer.tokenize(tf.constant(["hello world"])).to_list()[0]
        expected = ([tokenizer.cls_id] if starts_with_bos else []) + pieces
        assert token_ids[0, : len(expected)].tolist() == expected
        assert padding_mask[0].sum() == len(expected)


def test_runs_inside_a_saved_model(tmp_path):
    tokenizer = load_checkpoint_tokenizer(REFERENCE / "llama3", 32)
    module = tf.Module()
    module.tokenizer = tokenizer
    module.f = tf.function(
        lambda texts: tokenizer(texts)["token_ids"], input_signature=[tf.TensorSpec([None], tf.string)]
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    texts = tf.constant(["To be, or not  to be", "123456 'll"])
    np.testing.assert_array_equal(loaded.f(texts).numpy(), tokenizer(texts)["token_ids"].numpy())


@pytest.mark.parametrize("name", ["qwen2", "llama2"])
def test_config_round_trip_tokenizes_the_same(name):
    tokenizer = load_checkpoint_tokenizer(REFERENCE / name, 32)
    clone = type(tokenizer).from_config(tokenizer.get_config())
    texts = tf.constant(reference(name)["texts"][:40])
    assert clone.tokenize(texts).to_list() == tokenizer.tokenize(texts).to_list()


def test_loaded_causal_lm_generates_from_text_as_from_the_reference_ids(tmp_path):
    from zoo.models import CausalLM

    directory = tmp_path / "gpt2_tied"
    shutil.copytree(DECODER_CHECKPOINTS / "gpt2_tied", directory)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        shutil.copy(REFERENCE / "gpt2_320" / name, directory / name)
    model = CausalLM.from_checkpoint(directory)
    assert isinstance(model.preprocessor, BytePairPreprocessor)
    expected = reference("gpt2_320")
    text = "To be, or not to be: that is the question."
    ids = np.array([expected["ids"][expected["texts"].index(text)]], "int32")
    generated = model.generate_ids(ids, np.ones_like(ids), max_length=ids.shape[1] + 6)
    assert model.generate([text], max_length=ids.shape[1] + 6) == model.detokenize(generated)


def test_bad_directories_are_one_line_errors(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="no tokenizer files; looked for tokenizer.model or tokenizer.json or vocab.json"
    ):
        load_checkpoint_tokenizer(tmp_path, 16)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer.json: not valid JSON"):
        load_checkpoint_tokenizer(tmp_path, 16)
    data = json.loads((REFERENCE / "llama3" / "tokenizer.json").read_text(encoding="utf-8"))
    data["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\w+(?=x)"
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="Split pre-tokenizer regex"):
        load_checkpoint_tokenizer(tmp_path, 16)
    smollm = json.loads((REFERENCE / "smollm" / "tokenizer.json").read_text(encoding="utf-8"))
    smollm["pre_tokenizer"]["pretokenizers"][0]["individual_digits"] = False
    (tmp_path / "tokenizer.json").write_text(json.dumps(smollm))
    with pytest.raises(ValueError, match="Digits \\+ ByteLevel pre-tokenizer is supported only with individual_digits"):
        load_checkpoint_tokenizer(tmp_path, 16)
    data["model"]["type"] = "Unigram"
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="model.type 'Unigram' is not supported"):
        load_checkpoint_tokenizer(tmp_path, 16)
    (tmp_path / "tokenizer.model").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="tokenizer.model: not a SentencePiece model"):
        load_checkpoint_tokenizer(tmp_path, 16)


def test_sentencepiece_survives_set_random_seed():
    import keras

    tokenizer = load_checkpoint_tokenizer(REFERENCE / "llama2", 16)
    before = tokenizer.tokenize(tf.constant(["hello world"])).to_list()
    keras.utils.set_random_seed(7)  # clears TensorFlow's eager kernel cache, which held the parsed model
    assert tokenizer.tokenize(tf.constant(["hello world"])).to_list() == before


def test_detokenize_of_a_cut_character_is_valid_utf8_like_hugging_face():
    tokenizer = load_checkpoint_tokenizer(REFERENCE / "gpt2", 16)
    ids = tokenizer.tokenize(tf.constant(["é😀x"])).to_list()[0]
    byte_ids = [tokenizer.vocabulary[piece] for piece in ("Ã", "ð", "Ł")]  # bytes C3, F0, 9F: two cut characters
    text = tokenizer.detokenize(tf.constant([byte_ids + ids]))[0].numpy().decode("utf-8")  # strict: must be valid
    assert (
        text == "\ufffd\ufffdé😀x"
    )  # one U+FFFD per maximal invalid subsequence (C3 | F0 9F), as Rust's lossy decoding


def test_an_empty_prompt_without_bos_starts_from_end_of_text():
    tokenizer = load_checkpoint_tokenizer(REFERENCE / "gpt2", 16)
    token_ids, padding_mask = (x.numpy() for x in tokenizer.generate_preprocess(tf.constant(["", "hi"]), 6))
    assert token_ids[0, 0] == tokenizer.sep_id and padding_mask[0].tolist() == [1, 0, 0, 0, 0, 0]
    assert token_ids[1, : padding_mask[1].sum()].tolist() == tokenizer.tokenize(tf.constant(["hi"])).to_list()[0]
