"""The real-data part of `recipes.compare`: the sentiment and translate recipes, once per architecture.

Each architecture trains through the task's own recipe (`--architecture`),
so the data, tokenizer, training loop, evaluation and exports are the same
and only the model differs. Afterwards each run's model is timed at batch 1
(Keras and every TFLite file; `recipes.compare_latency`) for the deployment table.
"""

import pathlib

import numpy as np

from recipes.compare_latency import sentiment_latency, tflite_entry, translation_latency
from zoo.data import load_pair_dataset
from zoo.io import atomic_write_text


def _subset(dataset, size, seed):
    if size is None or size >= len(dataset):
        return dataset
    return dataset.subset(np.sort(np.random.default_rng(seed).permutation(len(dataset))[:size]))


def _clean(text):
    return " ".join(str(text).split())  # one line, no tabs


def write_pair_split(spec, test_spec, out, train_size, test_size, seed, **languages):
    """Load a parallel corpus, keep seeded subsets, write `train.tsv`/`test.tsv` (SOURCE<TAB>TARGET)."""
    train, test = load_pair_dataset(
        spec, test_spec=test_spec, test_size=None if test_spec else test_size, seed=seed, **languages
    )
    train, test = _subset(train, train_size, seed), _subset(test, test_size, seed)
    paths = []
    for name, dataset in (("train", train), ("test", test)):
        lines = [f"{_clean(s)}\t{_clean(t)}" for s, t in zip(dataset.sources, dataset.targets)]
        path = pathlib.Path(out) / f"{name}.tsv"
        atomic_write_text(path, "\n".join(lines) + "\n")
        paths.append(path)
    return paths[0], paths[1]


def _shared(*parts):
    path = pathlib.Path("../shared/data", *parts)
    return path if path.exists() else None


def _run_recipe(main, argv, out, resume):
    """`main(argv)`'s metrics; with `resume`, a finished run's `metrics.json` instead, and an
    unfinished one continues (`--resume`)."""
    import json

    metrics_path = pathlib.Path(out) / "metrics.json"
    if resume and metrics_path.is_file():
        print(f"reusing the finished run in {out}", flush=True)
        return json.loads(metrics_path.read_text())
    if resume and (pathlib.Path(out) / "checkpoints").is_dir():
        argv = [*argv, "--resume"]
    return main(argv)


def _recipe_argv(cfg, architecture, epochs, out):
    argv = [
        "--architecture",
        architecture,
        "--epochs",
        str(epochs),
        "--out",
        str(out),
        "--seed",
        str(cfg.seed),
        "--quantize",
        "float32",
    ]
    return argv + (["--smoke"] if cfg.smoke else [])


def run_sentiment(cfg, settings, runs_dir):
    """recipes.sentiment once per architecture: accuracy, parameters, training time, latency, TFLite size."""
    import recipes.sentiment
    from zoo.data import load_text_dataset

    data = cfg.sentiment_data or (f"rt-polarity:{_shared('rt-polarity')}" if _shared("rt-polarity") else None)
    if data is None:
        print("sentiment: skipped (no --sentiment-data and ../shared/data/rt-polarity is absent)", flush=True)
        return []
    _, test = load_text_dataset(data, test_fraction=0.1, seed=cfg.seed)
    texts = list(test.texts[:64])
    rows = []
    for architecture in cfg.architectures:
        out = pathlib.Path(runs_dir) / f"sentiment-{architecture}"
        print(f"\n--- sentiment, {architecture} ---", flush=True)
        argv = ["--data", data, *_recipe_argv(cfg, architecture, settings["epochs"], out)]
        metrics = _run_recipe(recipes.sentiment.main, argv, out, cfg.resume)
        keras_ms = sentiment_latency(out, texts, metrics)
        entry = tflite_entry(metrics, "token_ids") or tflite_entry(metrics)
        rows.append(
            {
                "task": "sentiment",
                "name": f"sentiment {architecture}",
                "architecture": architecture,
                "data": data,
                "parameters": metrics["parameters"],
                "accuracy": metrics["accuracy"],
                "epochs": metrics["epochs"],
                "train_seconds": metrics["train_seconds"],
                "keras_ms_per_example": keras_ms,
                "tflite_ms_per_example": entry.get("ms_per_example") if entry else None,
                "tflite_megabytes": round(entry["bytes"] / 1e6, 3) if entry else None,
                "run": str(out),
            }
        )
    return rows


