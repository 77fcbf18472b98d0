"""recipes.inspect: heatmaps per attention layer for translation, classification and ViT models."""

import json

import numpy as np
import pytest
import tensorflow as tf

from recipes import inspect as inspect_recipe
from zoo.models import CausalLM, ImageClassifier, Seq2SeqLM, TextClassifier
from zoo.tokenizers import TextPreprocessor
from zoo.training.cli import run_main

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ein", "hund", "a", "dog", "good", "film", "."]
PNG = b"\x89PNG"


def saved(model, tmp_path, name="model.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def test_translation_model_gets_encoder_decoder_and_cross_maps(tmp_path, capsys):
    model = Seq2SeqLM.from_preset(
        "tiny",
        source_preprocessor=TextPreprocessor(vocabulary=VOCABULARY, sequence_length=8),
        target_preprocessor=TextPreprocessor(vocabulary=VOCABULARY, sequence_length=6),
    )
    path = saved(model, tmp_path)
    result = inspect_recipe.main(["--model", str(path), "--text", "Ein Hund.", "--out", str(tmp_path / "maps")])
    names = set(result["files"])
    assert {"encoder_0_self_attention.png", "decoder_0_self_attention.png", "decoder_0_cross_attention.png"} <= names
    for name in names:
        assert (tmp_path / "maps" / name).read_bytes()[:4] == PNG
    stored = json.loads((tmp_path / "maps" / "attention.json").read_text())
    assert stored["source"] == ["[CLS]", "ein", "hund", ".", "[SEP]"]
    cross = np.array(stored["layers"]["decoder_0/cross_attention"])
    assert cross.shape[1:] == (len(stored["target"]), len(stored["source"]))
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=1e-3)
    assert "translation:" in capsys.readouterr().out


def test_text_classifier_maps_cover_the_real_tokens(tmp_path, capsys):
    preprocessor = TextPreprocessor(vocabulary=VOCABULARY, sequence_length=32)
    model = TextClassifier.from_preset(
        "tiny", vocabulary_size=len(VOCABULARY), preprocessor=preprocessor, num_classes=2
    )
    path = saved(model, tmp_path)
    result = inspect_recipe.main(["--model", str(path), "--text", "a good film"])
    out = tmp_path / "inspect"  # default: beside the model
    stored = json.loads((out / "attention.json").read_text())
    assert stored["tokens"] == ["[CLS]", "a", "good", "film", "[SEP]"]
    (layer,) = result["layers"]
    assert np.array(stored["layers"][layer]).shape[1:] == (5, 5)
    assert "label:" in capsys.readouterr().out


def test_vit_images_from_files_and_from_the_run(tmp_path):
    model = ImageClassifier.from_preset("tiny")
    run = tmp_path / "run"
    run.mkdir()
    path = saved(model, run)
    image = tmp_path / "big.png"
    image.write_bytes(tf.io.encode_png(np.full((30, 20, 3), 200, np.uint8)).numpy())  # RGB, other size
    result = inspect_recipe.main(["--model", str(path), "--image", str(image), "--out", str(tmp_path / "a")])
    assert "attention.png" in result["files"] and "encoder_0_self_attention.png" in result["files"]
    (run / "config.json").write_text(json.dumps({"data": "builtin:digits", "seed": 0, "test_fraction": 0.2}))
    result = inspect_recipe.main(["--model", str(path), "--count", "2", "--out", str(tmp_path / "b")])
    assert len(json.loads((tmp_path / "b" / "attention.json").read_text())["images"]) == 2


@pytest.mark.parametrize(
    "case,message", [("missing", "does not exist"), ("causal", "draws Seq2SeqLM"), ("no_text", "--text is required")]
)
def test_errors_are_one_line(tmp_path, capsys, case, message):
    if case == "missing":
        path = tmp_path / "none.keras"
    elif case == "causal":
        path = saved(CausalLM.from_preset("tiny", vocabulary_size=20), tmp_path)
    else:
        preprocessor = TextPreprocessor(vocabulary=VOCABULARY, sequence_length=32)
        path = saved(
            TextClassifier.from_preset("tiny", vocabulary_size=len(VOCABULARY), preprocessor=preprocessor), tmp_path
        )
    with pytest.raises(SystemExit) as exit_info:
        run_main(inspect_recipe.main, ["--model", str(path)])
    assert exit_info.value.code in (1, 2)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
