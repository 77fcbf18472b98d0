"""`ship_tokenizer`: a checkpoint's own tokenizer files beside the token-id TFLite files of a run.

The byte-level BPE and SentencePiece tokenizers of a loaded checkpoint run
inside the SavedModel (TensorFlow / tensorflow-text ops), but have no TFLite
kernels: the TFLite files take token ids and an app tokenizes. `export_run`
therefore copies, unchanged, the files the model's preprocessor was read from
(its `source_files`, set by `zoo.tokenizers.load_checkpoint_tokenizer`:
`tokenizer.json`, `vocab.json` + `merges.txt` or `tokenizer.model`, and
`tokenizer_config.json`) and the checkpoint's `generation_config.json` /
`special_tokens_map.json` into `out_dir/tflite_tokenizer/`, with:

- `tokenization.json`: what an app needs to pack a prompt the way the model
  does (whether a BOS goes first and its id, the end / pad ids, the ids of an
  empty prompt, the longest prompt, the cache length) and an example prompt
  with its ids to check an app's tokenizer against;
- `README.md`: the same in words, with the prefill/decode loop.

Part of the export core: it imports no model (it reads the model's
attributes).
"""

import json
import pathlib
import shutil

import numpy as np

from zoo.io import atomic_directory

TOKENIZER_DIRECTORY = "tflite_tokenizer"
# Checkpoint files an app's tokenizer may read too, copied when the checkpoint has them.
COMPANION_FILES = ("tokenizer_config.json", "generation_config.json", "special_tokens_map.json")
EXAMPLE_PROMPT = "To be, or not to be"


def ship_tokenizer(model, out_dir):
    """Copy `model`'s checkpoint tokenizer files into `out_dir/tflite_tokenizer/` with a manifest and README.

    Args:
        model: a task model whose `preprocessor` may carry `source_files`
            (a `CausalLM.from_checkpoint` with the checkpoint's tokenizer).
        out_dir: the run folder (beside `model.tflite`).

    Returns:
        `tokenization.json`'s content plus its `path`, or None when the
        model is no causal LM or its preprocessor came from no files (zoo's
        own vocabularies: the run writes those itself, e.g. `characters.txt`).

    Raises:
        FileNotFoundError: a file the tokenizer was read from is gone.
    """
    preprocessor = getattr(model, "preprocessor", None)
    sources = [pathlib.Path(path) for path in getattr(preprocessor, "source_files", None) or ()]
    if not sources or not hasattr(model, "pack_prompts"):  # the rules below are a causal LM's prompts
        return None
    for path in sources:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the tokenizer file the model was loaded from is gone; cannot ship it")
    directory = sources[0].parent
    names = [path.name for path in sources]
    sources += [directory / name for name in COMPANION_FILES if name not in names and (directory / name).is_file()]
    manifest = tokenization(model, [path.name for path in sources])
    target = pathlib.Path(out_dir) / TOKENIZER_DIRECTORY
    with atomic_directory(target) as temporary:
        for path in sources:
            shutil.copyfile(path, temporary / path.name)
        (temporary / "tokenization.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        (temporary / "README.md").write_text(readme(manifest), encoding="utf-8")
    return {"path": str(target), **manifest}


def tokenization(model, files):
    """The JSON-ready packing rules of `model`'s prompts (see the module docstring)."""
    preprocessor = model.preprocessor
    bos = getattr(preprocessor, "cls_id", None)
    width = model.sequence_length - 1
    example_ids, _ = model.pack_prompts([EXAMPLE_PROMPT])
    empty_ids, empty_mask = model.pack_prompts([""])
    return {
        "tokenizer_files": files,
        "tokenizer": type(preprocessor).__name__,
        "prepend_bos": bos is not None,
        "bos_token_id": None if bos is None else int(bos),
        "end_token_id": _int_or_none(model.end_token_id),
        "pad_token_id": _int_or_none(model.pad_token_id),
        "empty_prompt_token_ids": [int(i) for i in np.asarray(empty_ids)[0][np.asarray(empty_mask)[0] > 0]],
        "max_prompt_tokens": width,
        "cache_length": model.sequence_length,
        "example": {"text": EXAMPLE_PROMPT, "token_ids": [int(i) for i in np.asarray(example_ids)[0]]},
    }


def readme(manifest):
    """`README.md` of the tokenizer folder: how an app tokenizes, loops and detokenizes."""
    files = manifest["tokenizer_files"]
    if manifest["prepend_bos"]:
        bos = f"then put the BOS id {manifest['bos_token_id']} first"
        empty = f"an empty prompt is `[{manifest['bos_token_id']}]`"
    else:
        bos = "and put no BOS first (this checkpoint's tokenizer adds none)"
        empty = f"an empty prompt is `{manifest['empty_prompt_token_ids']}` (the end-of-text token alone)"
    if "tokenizer.model" in files:
        library = "sentencepiece: `SentencePieceProcessor(model_file='tokenizer.model').encode(text)`"
    elif "tokenizer.json" in files:
        library = (
            "Hugging Face tokenizers: "
            "`Tokenizer.from_file('tokenizer.json').encode(text, add_special_tokens=False).ids`"
        )
    else:
        library = "Hugging Face tokenizers: `ByteLevelBPETokenizer('vocab.json', 'merges.txt').encode(text).ids`"
    example = manifest["example"]
    return f"""# Tokenizer of the token-id TFLite files

`model.tflite` (signatures `prefill` and `decode`) and `model_generate.tflite`
take token ids: this checkpoint's tokenizer ({manifest["tokenizer"]}) runs
inside the SavedModel but has no TFLite kernels, so an app tokenizes with
the checkpoint's own files, copied here unchanged: {", ".join(f"`{name}`" for name in files)}.
`tokenization.json` holds the same rules for programs.

## A prompt's ids

Encode the text without special tokens, e.g. with {library},
{bos}; {empty}. Keep at most the last {manifest["max_prompt_tokens"]} ids.
Check an app's tokenizer on `{example["text"]}` -> `{example["token_ids"]}`.

## Greedy generation

1. `prefill(token_ids)` with the prompt's ids `(1, P)` -> `next_token`, `cache`.
2. `decode(token_ids=[[next_token]], index=P, cache=cache)` -> the next
   `next_token` and `cache`; then `index=P+1`, and so on, until
   `next_token` is the end id {manifest["end_token_id"]} or {manifest["cache_length"]}
   positions are filled (the cache length).
3. Decode the ids back to text with the same tokenizer, skipping special
   tokens.

`model_generate.tflite` runs that loop in one call on prompts right-padded
to {manifest["max_prompt_tokens"]} ids with a `padding_mask` (pad id {manifest["pad_token_id"]}).
"""


def _int_or_none(value):
    return None if value is None else int(value)
