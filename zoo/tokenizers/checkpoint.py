"""`load_checkpoint_tokenizer`: a Hugging Face checkpoint directory's own tokenizer as an in-graph layer.

Reads `tokenizer.model` (SentencePiece: Llama-2, Mistral), `tokenizer.json`
(byte-level BPE: GPT-2, Llama-3, Qwen2, SmolLM) or GPT-2's `vocab.json` +
`merges.txt`, with the special tokens that
`tokenizer_config.json` names. What zoo cannot reproduce exactly (another
model type, pre-tokenizer or normalizer) is a one-line error naming the
file and the value, never a tokenizer that is silently different.
"""

import json
import pathlib

from zoo.tokenizers.byte_pair import HUGGING_FACE_REGEXES, BytePairPreprocessor

TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "vocab.json + merges.txt")
NORMALIZERS = {None: None, "NFC": "NFC"}


def load_checkpoint_tokenizer(directory, sequence_length):
    """The tokenizer of the Hugging Face checkpoint in `directory`, as a preprocessor layer.

    Args:
        directory: a checkpoint directory (`tokenizer.json`, or `vocab.json`
            and `merges.txt`; `tokenizer_config.json` for BOS/EOS/PAD).
        sequence_length: int, the model's sequence length.

    Returns:
        A `SentencePiecePreprocessor` or `BytePairPreprocessor` (`cls_id` is the BOS id when the checkpoint
        adds one, else `None`; `sep_id` the EOS id; `pad_id` PAD or EOS; `source_files` the paths of the
        files read, for `zoo.export.export_run` to ship beside a token-id TFLite model).

    Raises:
        FileNotFoundError: none of the tokenizer files.
        ValueError: a malformed file, or a tokenizer zoo cannot reproduce
            exactly (named with its file and value).
    """
    directory = pathlib.Path(directory)
    settings = _tokenizer_config(directory)
    config = [directory / "tokenizer_config.json"] if settings else []
    if (directory / "tokenizer.model").is_file():  # SentencePiece (Llama-2, Mistral): the library's own ids
        preprocessor = _sentencepiece(directory / "tokenizer.model", settings, sequence_length)
        return _with_sources(preprocessor, [directory / "tokenizer.model", *config])
    if (directory / "tokenizer.json").is_file():
        arguments = _from_tokenizer_json(directory / "tokenizer.json")
        sources = [directory / "tokenizer.json", *config]
    elif (directory / "vocab.json").is_file() and (directory / "merges.txt").is_file():
        arguments = _from_vocab_and_merges(directory)
        sources = [directory / "vocab.json", directory / "merges.txt", *config]
    else:
        found = sorted(path.name for path in directory.iterdir()) if directory.is_dir() else []
        raise FileNotFoundError(
            f"{directory}: no tokenizer files; looked for {' or '.join(TOKENIZER_FILES)} "
            f"(found {found[:8] or 'nothing'})"
        )
    special = [token for token in arguments["special_tokens"]]
    for name in ("bos_token", "eos_token", "pad_token"):
        token = _token_text(settings.get(name))
        if token is not None:
            arguments[name] = token
            if token not in special:
                special.append(token)
    if "add_bos" not in arguments and settings.get("add_bos_token") is not None:
        arguments["add_bos"] = bool(settings["add_bos_token"]) and arguments.get("bos_token") is not None
    if arguments.get("eos_token") is None and "<|endoftext|>" in arguments["vocabulary"]:
        arguments["eos_token"] = "<|endoftext|>"  # GPT-2's only special token
    arguments["special_tokens"] = special
    return _with_sources(BytePairPreprocessor(sequence_length=sequence_length, **arguments), sources)


def _with_sources(preprocessor, paths):
    """`preprocessor` with `source_files`: the files it was read from, which exports ship beside token-id models.

    A plain attribute, not part of `get_config`: a preprocessor restored from
    a `.keras` file has none.
    """
    preprocessor.source_files = tuple(str(path) for path in paths)
    return preprocessor


def _sentencepiece(path, settings, sequence_length):
    from zoo.tokenizers.sentencepiece_preprocessor import SentencePiecePreprocessor

    model = path.read_bytes()
    try:
        import sentencepiece

        sentencepiece.SentencePieceProcessor(model_proto=model)
    except RuntimeError as error:
        raise ValueError(f"{path}: not a SentencePiece model ({str(error).splitlines()[0]})") from None
    bos, eos, pad = (_token_text(settings.get(name)) for name in ("bos_token", "eos_token", "pad_token"))
    add_bos = settings.get("add_bos_token", bos is not None) and bos is not None  # Llama-2's default
    return SentencePiecePreprocessor(model, sequence_length, bos, eos, pad, add_bos=bool(add_bos))


