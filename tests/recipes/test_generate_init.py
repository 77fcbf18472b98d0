"""`recipes.generate --init DIR`: fine-tune a Hugging Face checkpoint on a text, reporting loss before and after.

The checkpoint is tests/checkpoints/reference/decoder/gpt2_tied (random weights, 320 rows) with
the GPT-2-style byte-level BPE of tests/tokenizers/reference/gpt2_320 (vocab.json + merges.txt)
copied beside it, as a user's checkpoint directory holds both.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

from recipes import generate

TESTS = pathlib.Path(__file__).resolve().parents[1]
CHECKPOINT = TESTS / "checkpoints" / "reference" / "decoder" / "gpt2_tied"
TOKENIZER = TESTS / "tokenizers" / "reference" / "gpt2_320"
TEXT = "".join(f"To be, or not to be, that is the question {i % 10}.\nWhether tis nobler.\n" for i in range(400))


@pytest.fixture
def checkpoint(tmp_path):
    """A copy of the gpt2 reference checkpoint with its tokenizer files."""
    directory = tmp_path / "gpt2"
    shutil.copytree(CHECKPOINT, directory)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        shutil.copy(TOKENIZER / name, directory / name)
    return directory


def test_init_fine_tunes_the_checkpoint_and_reports_loss_before_and_after(checkpoint, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "run"
    argv = ["--init", str(checkpoint), "--data", f"text:{corpus}", "--out", str(out), "--smoke", "--epochs", "1"]
    argv += ["--sequence-length", "32", "--learning-rate", "3e-3", "--quantize", "float32", "--prompts", "To be|Whe"]
    metrics = generate.main(argv)

    stored = json.loads((out / "metrics.json").read_text())
    assert stored["init"] == str(checkpoint) and stored["preset"] is None
    assert stored["parameters"] == metrics["parameters"] and stored["sequence_length"] == 32
    # The random checkpoint starts near ln(320) nats per token; fine-tuning on this repetitive text lowers it.
    assert stored["validation_loss_before"] > 4.0
    assert stored["validation_loss"] < stored["validation_loss_before"] - 1.0
    assert stored["validation_perplexity_before"] == pytest.approx(np.exp(stored["validation_loss_before"]))
    assert not (out / "characters.txt").exists()  # the checkpoint's tokenizer, nothing learned
    assert json.loads((out / "generation.json").read_text())["init"] == str(checkpoint)
    assert (out / "saved_model" / "1" / "saved_model.pb").is_file() and (out / "model.tflite").is_file()

    printed = capsys.readouterr().out
    summary = printed[printed.index("=== results ===") :]
    before = f"before fine-tuning: validation loss {stored['validation_loss_before']:.4f} nats/token"
    after = f"after fine-tuning:  validation loss {stored['validation_loss']:.4f} nats/token"
    assert before in summary and after in summary
    assert f"tokenizer: {stored['vocabulary_size']} tokens of '{checkpoint}'" in printed


def test_init_without_a_loadable_tokenizer_is_a_one_line_error(tmp_path):
    # The reference directory holds no tokenizer files: from_checkpoint gives a token-id model.
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    argv = ["--init", str(CHECKPOINT), "--data", f"text:{corpus}", "--out", str(tmp_path / "run"), "--smoke"]
    with pytest.raises(ValueError, match=r"--init .*gpt2_tied: zoo cannot load this checkpoint's tokenizer") as error:
        generate.main(argv)
    assert "\n" not in str(error.value)
