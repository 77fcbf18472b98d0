"""Write tiny random Hugging Face BART and Marian checkpoints and transformers' outputs on them (run once, not in CI).

    /tmp/refvenv/bin/python tools/make_seq2seq_references.py   # a venv with torch + transformers + sentencepiece

Each variant is a directory `tests/checkpoints/reference/seq2seq/<name>/`
as `save_pretrained` writes it (config.json, generation_config.json,
model.safetensors) with its tokenizer files:

- BART: a byte-level BPE (vocab.json + merges.txt, ~300 tokens: the 256
  bytes, `<s> <pad> </s> <unk> <mask>` at 0..4 and a few merges) trained
  with `tokenizers` on English and Spanish lines of Tatoeba spa-eng;
- Marian: SentencePiece unigram models `source.spm` (English) and
  `target.spm` (Spanish) trained with `sentencepiece`, and `vocab.json`
  mapping the union of their pieces to the model's ids (`</s>` 0,
  `<unk>` 1, `<pad>` last), as opus-mt checkpoints do; the ids are not
  the .spm ids.

Weights are drawn with a large spread (normal, std 0.3; norms 1 + N(0,
0.1); a random `final_logits_bias`) so that every tensor moves the logits
and top-1 choices are not near ties. `reference.npz` holds, computed from
the checkpoint as reloaded from disk (float32):

- `source_ids`, `source_mask` `(2, 10)`, `target_ids`, `target_mask`
  `(2, 8)` (row 1 right-padded on both sides) and `logits` `(2, 8, V)`;
- `generate_ids`, `generate_mask` `(3, 9)`: three sources of different
  lengths; `greedy` and `beam` `(3, <= MAX_LENGTH)`: transformers'
  `generate` (`num_beams` 1 and 4, `max_length=MAX_LENGTH`, the
  checkpoint's generation config: decoder start, forced BOS (bart_tied,
  as bart-base) and EOS, `bad_words_ids` = the pad id (marian_shared, as
  opus-mt));
- `texts` (JSON strings), `source_token_ids` (the tokenizer's ids with its
  special tokens, `-1`-padded), `target_token_ids` (`text_target=`) and
  `decoded` (JSON: `decode(skip_special_tokens=True)` of each target row).

Options are varied on purpose: tied and untied heads, shared and separate
token tables, `scale_embedding` on and off, gelu / swish / relu.
"""

import gzip
import json
import pathlib
import shutil
import sys
import tempfile

import numpy as np
import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "checkpoints" / "reference" / "seq2seq"
SPA_ENG = ROOT.parent / "shared" / "data" / "spa-eng" / "spa-eng.tsv.gz"
MAX_LENGTH = 12
sys.path.insert(0, str(ROOT / "tools"))
from make_tokenizer_references import tricky_strings  # noqa: E402

SMALL = dict(
    d_model=16,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=32,
    decoder_ffn_dim=32,
    max_position_embeddings=32,
)
VARIANTS = {
    # bart-base's layout: tied, no scaling, gelu, forced BOS 0 and EOS 2, decoder start 2.
    "bart_tied": dict(family="bart", options=dict(activation_function="gelu"), generation=dict(forced_bos_token_id=0)),
    # An untied head, sqrt(d_model) scaling, swish, no forced BOS.
    "bart_untied_scaled": dict(
        family="bart",
        options=dict(activation_function="swish", scale_embedding=True, tie_word_embeddings=False),
        generation={},
    ),
    # opus-mt's layout: shared and tied table, sqrt(d_model) scaling, swish, sinusoidal positions.
    "marian_shared": dict(
        family="marian",
        options=dict(activation_function="swish", scale_embedding=True),
        generation=dict(bad_words_ids=[[-1]]),  # -1: the pad id, as opus-mt's generation_config.json
    ),
    # Separate encoder / decoder tables (the head tied to the decoder's), gelu, no scaling.
    "marian_separate": dict(
        family="marian",
        options=dict(activation_function="gelu", scale_embedding=False, share_encoder_decoder_embeddings=False),
        generation={},
    ),
}
EXTRA_STRINGS = [
    "Could not open file %s",
    "Tom is reading a book.",
    "¿Dónde está la estación?",
    "</s>",
    "a</s>b",
    "<pad> padded",
    "<unk>",
    ">>es<< Hello there",
    "no code >>es<<",
]


def sentence_pairs(count=600):
    with gzip.open(SPA_ENG, "rt", encoding="utf-8") as lines:
        pairs = [line.rstrip("\n").split("\t")[:2] for _, line in zip(range(count * 40), lines)]
    return pairs[::40][:count]


