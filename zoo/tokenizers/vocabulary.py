"""Train, save and load WordPiece vocabularies (keras-hub / tensorflow-text)."""

import pathlib

import tensorflow as tf

from zoo.io import atomic_write_text

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)  # [PAD] first: padding id 0


def normalize_texts(texts, lowercase=True):
    """The BERT normalization the preprocessor applies in-graph (FastBertNormalizer).

    Lowercasing also strips accents (NFD, combining marks dropped); both
    modes clean control characters and whitespace.
    """
    import tensorflow_text as tf_text

    normalizer = tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=lowercase)
    return normalizer.normalize(tf.constant(list(texts), dtype=tf.string))


# Where BERT's basic tokenizer (and so FastWordpieceTokenizer) splits words:
# Unicode P*, the ASCII non-alphanumeric symbols, and each CJK ideograph.
_PUNCTUATION = (
    r"([\p{P}!-/:-@\[-`{-~]|[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{F900}-\x{FAFF}"
    r"\x{20000}-\x{2A6DF}\x{2A700}-\x{2CEAF}\x{2F800}-\x{2FA1F}])"
)


def _words(texts, lowercase):
    """Normalized texts split into words as the in-graph tokenizer splits them."""
    spaced = tf.strings.regex_replace(normalize_texts(texts, lowercase), _PUNCTUATION, r" \1 ")
    return tf.data.Dataset.from_tensor_slices(tf.strings.split(spaced).flat_values).batch(4096)


def train_wordpiece(texts, vocabulary_size, *, lowercase=True, min_frequency=2, reserved_tokens=SPECIAL_TOKENS):
    """Learn a WordPiece vocabulary from `texts` (deterministic for the same texts).

    The texts are normalized exactly as `TextPreprocessor` does in-graph and
    split on whitespace and punctuation as its tokenizer does, then
    tensorflow-text's BERT vocabulary learner (the one behind keras-hub's
    `compute_word_piece_vocabulary`) learns the pieces.

    Args:
        texts: iterable of str, the training split only.
        vocabulary_size: int, the largest vocabulary to learn (the result is
            smaller when few pieces occur `min_frequency` times).
        lowercase: bool, lowercase and strip accents first.
        min_frequency: int, the learner's lowest count threshold; keras-hub
            uses 10, which on a 10k-sentence corpus keeps only ~3.5k pieces.
        reserved_tokens: special tokens placed first, `[PAD]` at id 0.

    Returns:
        The vocabulary, a list of str.
    """
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    texts = list(texts)
    if not texts:
        raise ValueError("train_wordpiece needs at least one text; received none")
    if not isinstance(vocabulary_size, int) or vocabulary_size <= len(reserved_tokens):
        raise ValueError(
            f"vocabulary_size must be an integer larger than the {len(reserved_tokens)} "
            f"reserved tokens. Received: vocabulary_size={vocabulary_size!r}"
        )
    if not isinstance(min_frequency, int) or min_frequency < 1:
        raise ValueError(f"min_frequency must be a positive integer. Received: min_frequency={min_frequency!r}")
    word_counts = learner.count_words(_words(texts, lowercase))
    vocabulary = learner.learn(
        word_counts,
        vocab_size=vocabulary_size,
        reserved_tokens=list(reserved_tokens),
        lower_thresh=min_frequency,
        include_joiner_token=True,
        joiner="##",
    )
    return [str(token) for token in vocabulary[:vocabulary_size]]


def save_vocabulary(vocabulary, path):
    """Write one token per line (the BERT `vocab.txt` format), atomically."""
    atomic_write_text(path, "".join(f"{token}\n" for token in vocabulary))


def load_vocabulary(path):
    """Read a one-token-per-line vocabulary file."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file {str(path)!r} does not exist")
    tokens = path.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    if not tokens:
        raise ValueError(f"vocabulary file {str(path)!r} is empty")
    return tokens
