"""The generation benchmark runs at tiny sizes and writes its JSON."""

import json
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

import pytest  # noqa: E402  (after the sys.path entry above)

from benchmarks import generation_speed  # noqa: E402


@pytest.mark.parametrize("model", ["seq2seq", "causal_lm"])
def test_benchmark_times_cached_uncached_and_keras_hub(tmp_path, model):
    out = tmp_path / "generation.json"
    record = generation_speed.main(
        [
            "--model",
            model,
            "--new-tokens",
            "6",
            "--repeats",
            "2",
            "--batch-sizes",
            "1,2",
            "--hidden-dim",
            "16",
            "--num-layers",
            "1",
            "--num-heads",
            "2",
            "--intermediate-dim",
            "32",
            "--vocabulary-size",
            "50",
            "--source-length",
            "8",
            "--out",
            str(out),
        ]
    )
    stored = json.loads(out.read_text())
    assert [entry["batch_size"] for entry in stored["results"]] == [1, 2]
    for entry in stored["results"]:
        assert set(entry["tokens_per_second"]) == {"zoo cached", "zoo uncached", "keras-hub"}
        assert all(rate > 0 for rate in entry["tokens_per_second"].values())
        assert entry["cached_over_uncached"] > 0 and entry["zoo_over_keras_hub"] > 0
    assert stored["results"][0]["tokens_per_second"] == record["results"][0]["tokens_per_second"]
