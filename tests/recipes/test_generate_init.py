"""`recipes.generate --init DIR`: fine-tune a Hugging Face checkpoint on a text, reporting loss before and after.

The checkpoint is helper-written tests/checkpoints/reference/decoder/gpt2_tied (random weights, 320
rows). Its tokenizer is a character vocabulary written into a copy of the directory (as its
tokenizer.json, the file `CausalLM.from_checkpoint` looks for) and loaded by a stand-in for
`zoo.tokenizers.load_checkpoint_tokenizer` (patched), so this test checks the recipe, not any one
tokenizer format.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

import zoo.tokenizers
from recipes import generate
from zoo.tokenizers import CharacterPreprocessor, save_characters, train_characters

CHECKPOINT = pathlib.Path(__file__).resolve().parents[1] / "checkpoints" / "reference" / "decoder" / "gpt2_tied"
TEXT = "".join(f"To be, or not to be, that is the question {i % 10}.\nWhether tis nobler.\n" for i in range(400))


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    """A copy of the gpt2 reference checkpoint whose tokenizer is the characters of TEXT."""
    directory = tmp_path / "gpt2"
    shutil.copytree(CHECKPOINT, directory)
    save_characters(train_characters([TEXT]), tmp_path / "characters.txt")
    (directory / "tokenizer.json").write_text(json.dumps({"characters": str(tmp_path / "characters.txt")}))

    def load(path, sequence_length):
        characters = json.loads((pathlib.Path(path) / "tokenizer.json").read_text())["characters"]
        return CharacterPreprocessor(characters, sequence_length=sequence_length)

    monkeypatch.setattr(zoo.tokenizers, "load_checkpoint_tokenizer", load, raising=False)
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


def test_init_without_a_loadable_tokenizer_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo.tokenizers, "load_checkpoint_tokenizer", lambda path, length: None, raising=False)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    argv = ["--init", str(CHECKPOINT), "--data", f"text:{corpus}", "--out", str(tmp_path / "run"), "--smoke"]
    with pytest.raises(ValueError, match=r"--init .*gpt2_tied: zoo cannot load this checkpoint's tokenizer") as error:
        generate.main(argv)
    assert "\n" not in str(error.value)
