"""zoo.checkpoints.safetensors_files against files written by the `safetensors` package itself."""

import json

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

from zoo.checkpoints.safetensors_files import read_checkpoint_tensors, read_json, read_safetensors

RNG = np.random.default_rng(0)
TENSORS = {
    "a.weight": RNG.normal(size=(3, 5)).astype("float32"),
    "b.bias": RNG.normal(size=(7,)).astype("float16"),
    "c.ids": np.arange(6, dtype="int64").reshape(2, 3),
    "d.scalar": np.array(2.5, dtype="float64"),
    "e.empty": np.zeros((0, 4), dtype="float32"),
}


def test_reads_every_dtype_as_written(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(TENSORS, str(path), metadata={"format": "np"})
    tensors = read_safetensors(path)
    assert sorted(tensors) == sorted(TENSORS)
    for name, value in TENSORS.items():
        assert tensors[name].shape == value.shape, name
        expected_dtype = np.int64 if name == "c.ids" else np.float32
        assert tensors[name].dtype == expected_dtype, name
        np.testing.assert_array_equal(tensors[name], value.astype(expected_dtype))


def test_bfloat16_widens_bit_exactly(tmp_path):
    values = RNG.normal(size=(4, 6)).astype(ml_dtypes.bfloat16)
    path = tmp_path / "model.safetensors"
    save_file({"w": values}, str(path))  # safetensors writes ml_dtypes' bfloat16 as BF16
    length = int.from_bytes(path.read_bytes()[:8], "little")
    assert json.loads(path.read_bytes()[8 : 8 + length])["w"]["dtype"] == "BF16"
    read = read_safetensors(path)["w"]
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, values.astype(np.float32))


def test_sharded_directory_reads_every_shard(tmp_path):
    save_file({"a.weight": TENSORS["a.weight"]}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({"b.bias": TENSORS["b.bias"]}, str(tmp_path / "model-00002-of-00002.safetensors"))
    weight_map = {"a.weight": "model-00001-of-00002.safetensors", "b.bias": "model-00002-of-00002.safetensors"}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    tensors = read_checkpoint_tensors(tmp_path)
    assert sorted(tensors) == ["a.weight", "b.bias"]
    np.testing.assert_array_equal(tensors["b.bias"], TENSORS["b.bias"].astype("float32"))
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"shard .*model-00002-of-00002.safetensors.* does not exist"):
        read_checkpoint_tensors(tmp_path)


@pytest.mark.parametrize("keep", [4, 60, -5])
def test_truncated_file_is_one_line_naming_it(tmp_path, keep):
    path = tmp_path / "model.safetensors"
    save_file(TENSORS, str(path))
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(ValueError, match=r"cannot read .*model.safetensors") as error:
        read_safetensors(path)
    assert "\n" not in str(error.value)


def test_missing_weights_and_config_name_the_directory(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"has no model.safetensors .*pytorch_model.bin"):
        read_checkpoint_tensors(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"config.json' does not exist"):
        read_json(tmp_path / "config.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_checkpoint_tensors(tmp_path / "nowhere")
