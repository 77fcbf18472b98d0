"""The data of the seq2seq recipes: pairs, a capped test split, one tokenizer per side."""

import collections
import dataclasses
import json
import time

import numpy as np

from recipes import common
from zoo.checkpoints.bert import resolve_checkpoint_path
from zoo.data import load_pair_dataset
from zoo.models import Seq2SeqLM

SMOKE_EXAMPLES = (256, 16)  # train, test
MAX_TEST_PAIRS = 2000  # default held-out size of a source without a test split (10% up to this)


def load_data(cfg):
    has_test_split = cfg.test_data is not None or cfg.data.startswith("tfds:")
    train, test = load_pair_dataset(
        cfg.data,
        test_spec=cfg.test_data,
        source_language=cfg.source_language,
        target_language=cfg.target_language,
        test_size=None if has_test_split else cfg.test_size,
        seed=cfg.seed,
        max_bad_fraction=cfg.max_bad_fraction,
        reverse=cfg.reverse,
    )
    if cfg.test_size is None and not has_test_split:  # the loader held out 10%
        train, test = cap_test_split(train, test, MAX_TEST_PAIRS, cfg.seed)
    if cfg.smoke:
        train, test = common.smoke_subsets(train, test, SMOKE_EXAMPLES, cfg.seed)
    print(f"data {cfg.data}: {len(train)} train / {len(test)} test pairs ({train.name}, {test.name})", flush=True)
    return train, test


def cap_test_split(train, test, max_pairs, seed=0):
    """Move test pairs beyond `max_pairs` back to train, whole source groups at a time.

    A random 10% split of a large corpus makes evaluation (generation) slow. The groups kept
    are drawn at random (seeded); no source ends up in both splits.
    """
    if len(test) <= max_pairs:
        return train, test
    counts = collections.Counter(test.sources)
    groups = list(counts)
    kept, total = set(), 0
    for position in np.random.default_rng(seed).permutation(len(groups)):
        if total + counts[groups[position]] <= max_pairs:
            kept.add(groups[position])
            total += counts[groups[position]]
    keep = np.array([source in kept for source in test.sources])
    moved = test.subset(~keep)
    train = dataclasses.replace(train, sources=train.sources + moved.sources, targets=train.targets + moved.targets)
    return train, test.subset(keep)


def preprocessors_for(cfg, train, out, source_length, target_length):
    """One tokenizer per side, learned on the training split (reused when resuming).

    The target side has `target_length + 1` tokens: BOS and the target the decoder learns.
    """
    started = time.perf_counter()
    sides = {}
    for side, texts, length in (("source", train.sources, source_length), ("target", train.targets, target_length + 1)):
        sides[side] = common.learn_or_reuse(
            cfg.tokenizer,
            texts,
            out / f"{side}_vocabulary.txt",
            out / f"{side}.model",
            vocabulary_size=cfg.vocabulary_size,
            sequence_length=length,
            resume=cfg.resume,
            lowercase=cfg.lowercase,
        )
    print(
        f"tokenizers ({cfg.tokenizer}): source {sides['source'].vocabulary_size}, target "
        f"{sides['target'].vocabulary_size} tokens ({time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    return sides["source"], sides["target"]


def pretrained_model(cfg, source_length, target_length):
    """`--init`: `minilm` or a BERT directory warm-started (encoder and decoder), or a BART / Marian directory.

    Either keeps the checkpoint's tokenizers (`--tokenizer`, `--vocabulary-size` and `--lowercase` do
    not apply); `source_length` / `target_length` are the model's (target: BOS + summary).
    """
    path = resolve_checkpoint_path(cfg.init)
    config = path / "config.json"
    is_bert = config.is_file() and json.loads(config.read_text(encoding="utf-8")).get("model_type") == "bert"
    if is_bert:
        model = Seq2SeqLM.from_encoder_checkpoint(path, source_length=source_length, target_length=target_length)
    else:
        model = Seq2SeqLM.from_checkpoint(path, source_length=source_length, target_length=target_length)
    if model.source_preprocessor is None or model.target_preprocessor is None:
        raise ValueError(f"--init {cfg.init}: zoo cannot load this checkpoint's tokenizers")
    kind = "warm-started from BERT" if is_bert else "loaded"
    print(
        f"--init {cfg.init} ({kind}): source {model.source_preprocessor.vocabulary_size}, target "
        f"{model.target_preprocessor.vocabulary_size} tokens (the checkpoint's tokenizers)",
        flush=True,
    )
    return model


def drop_overlong(train, source_preprocessor, target_preprocessor, truncate_sources=False):
    """Training pairs whose tokens fit the sequence lengths (truncated targets teach cut-off
    outputs)."""
    source_length = source_preprocessor.sequence_length
    target_length = target_preprocessor.sequence_length

    def fits(preprocessor, texts, length):  # + 2: [CLS] ... [SEP]
        return preprocessor.tokenize(texts).row_lengths().numpy() + 2 <= length

    keep = fits(target_preprocessor, train.targets, target_length)
    if not truncate_sources:
        keep &= fits(source_preprocessor, train.sources, source_length)
    if not keep.any():
        source = "" if truncate_sources else f"source_length {source_length} and "
        raise ValueError(
            f"no training pair fits {source}target_length {target_length - 1}; "
            "raise --target-length" + ("" if truncate_sources else " / --source-length")
        )
    if not keep.all():
        print(
            f"dropped {int((~keep).sum())} of {len(train)} training pairs longer than the "
            f"sequence length(s) (source {source_length}, target {target_length - 1} tokens)",
            flush=True,
        )
    return train.subset(keep)
