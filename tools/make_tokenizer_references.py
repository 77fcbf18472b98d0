"""Write tiny byte-level BPE tokenizers and Hugging Face `tokenizers`' ids for tricky strings (run once, not in CI).

    /tmp/refvenv/bin/python tools/make_tokenizer_references.py [STYLE ...]   # a venv with tokenizers + transformers

Each style is trained with `tokenizers` on real text (Tiny Shakespeare,
Python's standard-library source, a few lines in other scripts) and saved
as a checkpoint saves it:

- `gpt2`: `vocab.json` + `merges.txt` (ByteLevel pre-tokenizer, GPT-2's regex);
- `llama3`: `tokenizer.json` with Llama-3's Split regex + ByteLevel, BOS added
  by a TemplateProcessing post-processor, and `tokenizer_config.json`;
- `qwen2`: `tokenizer.json` with Qwen2's regex, an NFC normalizer, no BOS;
- `smollm`: `tokenizer.json` as SmolLM2's: `Sequence[Digits(individual_digits=True),
  ByteLevel]`, a ByteLevel post-processor and decoder, `<|endoftext|>`,
  `<|im_start|>`, `<|im_end|>` as ids 0-2 and no BOS;
- `llama2`: SentencePiece BPE with byte fallback (`tokenizer.model`, Llama-2 / Mistral),
  ids from transformers' `LlamaTokenizer` (checked equal to `sentencepiece`'s).

Each directory gets `reference.json`: the strings, `tokenizers`' ids
(`encode`, with the post-processor) and the decoded text
(`decode(..., skip_special_tokens=True)`). The `_320` variants fit the
320-row embeddings of tests/checkpoints/reference/decoder/ (BOS 1, EOS 2).
"""

import argparse
import json
import pathlib
import sysconfig

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "tokenizers" / "reference"
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
# The checkpoints' split regexes as tokenizer.json files write them (zoo.tokenizers.byte_pair.HUGGING_FACE_REGEXES).
HEAD = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
TAIL = r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3, QWEN2 = HEAD + r"\p{N}{1,3}" + TAIL, HEAD + r"\p{N}" + TAIL
MULTILINGUAL = [
    "Ça a été très BIEN ! Déjà vu, naïve café.",
    "Größenwahn und Übermut: ß ẞ",
    "日本語のテキストを分割します。東京は大きい。",
    "中文分词测试，你好世界！",
    "مرحبا بالعالم، كيف حالك؟",
    "Привет, мир! Как дела?",
    "नमस्ते दुनिया",
    "Emoji: 😀👍🏽 👨‍👩‍👧 🇪🇸",
]


def corpus():
    text = SHAKESPEARE.read_text(encoding="utf-8")[:400_000]
    stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(stdlib.glob("json/*.py")))
    source += "".join(path.read_text(encoding="utf-8") for path in sorted(stdlib.glob("email/*.py"))[:6])
    chunks = [text[i : i + 2000] for i in range(0, len(text), 2000)]
    chunks += [source[i : i + 2000] for i in range(0, len(source), 2000)]
    return chunks + MULTILINGUAL * 20


def tricky_strings():
    """About 150 strings where pre-tokenizers differ: whitespace, digits, contractions, scripts, specials."""
    strings = ["", " ", "  ", "\n", "\n\n", "\t", " \t \n ", "a", "A B", "hello world", "Hello, World!"]
    for run in [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n", "\n ", " \n  ", "\u00a0", "\u3000\u3000"]:
        strings += [f"a{run}b", f"{run}lead", f"trail{run}", f"x{run}1", f"x{run}!", f"{run}"]
    for digits in ["1", "12", "123", "1234", "12345", "123456789012", "3.14159", "1,000,000", "2024-12-02", "0x1F"]:
        strings += [digits, f"abc{digits}", f" {digits} ", f"v{digits}.0"]
    strings += ["don't", "I'LL", "we'Re", "she'd've", "'s", " 's", "   's", "rock 'n' roll", "O'Neil's"]
    strings += ["!!!", "???...", "--", "->", "==", "a+=b", "(x)", "[1, 2]", "{'k': v}", "#!/bin/sh", "@user", "$100"]
    strings += [
        "café",
        "cafe\u0301",
        "e\u0301\u0301",
        "ﬁ ligature",
        "Ω ohm Ω",
        "½ ¾ ⅞",
        "\u200b zero width",
        "a\u00adb",
    ]
    strings += MULTILINGUAL
    strings += ["<|endoftext|>", "x<|endoftext|>y", " <|endoftext|> ", "<|begin_of_text|>hi", "<|im_start|>user\nhi"]
    strings += [
        "def f(x):\n    return x ** 2  # square\n",
        "if a == b:\n\tpass\n\n\nclass C:\n    pass",
        "    indented = True",
        "ROMEO:\nBut soft, what light through yonder window breaks?",
        "To be, or not to be: that is the question.",
        "https://example.com/path?q=1&r=2",
        "email@example.com",
        "CamelCaseWords and snake_case_words",
        "ALL CAPS SHOUTING",
        "tabs\tand\tspaces  mixed \t here",
        "end with newline\n",
        "ends with spaces   ",
    ]
    return list(dict.fromkeys(strings))


def train(pre_tokenizer, vocab_size, special_tokens, normalizer=None):
    tokenizer = Tokenizer(models.BPE())
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=special_tokens,
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus(), trainer)
    return tokenizer


