"""Differential harness: zoo's in-graph checkpoint tokenizers against the reference libraries' ids.

The references are independent of zoo: Hugging Face `tokenizers` (Rust)
loading each reference style's own files (`tokenizer.json`, or GPT-2's
`vocab.json` + `merges.txt` as transformers' GPT2TokenizerFast builds them),
and `sentencepiece` for the SentencePiece `tokenizer.model` (llama2).
Inputs:

- real strings of this machine (`parity_corpus`: gettext catalogs, Python
  docs, Debian descriptions, ../shared/data): a deterministic sample in the
  default run, all of them (>= 50,000) under `-m slow` (`make test-parity`);
- every Unicode code point in a few contexts, at the pre-tokenizer and the
  normalizer (where two regex engines or two Unicode versions disagree);
- hypothesis-generated text: combining marks, NFC/NFKC-sensitive
  (compatibility) characters, emoji with ZWJ sequences and modifiers,
  control and format characters, whitespace runs, very long words, and
  invalid UTF-8 bytes (which zoo reads as Python's / Rust's lossy decoding,
  `bytes.decode("utf-8", "replace")`, so they are compared on that text).

`KNOWN_MISMATCHES` pins what is not fixed (the README lists it); every other
style must agree on every string.
"""

import functools
import json
import pathlib
import sys
import unicodedata

import pytest
import tensorflow as tf
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from zoo.tokenizers import load_checkpoint_tokenizer

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # parity_corpus, beside this file
import parity_corpus  # noqa: E402

tokenizers = pytest.importorskip("tokenizers")

REFERENCE = pathlib.Path(__file__).parent / "reference"
STYLES = ["gpt2", "gpt2_320", "llama3", "llama3_320", "qwen2", "smollm", "llama2"]
BYTE_LEVEL = [style for style in STYLES if style != "llama2"]
SAMPLE_SIZE = 500  # real strings per style in the default run
BATCH = 2048
KNOWN_MISMATCHES = {}  # style -> strings of the full corpus whose ids differ (none)
# Generated strings whose ids differ, pinned (test_known_generated_mismatches): `tokenizers`' NFC leaves
# U+0362 (combining class 233) before U+10F4F (Sogdian, class 220); ICU (zoo) and Python's unicodedata reorder them.
KNOWN_GENERATED = {"qwen2": ["\u0339\u032bx\ufa45\u01c9\U0001d501\u095a\u208c\u064e\u0362\U00010f4f\uf915"]}
# The cause, for generated batches: NFC (qwen2's normalizer) of a text with U+10F4F after a combining mark of a
# higher class differs by that reordering alone; such texts are the pinned mismatch above, not a new one.
NFC_REORDERED = {"qwen2": "\U00010f4f"}


def known_difference(style, text):
    if text in KNOWN_GENERATED.get(style, []):
        return True
    marker = NFC_REORDERED.get(style)
    return marker is not None and marker in text and unicodedata.normalize("NFC", text) != text


# No shrinking: each example is a whole batch, and a failure lists every string of it that differs.
SETTINGS = settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@functools.cache
def real_strings():
    return parity_corpus.corpus()


