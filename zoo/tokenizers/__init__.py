"""Tokenizers: train WordPiece vocabularies and preprocess raw text inside the graph.

    vocabulary = train_wordpiece(train_texts, vocabulary_size=8000)
    preprocessor = TextPreprocessor(vocabulary, sequence_length=64)
    # or SentencePiece:
    model = train_sentencepiece(train_texts, vocabulary_size=8000)
    preprocessor = TextPreprocessor(sentencepiece_model=model, sequence_length=64)
    preprocessor(["a gorgeous, witty film"])  # {"token_ids", "padding_mask"}

A Hugging Face checkpoint's own byte-level BPE (GPT-2, Llama-3, Qwen2):

    preprocessor = load_checkpoint_tokenizer("path/to/checkpoint", sequence_length=512)

TensorFlow-only (tensorflow-text), like `zoo.data` and `zoo.export`.
"""

from zoo.tokenizers.byte_pair import BytePairPreprocessor
from zoo.tokenizers.characters import CharacterPreprocessor, save_characters, train_characters
from zoo.tokenizers.checkpoint import load_checkpoint_tokenizer
from zoo.tokenizers.preprocessor import TextPreprocessor
from zoo.tokenizers.sentencepiece import (
    load_sentencepiece,
    save_sentencepiece,
    sentencepiece_pieces,
    train_sentencepiece,
)
from zoo.tokenizers.sentencepiece_preprocessor import SentencePiecePreprocessor
from zoo.tokenizers.vocabulary import (
    SPECIAL_TOKENS,
    load_vocabulary,
    normalize_texts,
    save_vocabulary,
    train_wordpiece,
)

__all__ = [
    "SPECIAL_TOKENS",
    "BytePairPreprocessor",
    "CharacterPreprocessor",
    "SentencePiecePreprocessor",
    "TextPreprocessor",
    "load_checkpoint_tokenizer",
    "load_sentencepiece",
    "load_vocabulary",
    "normalize_texts",
    "save_characters",
    "save_sentencepiece",
    "save_vocabulary",
    "sentencepiece_pieces",
    "train_characters",
    "train_sentencepiece",
    "train_wordpiece",
]
