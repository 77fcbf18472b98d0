"""Recipe variants (recipes.common.variants): --lora-rank, --quantize-weights, --max-metric-drop."""

import json

import keras
import numpy as np
import pytest

from recipes import generate, sentiment, vit
from recipes.common import MetricDropError, VariantsConfig, metric_drop
from recipes.common.variants import check_variants, weight_variants
from zoo.models import TextClassifier
from zoo.quantization import quantization_mode
from zoo.training.cli import run_main

POSITIVE = ["a gorgeous witty film", "warm and funny", "a moving story"]
NEGATIVE = ["a dull mess", "boring and flat", "a tedious plot"]


@pytest.fixture
def reviews_tsv(tmp_path):
    lines = [f"{text} {i}\tpos" for i in range(30) for text in POSITIVE]
    lines += [f"{text} {i}\tneg" for i in range(30) for text in NEGATIVE]
    path = tmp_path / "reviews.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_metric_drop_follows_the_metric_direction():
    assert metric_drop(0.9, 0.85) == pytest.approx(0.05)  # accuracy: higher is better
    assert metric_drop(10.0, 12.5, higher_is_better=False) == pytest.approx(2.5)  # perplexity
    assert metric_drop(0.8, 0.9) == pytest.approx(-0.1)  # better than float: a negative drop


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(lora_rank=-1), "--lora-rank must be a non-negative integer"),
        (dict(lora_rank=2, lora_targets=()), "--lora-targets must name at least one"),
        (dict(quantize_weights="int2"), "--quantize-weights must be one of int8, int4"),
        (dict(max_metric_drop=0.1), "give --quantize-weights too"),
        (dict(quantize_weights="int8", max_metric_drop=-0.5), "--max-metric-drop must be a number >= 0"),
    ],
)
def test_bad_variant_flags_are_clear_errors(fields, message):
    with pytest.raises(ValueError, match=message):
        check_variants(VariantsConfig(**fields))


def test_the_gate_refuses_a_larger_drop_and_writes_nothing(tmp_path):
    keras.utils.set_random_seed(0)
    model = TextClassifier.from_preset("tiny", vocabulary_size=30, num_classes=2)
    cfg = VariantsConfig(quantize_weights="int8", max_metric_drop=0.1)
    with pytest.raises(MetricDropError, match=r"the int8 weights lose 0\.4 accuracy \(0\.9 -> 0\.5\), more than"):
        weight_variants(cfg, tmp_path, model, "accuracy", 0.9, lambda variant: 0.5)
    assert list(tmp_path.iterdir()) == []
    cfg = VariantsConfig(quantize_weights="int8", max_metric_drop=0.5)
    variants = weight_variants(cfg, tmp_path, model, "accuracy", 0.9, lambda variant: 0.5)
    assert variants["int8"]["drop"] == pytest.approx(0.4) and variants["float32"] == {"accuracy": 0.9}
    assert quantization_mode(keras.saving.load_model(tmp_path / "model_int8.keras")) == "int8"


def check_variants_of_run(out, metrics, metric, mode="int8"):
    stored = json.loads((out / "metrics.json").read_text())
    variants = stored["variants"]
    assert variants["float32"] == {metric: pytest.approx(metrics["variants"]["float32"][metric])}
    assert variants["lora"]["rank"] == 2 and variants["lora"]["trainable"] > 0
    assert (out / "lora_adapter.npz").is_file()
    assert (out / f"model_{mode}.keras").is_file() and variants[mode]["bytes"] > 0
    quantized = keras.saving.load_model(out / f"model_{mode}.keras")
    assert quantization_mode(quantized) == mode
    assert not keras.saving.load_model(out / "model.keras").lora_enabled  # merged before the exports
    return variants, quantized


def test_sentiment_smoke_run_with_lora_and_int8_weights(reviews_tsv, tmp_path):
    out = tmp_path / "run"
    argv = ["--smoke", "--data", f"tsv:{reviews_tsv}", "--out", str(out), "--quantize", "float32"]
    metrics = sentiment.main([*argv, "--lora-rank", "2", "--lora-targets", "query,value", "--quantize-weights", "int8"])
    variants, quantized = check_variants_of_run(out, metrics, "accuracy")
    assert variants["float32"]["accuracy"] == pytest.approx(metrics["accuracy"])
    # The reported int8 accuracy is the saved int8 model's on the held-out texts (an independent recount).
    from recipes.common import smoke_subsets
    from zoo.data import load_text_dataset

    _, test = smoke_subsets(*load_text_dataset(f"tsv:{reviews_tsv}", seed=0), sentiment.SMOKE_EXAMPLES, 0)
    accuracy = np.mean(np.array(quantized.classify(test.texts)["class_ids"]) == test.labels)
    assert variants["int8"]["accuracy"] == pytest.approx(accuracy)
    assert variants["int8"]["drop"] == pytest.approx(metrics["accuracy"] - accuracy)


def test_vit_smoke_run_with_lora_and_int4_weights(tmp_path):
    out = tmp_path / "vit"
    argv = ["--smoke", "--out", str(out), "--quantize", "float32", "--attention-maps", "0"]
    metrics = vit.main([*argv, "--lora-rank", "2", "--quantize-weights", "int4", "--max-metric-drop", "1"])
    variants, _ = check_variants_of_run(out, metrics, "accuracy", mode="int4")
    assert 0 <= variants["int4"]["accuracy"] <= 1


def test_an_impossible_max_metric_drop_fails_the_run_in_one_line(tmp_path, capsys, monkeypatch):
    # A tiny smoke model's int4 perplexity may even beat float's; the quantized variant is scored 100
    # worse than its real perplexity here, so the drop is surely over 0 whatever the weights learned.
    real = generate.perplexity_on

    def perplexity_on(batches):
        score = real(batches)
        return lambda model: score(model) + (100.0 if quantization_mode(model) else 0.0)

    monkeypatch.setattr(generate, "perplexity_on", perplexity_on)
    out = tmp_path / "lm"
    argv = ["--smoke", "--out", str(out), "--quantize", "float32", "--quantize-weights", "int4"]
    with pytest.raises(SystemExit) as exit_info:
        run_main(generate.main, [*argv, "--max-metric-drop", "0"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the int4 weights lose") and "--max-metric-drop 0" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for name in ("metrics.json", "model.keras", "model_int4.keras", "model.tflite", "saved_model"):
        assert not (out / name).exists(), name