def _from_tokenizer_json(path):
    data = _read_json(path)
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise ValueError(f"{path}: model.type {model.get('type')!r} is not supported; zoo reads byte-level 'BPE'")
    if model.get("byte_fallback") or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        raise ValueError(f"{path}: a BPE with byte_fallback / subword prefixes is not byte-level; not supported")
    normalizer = (data.get("normalizer") or {}).get("type")
    if normalizer not in NORMALIZERS:
        raise ValueError(f"{path}: normalizer {normalizer!r} is not supported (supported: none, NFC)")
    decoder = (data.get("decoder") or {}).get("type")
    if decoder != "ByteLevel":
        raise ValueError(f"{path}: decoder {decoder!r} is not supported; byte-level BPE decodes with 'ByteLevel'")
    added = data.get("added_tokens") or []
    vocabulary = dict(model.get("vocab") or {})
    vocabulary.update({token["content"]: token["id"] for token in added})
    return {
        "vocabulary": vocabulary,
        "merges": model.get("merges") or [],
        "pretokenizer": _pretokenizer(path, data.get("pre_tokenizer")),
        "normalization": NORMALIZERS[normalizer],
        "special_tokens": [token["content"] for token in added],
        "add_bos": _adds_bos(data.get("post_processor")),
        "bos_token": _adds_bos(data.get("post_processor"), token=True),
    }


def _from_vocab_and_merges(directory):
    vocabulary = _read_json(directory / "vocab.json")
    lines = (directory / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = [line for line in lines if line and not line.startswith("#version")]
    bad = [number for number, line in enumerate(lines, 1) if line and not line.startswith("#") and line.count(" ") != 1]
    if bad:
        raise ValueError(f"{directory / 'merges.txt'}: line {bad[0]} is not a merge rule 'a b'")
    special = ["<|endoftext|>"] if "<|endoftext|>" in vocabulary else []
    return {"vocabulary": vocabulary, "merges": merges, "pretokenizer": "gpt2", "special_tokens": special}


def _pretokenizer(path, pre_tokenizer):
    """The `BytePairPreprocessor.pretokenizer` that a tokenizer.json pre-tokenizer is, or an error naming it."""
    steps = (pre_tokenizer or {}).get("pretokenizers") if (pre_tokenizer or {}).get("type") == "Sequence" else None
    steps = steps if steps is not None else [pre_tokenizer or {}]
    kinds = [step.get("type") for step in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space"):
        return "gpt2"
    if kinds == ["Digits", "ByteLevel"]:  # SmolLM / SmolLM2
        digits, byte_level = steps
        if (
            digits.get("individual_digits")
            and byte_level.get("use_regex", True)
            and not byte_level.get("add_prefix_space")
        ):
            return "smollm"
        raise ValueError(
            f"{path}: Digits + ByteLevel pre-tokenizer is supported only with individual_digits=true, "
            f"use_regex=true and add_prefix_space=false (received {steps})"
        )
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        split = steps[0]
        regex = (split.get("pattern") or {}).get("Regex")
        if (
            regex in HUGGING_FACE_REGEXES
            and str(split.get("behavior")).lower() == "isolated"
            and not split.get("invert")
        ):
            return HUGGING_FACE_REGEXES[regex]
        raise ValueError(f"{path}: the Split pre-tokenizer regex {regex!r} is not one zoo reproduces exactly")
    raise ValueError(
        f"{path}: pre-tokenizer {kinds} is not supported (supported: ByteLevel, Split + ByteLevel, Digits + ByteLevel)"
    )


def _adds_bos(post_processor, token=False):
    """Whether a TemplateProcessing post-processor puts a special token before `$A` (or that token)."""
    post_processor = post_processor or {}
    steps = post_processor.get("processors") if post_processor.get("type") == "Sequence" else [post_processor]
    for step in steps or []:
        if step.get("type") == "TemplateProcessing":
            first = (step.get("single") or [{}])[0]
            special = first.get("SpecialToken", {}).get("id")
            if special is not None:
                return special if token else True
    return None if token else False


def _tokenizer_config(directory):
    path = directory / "tokenizer_config.json"
    return _read_json(path) if path.is_file() else {}


def _token_text(token):
    return token.get("content") if isinstance(token, dict) else token


def _read_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
