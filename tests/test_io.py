"""zoo.io: atomic writes leave the old file/directory intact on failure."""

import json

import pytest

from zoo.io import atomic_directory, atomic_file, atomic_write_json, atomic_write_text


def _entries(directory):
    return sorted(path.name for path in directory.iterdir())


def test_atomic_write_text_creates_and_replaces(tmp_path):
    path = tmp_path / "note.txt"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert _entries(tmp_path) == ["note.txt"]


def test_atomic_write_text_rejects_bytes(tmp_path):
    with pytest.raises(TypeError, match="bytes"):
        atomic_write_text(tmp_path / "x.txt", b"data")


def test_atomic_write_json_round_trip(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_write_json(path, {"accuracy": 0.5, "labels": ["a", "b"]}, indent=None)
    assert json.loads(path.read_text()) == {"accuracy": 0.5, "labels": ["a", "b"]}
    assert path.read_text().endswith("\n")


def test_atomic_write_json_unserializable_leaves_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert _entries(tmp_path) == ["metrics.json"]


def test_atomic_file_temp_path_keeps_full_suffix_and_is_beside_target(tmp_path):
    target = tmp_path / "model.weights.h5"
    with atomic_file(target) as temp_path:
        assert temp_path.parent == tmp_path
        assert temp_path.name.endswith("model.weights.h5")
        assert temp_path != target
        assert not temp_path.exists()
        temp_path.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _entries(tmp_path) == ["model.weights.h5"]


def test_atomic_file_body_raises_old_file_untouched_and_temp_removed(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer crashed"):
        with atomic_file(target) as temp_path:
            temp_path.write_bytes(b"half-written")
            raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old"
    assert _entries(tmp_path) == ["model.keras"]


def test_atomic_file_body_writes_nothing_is_an_error(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with pytest.raises(FileNotFoundError, match="wrote no file"):
        with atomic_file(target):
            pass
    assert target.read_bytes() == b"old"


def test_atomic_directory_creates_new_directory(tmp_path):
    target = tmp_path / "saved_model"
    with atomic_directory(target) as temp_dir:
        assert temp_dir.is_dir() and temp_dir.parent == tmp_path
        assert list(temp_dir.iterdir()) == []
        assert not target.exists()  # nothing at the target while writing
        (temp_dir / "1").mkdir()
        (temp_dir / "1" / "saved_model.pb").write_text("graph")
    assert (target / "1" / "saved_model.pb").read_text() == "graph"
    assert _entries(tmp_path) == ["saved_model"]


def test_atomic_directory_replaces_existing_directory_completely(tmp_path):
    target = tmp_path / "saved_model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_directory(target) as temp_dir:
        assert (target / "stale.txt").read_text() == "old"  # old intact meanwhile
        (temp_dir / "fresh.txt").write_text("new")
    assert _entries(target) == ["fresh.txt"]
    assert _entries(tmp_path) == ["saved_model"]


def test_atomic_directory_body_raises_old_directory_untouched(tmp_path):
    target = tmp_path / "saved_model"
    target.mkdir()
    (target / "variables.data").write_text("old")
    with pytest.raises(ValueError, match="export failed"):
        with atomic_directory(target) as temp_dir:
            (temp_dir / "variables.data").write_text("partial")
            raise ValueError("export failed")
    assert (target / "variables.data").read_text() == "old"
    assert _entries(tmp_path) == ["saved_model"]


def test_atomic_directory_body_raises_without_old_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(tmp_path / "out") as temp_dir:
            (temp_dir / "x").write_text("partial")
            raise KeyboardInterrupt
    assert _entries(tmp_path) == []
