"""The matrix-products benchmark runs at a tiny size; its table agrees with TensorFlow's FLOP count."""

import json
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import matrix_products  # noqa: E402


def test_quick_run_writes_tables_and_measured_flops(tmp_path, capsys):
    out = tmp_path / "matrix.json"
    results = matrix_products.main(["--quick", "--out", str(out)])
    stored = json.loads(out.read_text())
    assert stored["environment"]["command"].endswith("--quick --out " + str(out))
    (block,) = stored["blocks"].values()
    assert block["totals"]["rank_8"]["flops"] < block["totals"]["dense"]["flops"]
    for row in results["models"]:
        # Matrix products are most, but not all, of what TensorFlow counts.
        assert 0.7 < row["table_over_measured"] <= 1.0, row
    assert "| **total** |" in capsys.readouterr().out