def bart_tokenizer(directory):
    from tokenizers import ByteLevelBPETokenizer

    english, spanish = zip(*sentence_pairs())
    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(
        list(english) + list(spanish),
        vocab_size=300,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    tokenizer.save_model(str(directory))
    return transformers.BartTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"))


def marian_tokenizer(directory):
    import sentencepiece

    english, spanish = zip(*sentence_pairs())
    pieces = []
    for name, texts in (("source", english), ("target", spanish)):
        with tempfile.TemporaryDirectory() as scratch:
            corpus = pathlib.Path(scratch) / "corpus.txt"
            corpus.write_text("\n".join(texts), encoding="utf-8")
            sentencepiece.SentencePieceTrainer.train(
                input=str(corpus),
                model_prefix=str(pathlib.Path(scratch) / name),
                vocab_size=150,
                model_type="unigram",
                character_coverage=1.0,
                bos_id=-1,
                eos_id=0,
                unk_id=1,
                pad_id=-1,
                eos_piece="</s>",
                minloglevel=2,
            )
            shutil.copy(pathlib.Path(scratch) / f"{name}.model", directory / f"{name}.spm")
        model = sentencepiece.SentencePieceProcessor(model_file=str(directory / f"{name}.spm"))
        pieces += [model.id_to_piece(index) for index in range(model.get_piece_size())]
    vocabulary = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        vocabulary.setdefault(piece, len(vocabulary))
    vocabulary["<pad>"] = len(vocabulary)
    (directory / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False, indent=1), encoding="utf-8")
    tokenizer = transformers.MarianTokenizer(
        str(directory / "source.spm"), str(directory / "target.spm"), str(directory / "vocab.json")
    )
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def randomize(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "embed_positions" in name and "marian" in type(model).__name__.lower():
                continue  # Marian's sinusoidal table is fixed
            noise = torch.randn(parameter.shape, generator=generator)
            if "layer_norm" in name or "layernorm" in name:
                parameter.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * noise)
            else:
                parameter.copy_(0.3 * noise)
        model.final_logits_bias.copy_(0.2 * torch.randn(model.final_logits_bias.shape, generator=generator))


def build(name, family, options, generation, seed):
    directory = OUT / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    tokenizer = bart_tokenizer(directory) if family == "bart" else marian_tokenizer(directory)
    vocabulary_size = len(tokenizer.get_vocab())
    if family == "bart":
        config = transformers.BartConfig(vocab_size=vocabulary_size, **SMALL, **options)
        model_class = transformers.BartForConditionalGeneration
    else:
        pad = tokenizer.pad_token_id
        config = transformers.MarianConfig(
            vocab_size=vocabulary_size, pad_token_id=pad, decoder_start_token_id=pad, **SMALL, **options
        )
        model_class = transformers.MarianMTModel
    torch.manual_seed(seed)
    model = model_class(config).eval()
    randomize(model, seed)
    model.tie_weights()
    for key, value in generation.items():  # transformers 5 keeps generation options out of config.json
        value = [[config.pad_token_id]] if value == [[-1]] else value
        setattr(model.generation_config, key, value)
    model.save_pretrained(str(directory), safe_serialization=True)
    if family == "bart":
        tokenizer.save_pretrained(str(directory))
    model = model_class.from_pretrained(str(directory)).eval()
    reference = outputs(model, tokenizer)
    np.savez_compressed(directory / "reference.npz", **reference)
    print(f"{name}: V={vocabulary_size}, files {sorted(path.name for path in directory.iterdir())}")


def padded(rows, fill=-1):
    width = max(len(row) for row in rows)
    return np.array([list(row) + [fill] * (width - len(row)) for row in rows], np.int64)


def outputs(model, tokenizer):
    config = model.config
    generator = np.random.default_rng(0)
    vocabulary_size = config.vocab_size if getattr(config, "share_encoder_decoder_embeddings", True) else None
    vocabulary_size = vocabulary_size or config.decoder_vocab_size
    specials = {config.pad_token_id, config.eos_token_id, config.decoder_start_token_id, 0, 1, 2}
    ordinary = np.array([index for index in range(vocabulary_size) if index not in specials])
    source_ids = generator.choice(ordinary, (2, 10))
    source_mask = np.ones((2, 10), np.int64)
    source_mask[1, 6:] = 0
    source_ids[1, 6:] = config.pad_token_id
    target_ids = generator.choice(ordinary, (2, 8))
    target_ids[:, 0] = config.decoder_start_token_id
    target_mask = np.ones((2, 8), np.int64)
    target_mask[1, 5:] = 0
    target_ids[1, 5:] = config.pad_token_id
    with torch.no_grad():
        logits = model(
            input_ids=torch.tensor(source_ids),
            attention_mask=torch.tensor(source_mask),
            decoder_input_ids=torch.tensor(target_ids),
            decoder_attention_mask=torch.tensor(target_mask),
        ).logits.numpy()
    sources = ["Tom is reading a book.", "Could not open file %s", "I am here."]
    batch = tokenizer(sources, padding="max_length", max_length=9, truncation=True, return_tensors="pt")
    generated = {}
    with torch.no_grad():
        for key, beams in (("greedy", 1), ("beam", 4)):
            generated[key] = model.generate(**batch, max_length=MAX_LENGTH, num_beams=beams, do_sample=False).numpy()
    texts = tricky_strings() + EXTRA_STRINGS
    source_rows = [tokenizer(text)["input_ids"] for text in texts]
    target_rows = [tokenizer(text_target=text)["input_ids"] for text in texts]
    decoded = [tokenizer.decode(row, skip_special_tokens=True) for row in target_rows]
    return {
        "source_ids": source_ids,
        "source_mask": source_mask,
        "target_ids": target_ids,
        "target_mask": target_mask,
        "logits": logits.astype(np.float32),
        "generate_ids": batch["input_ids"].numpy(),
        "generate_mask": batch["attention_mask"].numpy(),
        "greedy": generated["greedy"],
        "beam": generated["beam"],
        "texts": np.array(json.dumps(texts, ensure_ascii=False)),
        "source_token_ids": padded(source_rows),
        "target_token_ids": padded(target_rows),
        "decoded": np.array(json.dumps(decoded, ensure_ascii=False)),
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, variant) in enumerate(VARIANTS.items()):
        build(name, variant["family"], variant["options"], variant["generation"], seed)


if __name__ == "__main__":
    main()