@functools.cache
def zoo_encoder(style):
    """texts -> ids lists, the checkpoint's BOS first where it adds one (as `tokenizers`' post-processor)."""
    tokenizer = load_checkpoint_tokenizer(REFERENCE / style, sequence_length=64)
    tokenize = tokenizer.tokenize  # SentencePiece: eager (its op's resource is rebuilt after set_random_seed)
    if style in BYTE_LEVEL:  # one graph per style: the merge loop runs much faster than eagerly
        tokenize = tf.function(tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    bos = [] if tokenizer.cls_id is None else [tokenizer.cls_id]

    def encode(texts):
        rows = []
        for start in range(0, len(texts), BATCH):
            rows += tokenize(tf.constant(texts[start : start + BATCH])).to_list()
        return [bos + row for row in rows]

    return encode


@functools.cache
def reference_encoder(style):
    """texts (str) -> the reference library's ids for the style's files."""
    directory = REFERENCE / style
    if (directory / "tokenizer.json").is_file():
        reference = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
    elif (directory / "vocab.json").is_file():  # GPT-2's files, as transformers' GPT2TokenizerFast reads them
        model = tokenizers.models.BPE.from_file(str(directory / "vocab.json"), str(directory / "merges.txt"))
        reference = tokenizers.Tokenizer(model)
        reference.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
        reference.decoder = tokenizers.decoders.ByteLevel()
        reference.add_special_tokens(["<|endoftext|>"])
    else:
        sentencepiece = pytest.importorskip("sentencepiece", reason="the llama2 reference is the sentencepiece library")
        processor = sentencepiece.SentencePieceProcessor(model_file=str(directory / "tokenizer.model"))
        add_bos = json.loads((directory / "tokenizer_config.json").read_text()).get("add_bos_token", True)
        bos = [processor.bos_id()] if add_bos else []
        return lambda texts: [bos + row for row in processor.encode(list(texts))]
    return lambda texts: [encoding.ids for encoding in reference.encode_batch(list(texts))]


def mismatches(style, texts, reference_texts=None):
    """`(text, zoo ids, reference ids)` for every text whose ids differ."""
    ours = zoo_encoder(style)(list(texts))
    theirs = reference_encoder(style)(list(texts if reference_texts is None else reference_texts))
    return [(text, a, b) for text, a, b in zip(texts, ours, theirs) if a != b]


def check(style, texts, reference_texts=None):
    found = [item for item in mismatches(style, texts, reference_texts) if not known_difference(style, item[0])]
    assert not found, f"{style}: {len(found)} of {len(texts)} differ, e.g. {[ascii(text) for text, *_ in found[:4]]}"


# Real strings.


def test_the_corpus_has_50000_real_strings():
    collected = parity_corpus.collect()
    if not all(collected.values()):
        pytest.skip(f"sources absent on this machine: {[name for name, texts in collected.items() if not texts]}")
    assert sum(map(len, collected.values())) >= 50_000
    strings = real_strings()  # collected a second time: the same strings in the same order
    assert len(set(strings)) == len(strings) and strings == [text for texts in collected.values() for text in texts]


@pytest.mark.parametrize("style", STYLES)
def test_ids_equal_the_reference_on_a_sample_of_real_strings(style):
    texts = parity_corpus.sample(real_strings(), SAMPLE_SIZE)
    found = mismatches(style, texts)
    assert len(found) <= KNOWN_MISMATCHES.get(style, 0), found[:3]


@pytest.mark.slow
@pytest.mark.parametrize("style", STYLES)
def test_ids_equal_the_reference_on_every_real_string(style):
    texts = real_strings()
    found = mismatches(style, texts)
    print(f"{style}: {len(found)} mismatches of {len(texts)} real strings")
    assert len(found) == KNOWN_MISMATCHES.get(style, 0), found[:3]


# Every code point.

CODE_POINTS = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
CONTEXTS = "a{c}b {c}1{c}{c}2 '{c} !{c}\n{c} "  # between letters and digits, after spaces, punctuation, a newline


def _printable(code):
    return 33 <= code <= 126 or 161 <= code <= 172 or 174 <= code <= 255


def _bytes_to_unicode():
    """GPT-2's byte -> character table (printable bytes are themselves, the rest from U+0100 on)."""
    table, extra = {}, 0
    for byte in range(256):
        if _printable(byte):
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


_BYTES_TO_UNICODE = _bytes_to_unicode()


EVERY_CODE_POINT = [16, pytest.param(1, marks=pytest.mark.slow)]  # every 16th in the default run


@pytest.mark.parametrize("step", EVERY_CODE_POINT)
@pytest.mark.parametrize("style", ["gpt2", "llama3", "qwen2", "smollm"])
def test_pre_tokenizer_splits_every_code_point_as_tokenizers_does(style, step):
    from zoo.tokenizers.byte_pair import pretokenize

    if style == "gpt2":  # vocab.json + merges.txt: tokenizers' ByteLevel pre-tokenizer
        pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        pre_tokenizer = tokenizers.Tokenizer.from_file(str(REFERENCE / style / "tokenizer.json")).pre_tokenizer
    pretokenizer = load_checkpoint_tokenizer(REFERENCE / style, sequence_length=64).pretokenizer
    characters, bad = CODE_POINTS[::step], []
    for start in range(0, len(characters), 4096):
        texts = [CONTEXTS.format(c=c) for c in characters[start : start + 4096]]
        for text, row in zip(texts, pretokenize(tf.constant(texts), pretokenizer).to_list()):
            ours = ["".join(_BYTES_TO_UNICODE[byte] for byte in word) for word in row]
            if ours != [piece for piece, _ in pre_tokenizer.pre_tokenize_str(text)]:
                bad.append(ascii(text[1]))
    assert not bad, f"{len(bad)} of {len(characters)} code points split differently: {bad[:10]}"


@pytest.mark.parametrize("step", EVERY_CODE_POINT)
def test_nfc_equals_tokenizers_on_every_code_point(step):
    """Qwen2's normalizer: tensorflow-text's ICU NFC against `tokenizers`' NFC, alone and after a base."""
    nfc = tokenizers.normalizers.NFC()
    texts = [f"{c} e{c} \u1100{c} A\u0301{c}" for c in CODE_POINTS[::step]]
    ours = [text.decode("utf-8") for text in _normalize_nfc(texts)]
    bad = [text for text, a in zip(texts, ours) if a != nfc.normalize_str(text)]
    assert not bad, f"{len(bad)} of {len(texts)} code points differ, e.g. {[ascii(text[0]) for text in bad[:10]]}"


def _normalize_nfc(texts):
    import tensorflow_text as tf_text

    return tf_text.normalize_utf8(tf.constant(texts), "NFC").numpy()


# Generated text: each example is a batch of strings, compared for every style.

COMBINING = st.characters(categories=["Mn", "Mc", "Me"])
BASES = st.characters(categories=["Lu", "Ll", "Lo", "Nd"], max_codepoint=0x1FFFF)
COMPATIBILITY = [c for c in CODE_POINTS[:0x30000] if unicodedata.normalize("NFKC", c) != c]
NFC_SENSITIVE = [c for c in CODE_POINTS[:0x30000] if unicodedata.normalize("NFC", c) != c]
EMOJI = [chr(c) for c in [*range(0x1F300, 0x1F5FF, 7), *range(0x1F600, 0x1F64F), *range(0x1F900, 0x1F9FF, 5)]]
EMOJI_PARTS = st.sampled_from(EMOJI + ["\u200d", "\ufe0f", "\u20e3", "\u2764", "\u2640", "\u2642", "#", "1"])
SKIN_TONES = [chr(c) for c in range(0x1F3FB, 0x1F400)]
FLAGS = [chr(c) for c in range(0x1F1E6, 0x1F200)]
CONTROL = st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co"])
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\u00a0", "\u1680", "\u2003", "\u2028", "\u3000"]
WORDS = ["a", "word", "1", "42", "!", "'s", "'LL", "é", "日本", "😀", "<|endoftext|>"]


def batches(strategy, size=100):
    return st.lists(strategy, min_size=size, max_size=size)


def text_of(*parts, max_size=24):
    return st.lists(st.one_of(*parts), max_size=max_size).map("".join)


def compare_all(texts, reference_texts=None):
    failures = []
    for style in STYLES:
        try:
            check(style, texts, reference_texts)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


@SETTINGS
@given(batches(text_of(BASES, COMBINING, st.just(" "))))
def test_combining_marks(texts):
    compare_all(texts)


@SETTINGS
@given(batches(text_of(st.sampled_from(COMPATIBILITY), st.sampled_from(NFC_SENSITIVE), BASES, COMBINING)))
def test_compatibility_and_nfc_sensitive_characters(texts):
    compare_all(texts)


@SETTINGS
@given(batches(text_of(EMOJI_PARTS, st.sampled_from(SKIN_TONES), st.sampled_from(FLAGS), st.sampled_from(SPACES))))
def test_emoji_zwj_sequences_modifiers_and_flags(texts):
    compare_all(texts)


@SETTINGS
@given(batches(text_of(CONTROL, st.sampled_from(SPACES), st.sampled_from(WORDS))))
def test_control_and_format_characters(texts):
    compare_all(texts)


@SETTINGS
@given(batches(text_of(st.sampled_from(SPACES), st.sampled_from(WORDS), max_size=40)))
def test_whitespace_runs(texts):
    compare_all(texts)


@settings(SETTINGS, max_examples=1)
@given(batches(st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzé-_=*0123456789"), min_size=100, max_size=400), 12))
def test_very_long_words(texts):
    compare_all(texts)


@SETTINGS
@given(batches(st.binary(max_size=24)))
def test_invalid_utf8_reads_as_lossy_decoding(texts):
    compare_all(texts, [text.decode("utf-8", "replace") for text in texts])


def test_known_generated_mismatches():
    """Exactly the pinned strings differ (a fix on either side makes this fail and the pin go)."""
    for style, texts in KNOWN_GENERATED.items():
        assert len(mismatches(style, texts)) == len(texts) == 1
    assert unicodedata.normalize("NFC", "\u0362\U00010f4f") == "\U00010f4f\u0362"  # the standard's order
