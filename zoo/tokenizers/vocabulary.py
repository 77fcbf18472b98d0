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


def train_wordpiece(texts, vocabulary_size, *, lowercase=True, reserved_tokens=SPECIAL_TOKENS):
    """Learn a WordPiece vocabulary from `texts` (deterministic for the same texts).

    The texts are normalized exactly as `TextPreprocessor` does in-graph, then
    keras-hub's `compute_word_piece_vocabulary` (tensorflow-text's BERT
    vocabulary learner) splits them on whitespace and punctuation and learns
    the pieces.

    Args:
        texts: iterable of str, the training split only.
        vocabulary_size: int, the largest vocabulary to learn (the result can
            be smaller on small corpora).
        lowercase: bool, lowercase and strip accents first.
        reserved_tokens: special tokens placed first, `[PAD]` at id 0.

    Returns:
        The vocabulary, a list of str.
    """
    import keras_hub

    texts = list(texts)
    if not texts:
        raise ValueError("train_wordpiece needs at least one text; received none")
    if not isinstance(vocabulary_size, int) or vocabulary_size <= len(reserved_tokens):
        raise ValueError(
            f"vocabulary_size must be an integer larger than the {len(reserved_tokens)} "
            f"reserved tokens. Received: vocabulary_size={vocabulary_size!r}"
        )
    normalized = tf.data.Dataset.from_tensor_slices(normalize_texts(texts, lowercase)).batch(1000)
    return list(
        keras_hub.tokenizers.compute_word_piece_vocabulary(
            normalized,
            vocabulary_size,
            lowercase=False,  # already normalized
            strip_accents=False,
            reserved_tokens=list(reserved_tokens),
        )
    )


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
