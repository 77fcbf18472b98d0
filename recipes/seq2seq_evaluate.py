"""A seq2seq run's evaluation: generate for every held-out source, check TFLite, summarize."""

import collections
import json
import pathlib
import time

import numpy as np

from recipes.common import docker_command
from zoo.export import run_tflite

SAMPLE_KEYS = ("source", "output", "reference")


def group_references(test):
    """Distinct test sources in order, each with all of its reference targets."""
    references = collections.OrderedDict()
    for source, target in zip(test.sources, test.targets):
        references.setdefault(source, []).append(target)
    return list(references), list(references.values())


def generate_all(model, sources, num_beams, batch_size=64):
    """Generated text for every source, in batches of similar length.

    Returns:
        `(texts, sentences per second)`.
    """
    order = np.argsort([len(text) for text in sources], kind="stable")
    outputs = [None] * len(sources)
    sampler = "beam" if num_beams > 1 else "greedy"
    started = time.perf_counter()
    for start in range(0, len(sources), batch_size):
        indices = order[start : start + batch_size]
        texts = model.generate([sources[i] for i in indices], sampler=sampler, num_beams=num_beams)
        for index, text in zip(indices, texts):
            outputs[index] = text
        done = min(start + batch_size, len(sources))
        if done % (batch_size * 8) == 0 or done == len(sources):
            seconds = time.perf_counter() - started
            print(f"generated {done}/{len(sources)} ({seconds:.0f}s)", flush=True)
    return outputs, len(sources) / max(time.perf_counter() - started, 1e-9)


def evaluate_tflite(model, exports, sources, keras_outputs, task, references):
    """Each single-call TFLite file: its outputs on the first held-out sources vs Keras greedy,
    and the task's metric, in place."""
    for entry in exports["tflite"].values():
        if entry["variant"] != "generate":
            continue
        content = pathlib.Path(entry["path"]).read_bytes()
        started = time.perf_counter()
        token_ids = run_tflite(content, {"text": np.array(sources, dtype=object)})["token_ids"]
        texts = model.detokenize(token_ids)
        entry["examples"] = len(sources)
        entry["sentences_per_second"] = round(len(sources) / (time.perf_counter() - started), 2)
        same = [a == b for a, b in zip(texts, keras_outputs)]
        entry["equal_to_keras_greedy"] = float(np.mean(same))
        entry["metrics"] = task.evaluate(texts, sources, references)
        pairs = zip(sources[:3], texts)
        entry["samples"] = [{"source": source, "output": text} for source, text in pairs]


def print_summary(metrics, task):
    """The headline metric, every export with its size, samples, and how to serve the SavedModel."""
    print("\n=== results ===")
    sources = metrics["test_sources"]
    print(f"{task.headline(metrics)}  ({metrics['decoding']}, {sources} held-out sources)")
    print(
        f"architecture {metrics['architecture']} ({metrics['model']} {metrics['preset']!r}, "
        f"{metrics['parameters']:,} parameters)"
    )
    for name, entry in metrics["exports"]["tflite"].items():
        file_name = pathlib.Path(entry["path"]).name
        line = f"TFLite {name:<28} {entry['bytes'] / 1e3:9.1f} kB   {file_name}"
        if "equal_to_keras_greedy" in entry:
            same, examples = entry["equal_to_keras_greedy"], entry["examples"]
            line += f"   same output as Keras on {same:.0%} of {examples}"
        print(line)
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel {saved['bytes'] / 1e3:33.1f} kB   {saved['path']}")
    print("samples (source => output | reference):")
    for sample in metrics["samples"]:
        source, output, reference = (_one_line(sample[key]) for key in SAMPLE_KEYS)
        print(f"  {source}\n    => {output}\n     | {reference}")
    on_device = metrics["exports"]["tflite"].get("generate/float32")
    if on_device:
        file_name = pathlib.Path(on_device["path"]).name
        print(f"on device ({file_name}, the decoding loop inside the TFLite file):")
        for sample in on_device["samples"]:
            print(f"  {_one_line(sample['source'])}\n    => {_one_line(sample['output'])}")
    request = json.dumps({"instances": [metrics["samples"][0]["source"][:60]]})
    print(
        f"serve: {docker_command(saved['path'], task.name)}\n"
        f"       curl -d '{request}' localhost:8501/v1/models/{task.name}:predict"
    )
    print(f"total {metrics['seconds']:.0f}s", flush=True)


def _one_line(text, width=80):
    return " ".join(text.split())[:width]
