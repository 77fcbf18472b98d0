"""Train, save and load SentencePiece models with zoo's special tokens."""

import io
import pathlib

from zoo.io import atomic_file
from zoo.tokenizers.vocabulary import CLS, MASK, PAD, SEP, UNK, normalize_texts

# Fixed ids so a SentencePiece model lines up with zoo's packing: [PAD] = 0.
SENTENCEPIECE_IDS = {"pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3}


def train_sentencepiece(texts, vocabulary_size, *, lowercase=True, model_type="unigram"):
    """Learn a SentencePiece model (serialized proto bytes), deterministic for the same texts.

    Texts are normalized first exactly as `TextPreprocessor` does in-graph
    (BERT normalization), and SentencePiece's own normalization is off, so
    training and serving see the same characters. `[PAD]`, `[UNK]`,
    `[CLS]`, `[SEP]` get ids 0-3 and `[MASK]` is a reserved symbol. Uses the
    `sentencepiece` trainer (as keras-hub's `compute_sentence_piece_proto`
    does, which cannot set these options).

    Args:
        texts: iterable of str, the training split only.
        vocabulary_size: int, the most pieces (fewer on a small corpus).
        lowercase: bool, lowercase and strip accents first.
        model_type: `"unigram"` or `"bpe"`.
    """
    import sentencepiece

    texts = list(texts)
    if not texts:
        raise ValueError("train_sentencepiece needs at least one text; received none")
    if model_type not in ("unigram", "bpe"):
        raise ValueError(f"model_type must be 'unigram' or 'bpe'. Received: model_type={model_type!r}")
    normalized = [text.decode("utf-8") for text in normalize_texts(texts, lowercase).numpy()]
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(normalized),
            model_writer=model,
            vocab_size=vocabulary_size,
            model_type=model_type,
            normalization_rule_name="identity",
            pad_piece=PAD,
            unk_piece=UNK,
            bos_piece=CLS,
            eos_piece=SEP,
            user_defined_symbols=[MASK],
            hard_vocab_limit=False,  # small corpora get fewer pieces instead of an error
            num_threads=1,  # deterministic
            minloglevel=2,
            **SENTENCEPIECE_IDS,
        )
    except RuntimeError as error:  # e.g. too few characters to learn from
        raise ValueError(f"SentencePiece training failed: {error}") from None
    return model.getvalue()


def save_sentencepiece(proto, path):
    """Write the serialized model (`tokenizer.model`) atomically."""
    with atomic_file(path) as temporary:
        pathlib.Path(temporary).write_bytes(proto)


def load_sentencepiece(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SentencePiece model {str(path)!r} does not exist")
    return path.read_bytes()


def sentencepiece_pieces(proto):
    """The pieces of a serialized SentencePiece model, in id order."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