def write_references(tokenizer, directory):
    texts = tricky_strings()
    ids = [tokenizer.encode(text).ids for text in texts]
    decoded = [tokenizer.decode(row, skip_special_tokens=True) for row in ids]
    reference = {"texts": texts, "ids": ids, "decoded": decoded}
    (directory / "reference.json").write_text(json.dumps(reference, ensure_ascii=False, indent=0), encoding="utf-8")


def gpt2(vocab_size, directory):
    tokenizer = train(
        pre_tokenizers.ByteLevel(add_prefix_space=False), vocab_size, ["<|pad|>", "<|bos|>", "<|endoftext|>"]
    )
    tokenizer.model.save(str(directory))  # vocab.json + merges.txt
    config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": False}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    write_references(tokenizer, directory)


def split_style(regex, vocab_size, directory, special_tokens, bos=None, normalizer=None):
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(regex), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer = train(pre, vocab_size, special_tokens, normalizer)
    if bos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokenizer.token_to_id(bos))]
        )
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"bos_token": bos, "eos_token": special_tokens[2], "add_bos_token": bos is not None}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    write_references(tokenizer, directory)


def smollm(vocab_size, directory):
    """SmolLM2's tokenizer.json layout (HuggingFaceTB/SmolLM2-135M), trained small."""
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    tokenizer = train(pre, vocab_size, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    write_references(tokenizer, directory)


def llama2(vocab_size, directory):
    """A SentencePiece BPE with byte fallback, as Llama-2 / Mistral ship it (`tokenizer.model`)."""
    import io

    import sentencepiece
    from transformers import LlamaTokenizer

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(line for chunk in corpus() for line in chunk.splitlines() if line.strip()),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=0.9995,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        split_digits=True,
        allow_whitespace_only_pieces=True,
    )
    (directory / "tokenizer.model").write_bytes(model.getvalue())
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    # The reference is sentencepiece itself (what tokenizer.model means); transformers' conversion is compared.
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())
    texts = tricky_strings()
    ids = [[processor.bos_id()] + processor.encode(text) for text in texts]
    decoded = [processor.decode(row[1:]) for row in ids]
    tokenizer = LlamaTokenizer.from_pretrained(str(directory), legacy=True)
    disagree = [text for text, row in zip(texts, ids) if tokenizer.encode(text) != row]
    print(f"{directory.name}: transformers' LlamaTokenizer differs from sentencepiece on {len(disagree)} strings")
    reference = {"texts": texts, "ids": ids, "decoded": decoded}
    (directory / "reference.json").write_text(json.dumps(reference, ensure_ascii=False, indent=0), encoding="utf-8")


STYLES = {
    "gpt2": 1000,
    "gpt2_320": 320,
    "llama3": 1000,
    "llama3_320": 320,
    "qwen2": 1000,
    "smollm": 1000,
    "llama2": 1000,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("styles", nargs="*", help=f"the styles to (re)write, of {list(STYLES)}; default all")
    styles = parser.parse_args().styles or list(STYLES)
    unknown = [name for name in styles if name not in STYLES]
    if unknown:
        parser.error(f"unknown styles {unknown}; choose from {list(STYLES)}")
    for name in styles:
        vocab_size = STYLES[name]
        directory = OUT / name
        directory.mkdir(parents=True, exist_ok=True)
        if name.startswith("gpt2"):
            gpt2(vocab_size, directory)
        elif name.startswith("llama2"):
            llama2(vocab_size, directory)
        elif name == "smollm":
            smollm(vocab_size, directory)
        elif name.startswith("llama3"):
            specials = ["<|pad|>", "<|begin_of_text|>", "<|end_of_text|>"]
            split_style(LLAMA3, vocab_size, directory, specials, bos="<|begin_of_text|>")
        else:
            specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
            split_style(QWEN2, vocab_size, directory, specials, normalizer=normalizers.NFC())
        print(f"wrote {directory}")


if __name__ == "__main__":
    main()
