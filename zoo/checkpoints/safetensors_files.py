"""Read a Hugging Face checkpoint directory's weights (safetensors, one file or sharded) into NumPy.

No PyTorch and no `safetensors` package are needed: a safetensors file is
an 8-byte little-endian header length N, N bytes of JSON header
(`name -> {"dtype", "shape", "data_offsets": [begin, end]}`, plus an
optional `__metadata__`), then the raw little-endian tensor bytes. The file
is memory-mapped; floating tensors (F64, F32, F16, BF16) come back as
float32 arrays (BF16 widened bit-exactly), integer and bool tensors keep
their type. F32 tensors are read-only views of the mapped file (loading a
checkpoint holds its weights once, not twice); the others are copies.

    from zoo.checkpoints.safetensors_files import read_checkpoint_tensors, read_json
    config = read_json(directory / "config.json")
    tensors = read_checkpoint_tensors(directory)   # model.safetensors or model.safetensors.index.json
"""

import json
import pathlib

import numpy as np

WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
# safetensors dtype -> NumPy dtype of the stored bytes (little-endian).
STORED_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",  # widened to float32 by a 16-bit shift
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
FLOATING = ("F64", "F32", "F16", "BF16")
MAX_HEADER_BYTES = 100 * 1024 * 1024


def read_json(path):
    """A JSON file as a dict; a missing or invalid file is one line naming it.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: it is not valid JSON.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist; is {str(path.parent)!r} a Hugging Face checkpoint?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{str(path)!r} is not valid JSON: {error}") from None


def read_safetensors(path, names=None):
    """The tensors of one `.safetensors` file: name -> array (floating ones as float32).

    Args:
        path: the file.
        names: read only these tensors (all when None); a name the file
            lacks is an error.

    Returns:
        A dict name -> `np.ndarray` (F32 ones read-only views of the file).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a truncated or corrupt file, an unknown dtype, or a
            tensor whose byte range does not match its shape; the message
            names the file (and the tensor).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    header, data = _read_header(path)
    if names is not None:
        missing = sorted(set(names) - set(header))
        if missing:
            raise ValueError(f"{str(path)!r} lacks tensors {missing[:3]} (named in the index)")
        header = {name: header[name] for name in names}
    return {name: _tensor(path, name, entry, data) for name, entry in header.items()}


def _read_header(path):
    """The header (metadata removed) and the memory-mapped bytes after it."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise ValueError(f"cannot read {str(path)!r}: {size} bytes, too short for a safetensors file")
        length = int.from_bytes(prefix, "little")
        if length > min(size - 8, MAX_HEADER_BYTES):
            raise ValueError(
                f"cannot read {str(path)!r}: its header claims {length} bytes but the file has {size}; "
                "truncated or not a safetensors file"
            )
        try:
            header = json.loads(file.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read {str(path)!r}: its header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise ValueError(f"cannot read {str(path)!r}: its header is not a JSON object")
    header.pop("__metadata__", None)
    end = max((_offsets(path, name, entry)[1] for name, entry in header.items()), default=0)
    if 8 + length + end > size:
        raise ValueError(
            f"cannot read {str(path)!r}: truncated, its tensors need {8 + length + end} bytes but the file has {size}"
        )
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length, shape=(end,)) if end else np.zeros(0, "u1")
    return header, data


def _offsets(path, name, entry):
    try:
        begin, end = (int(value) for value in entry["data_offsets"])
        dtype, shape = entry["dtype"], [int(dim) for dim in entry["shape"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"cannot read {str(path)!r}: tensor {name!r} has a malformed header entry {entry!r}") from None
    if dtype not in STORED_DTYPES:
        raise ValueError(f"{str(path)!r}: tensor {name!r} has dtype {dtype!r}; zoo reads {sorted(STORED_DTYPES)}")
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(STORED_DTYPES[dtype]).itemsize
    if not 0 <= begin <= end or end - begin != expected:
        raise ValueError(
            f"cannot read {str(path)!r}: tensor {name!r} ({dtype} {shape}) spans bytes [{begin}, {end}), "
            f"expected {expected} bytes"
        )
    return begin, end


def _tensor(path, name, entry, data):
    begin, end = _offsets(path, name, entry)
    dtype, shape = entry["dtype"], tuple(int(dim) for dim in entry["shape"])
    values = np.frombuffer(data[begin:end], dtype=STORED_DTYPES[dtype]).reshape(shape)
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        return (values.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F32":
        return values  # a read-only view of the mapped file: no second copy of the weights in memory
    if dtype in FLOATING:
        return values.astype(np.float32)
    return values.copy()


def weight_files(directory):
    """The safetensors files of a checkpoint directory: `[model.safetensors]` or the index's shards.

    Returns:
        `(files, weight_map)`: the shard paths in order, and name -> shard
        path (None for a single file: every tensor is in it).

    Raises:
        FileNotFoundError: no weights (naming what was looked for) or a
            shard the index names is missing.
        ValueError: an index without a `weight_map`.
    """
    directory = pathlib.Path(directory)
    single, index_path = directory / WEIGHTS_NAME, directory / INDEX_NAME
    if single.is_file():
        return [single], None
    if not index_path.is_file():
        others = sorted(p.name for p in directory.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".h5", ".msgpack"))
        hint = f" (it has {others}: only safetensors is read)" if others else ""
        raise FileNotFoundError(f"checkpoint directory {str(directory)!r} has no {WEIGHTS_NAME} or {INDEX_NAME}{hint}")
    index = read_json(index_path)
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ValueError(f"{str(index_path)!r} has no 'weight_map' (tensor name -> shard file)")
    files = sorted({directory / shard for shard in weight_map.values()})
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"shard {str(file)!r} named in {str(index_path)!r} does not exist")
    return files, {name: directory / shard for name, shard in weight_map.items()}


def read_checkpoint_tensors(directory):
    """Every tensor of a checkpoint directory's safetensors weights, one file or sharded.

    Args:
        directory: a Hugging Face checkpoint directory.

    Returns:
        A dict name -> `np.ndarray` (floating tensors as float32).

    Raises:
        FileNotFoundError: the directory or its weights do not exist.
        ValueError: a truncated or corrupt file, or an index that does not
            match its shards (naming the file).
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory {str(directory)!r} does not exist")
    files, weight_map = weight_files(directory)
    if weight_map is None:
        return read_safetensors(files[0])
    tensors = {}
    for file in files:
        names = [name for name, shard in weight_map.items() if shard == file]
        tensors.update(read_safetensors(file, names))
    return tensors