def translation_data(cfg, settings, folder):
    """`(data, test_data, languages, corpus)`: recipe arguments for the chosen corpus cut to the mode's
    sizes (written as TSV files into `folder`), and the corpus's own name for the report."""
    data, test_data = cfg.translation_data, cfg.translation_test_data
    languages = dict(source_language=cfg.source_language, target_language=cfg.target_language)
    if data is None and _shared("multi30k", "train.de.gz"):
        folder_path = _shared("multi30k")
        data, test_data = f"parallel:{folder_path / 'train'}", f"parallel:{folder_path / 'val'}"
        languages = dict(source_language="de", target_language="en")
    data = data or "builtin:gettext-es"
    corpus = data if test_data is None else f"{data} (test: {test_data})"
    if cfg.smoke or (settings["train_size"] is None and settings["test_size"] is None):
        return data, test_data, languages, corpus
    train_path, test_path = write_pair_split(
        data, test_data, folder, settings["train_size"], settings["test_size"], cfg.seed, **languages
    )
    return f"tsv:{train_path}", f"tsv:{test_path}", {"source_language": None, "target_language": None}, corpus


def run_translation(cfg, settings, runs_dir):
    """recipes.translate once per architecture (transformer, lstm): BLEU, chrF, decode cost, TFLite size."""
    import recipes.translate

    architectures = [a for a in cfg.architectures if a in ("transformer", "lstm")]
    if not architectures:
        return []
    folder = pathlib.Path(runs_dir) / "translation-data"
    folder.mkdir(parents=True, exist_ok=True)
    data, test_data, languages, corpus = translation_data(cfg, settings, folder)
    extra = ["--test-data", test_data] if test_data else []
    extra += [item for key, value in languages.items() if value for item in (f"--{key.replace('_', '-')}", value)]
    rows = []
    for architecture in architectures:
        out = pathlib.Path(runs_dir) / f"translation-{architecture}"
        print(f"\n--- translation, {architecture} ---", flush=True)
        argv = ["--data", data, *extra, *_recipe_argv(cfg, architecture, settings["epochs"], out)]
        metrics = _run_recipe(recipes.translate.main, argv, out, cfg.resume)
        sources = [sample["source"] for sample in metrics["samples"]]
        ms_per_sentence, ms_per_token = translation_latency(out, sources)
        entry = tflite_entry(metrics, "generate") or tflite_entry(metrics)
        rows.append(
            {
                "task": "translation",
                "name": f"translation {architecture}",
                "architecture": architecture,
                "data": corpus,
                "train_pairs": metrics["train_pairs"],
                "test_sources": metrics["test_sources"],
                "parameters": metrics["parameters"],
                "bleu": metrics["bleu"],
                "chrf": metrics["chrf"],
                "epochs": metrics["epochs"],
                "train_seconds": metrics["train_seconds"],
                "ms_per_sentence": ms_per_sentence,
                "ms_per_token": ms_per_token,
                "tflite_megabytes": round(entry["bytes"] / 1e6, 3) if entry else None,
                "run": str(out),
            }
        )
    return rows


def run_real_data(cfg, settings, runs_dir):
    """Sentiment and translation rows (see `run_sentiment`, `run_translation`)."""
    return run_sentiment(cfg, settings["sentiment"], runs_dir) + run_translation(cfg, settings["translation"], runs_dir)
