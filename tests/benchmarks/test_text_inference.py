"""The text inference benchmark runs on a --smoke sentiment run and writes its JSON."""

import json
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import text_inference  # noqa: E402
from recipes import sentiment  # noqa: E402


def test_benchmark_times_every_export_of_a_run(tmp_path):
    data = tmp_path / "reviews.tsv"
    data.write_text("".join(f"good fun film {i}\tpos\nbad dull film {i}\tneg\n" for i in range(40)))
    run = tmp_path / "run"
    sentiment.main(["--smoke", "--data", f"tsv:{data}", "--out", str(run)])
    out = tmp_path / "bench.json"
    record = text_inference.main(
        ["--run", str(run), "--examples", "8", "--repeats", "1", "--batch-sizes", "1,4", "--out", str(out)]
    )
    stored = json.loads(out.read_text())
    assert stored["results"] == json.loads(json.dumps(record["results"]))
    runtimes = {r["runtime"] for r in stored["results"]}
    assert "SavedModel serving_default" in runtimes
    assert {f"TFLite {path.name}" for path in run.glob("model*.tflite")} <= runtimes
    assert all(r["examples_per_s"] > 0 for r in stored["results"])
    assert {r["batch_size"] for r in stored["results"]} == {1, 4}
