"""Learn a recipe's tokenizer on its training split, or reuse the run's own when resuming."""

import time

from zoo.tokenizers import (
    CharacterPreprocessor,
    TextPreprocessor,
    save_characters,
    save_sentencepiece,
    save_vocabulary,
    train_characters,
    train_sentencepiece,
    train_wordpiece,
)

TOKENIZERS = ("wordpiece", "sentencepiece", "characters")


def learn_or_reuse(
    tokenizer,
    texts,
    vocabulary_path,
    model_path=None,
    *,
    vocabulary_size=None,
    sequence_length,
    resume=False,
    lowercase=True,
):
    """A preprocessor over a vocabulary learned on `texts`, or over the run's own file on `resume`.

    A resumed run must tokenize as it did before the interruption, so an
    existing file is reused then; any other run learns afresh (the same
    texts give the same vocabulary).

    Args:
        tokenizer: "wordpiece" (the vocabulary goes to `vocabulary_path`),
            "sentencepiece" (the model goes to `model_path`, its pieces to
            `vocabulary_path` for reference) or "characters" (the
            characters of `texts` to `vocabulary_path`).
        texts: the training texts.
        vocabulary_path, model_path: `pathlib.Path`s in the run folder.
        vocabulary_size: the largest vocabulary to learn (not for
            "characters").
        sequence_length: tokens per example of the preprocessor.
        resume: reuse the file learned before, when there is one.
        lowercase: lowercase and strip accents (not for "characters").

    Returns:
        A `TextPreprocessor`, or a `CharacterPreprocessor` for "characters".

    Raises:
        ValueError: an unknown `tokenizer`.
    """
    if tokenizer == "characters":
        if not (resume and vocabulary_path.is_file()):
            save_characters(train_characters(texts), vocabulary_path)
        return CharacterPreprocessor(str(vocabulary_path), sequence_length=sequence_length)
    if tokenizer == "sentencepiece":
        if not (resume and model_path.is_file()):
            proto = train_sentencepiece(texts, vocabulary_size, lowercase=lowercase)
            save_sentencepiece(proto, model_path)
        preprocessor = TextPreprocessor(
            sentencepiece_model=str(model_path),
            sequence_length=sequence_length,
            lowercase=lowercase,
        )
        save_vocabulary(preprocessor.vocabulary, vocabulary_path)  # the pieces, for reference
        return preprocessor
    if tokenizer != "wordpiece":
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}. Received: tokenizer={tokenizer!r}")
    if not (resume and vocabulary_path.is_file()):
        vocabulary = train_wordpiece(texts, vocabulary_size, lowercase=lowercase)
        save_vocabulary(vocabulary, vocabulary_path)
    return TextPreprocessor(str(vocabulary_path), sequence_length=sequence_length, lowercase=lowercase)


def learn_tokenizer(cfg, texts, out, sequence_length, tokenizer=None):
    """`learn_or_reuse` with the run's `--vocabulary-size` and `--resume`, announced in the log.

    Args:
        cfg: a config with `vocabulary_size`, `resume` and (unless `tokenizer` is given) `tokenizer`.
        texts: the training texts.
        out: the run folder (`pathlib.Path`): `vocabulary.txt`, and `tokenizer.model` for SentencePiece.
        sequence_length: tokens per example of the preprocessor.
        tokenizer: "wordpiece" or "sentencepiece"; default `cfg.tokenizer`.

    Returns:
        The `TextPreprocessor`.
    """
    tokenizer = tokenizer or cfg.tokenizer
    started = time.perf_counter()
    preprocessor = learn_or_reuse(
        tokenizer,
        texts,
        out / "vocabulary.txt",
        out / "tokenizer.model",
        vocabulary_size=cfg.vocabulary_size,
        sequence_length=sequence_length,
        resume=cfg.resume,
    )
    elapsed = time.perf_counter() - started
    print(f"tokenizer: {preprocessor.vocabulary_size} {tokenizer} tokens ({elapsed:.1f}s)", flush=True)
    return preprocessor


def keep_checkpoint_vocabulary(preprocessor, out, origin, kind="WordPiece"):
    """Write a pretrained checkpoint's own vocabulary to `out/vocabulary.txt`, announced; returns it."""
    save_vocabulary(preprocessor.vocabulary, out / "vocabulary.txt")
    print(f"tokenizer: {preprocessor.vocabulary_size} {kind} tokens of {origin!r}", flush=True)
    return preprocessor
