"""Reading MNIST IDX files (plain or gzip) with NumPy.

An IDX file is a 4-byte magic number `0x0000TTNN` (TT: element type, 0x08
for unsigned bytes; NN: number of dimensions), then NN big-endian uint32
dimension sizes, then the elements in row-major order. MNIST images are
`0x00000803` (N, rows, cols) and labels `0x00000801` (N,).

Files come in pairs that share a prefix: `train-images-idx3-ubyte.gz` and
`train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz` and
`t10k-labels-idx1-ubyte.gz`.
"""

import gzip
import pathlib
import re
import zlib

import numpy as np

from zoo.data.sources import DataError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

# `PREFIXimages-idx3-ubyte[.gz]`; a dot before idx3 is a common variant.
_IDX_NAME = re.compile(r"^(?P<prefix>.*)(?P<what>images|labels)[-.]idx[13]-ubyte(\.gz)?$")


def _read_bytes(path):
    """Returns the (decompressed) bytes of `path`, or raises a DataError."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as file:
                return file.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read IDX file {path}: {error}") from None


def read_idx(path, expected_magic):
    """Reads one IDX file of unsigned bytes into a NumPy array.

    Args:
        path: the file, plain or `.gz`.
        expected_magic: `IMAGES_MAGIC` or `LABELS_MAGIC`.

    Returns:
        A uint8 array shaped by the file's header.

    Raises:
        DataError: naming the file, when it cannot be read, has another magic
            number, or holds more or fewer bytes than its header says.
    """
    path = pathlib.Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"IDX file {path} is {len(data)} bytes long; expected at least a 4-byte header")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataError(f"IDX file {path} has bad magic number 0x{magic:08x}; expected 0x{expected_magic:08x}")
    num_dims = magic & 0xFF
    header_size = 4 + 4 * num_dims
    if len(data) < header_size:
        raise DataError(
            f"IDX file {path} ends at byte {len(data)}, inside its header; expected {header_size} header "
            f"bytes for {num_dims} dimensions; the file is truncated or corrupt"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", num_dims, offset=4))
    expected_size = header_size + int(np.prod(dims))
    if len(data) != expected_size:
        raise DataError(
            f"IDX file {path} holds {len(data)} bytes but its header "
            f"{dims} says {expected_size}; the file is truncated or corrupt"
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(dims)


def read_idx_pair(images_path, labels_path):
    """Reads an images file and its labels file.

    Returns:
        `(images, labels)`: uint8 (N, H, W, 1) and int64 (N,).

    Raises:
        DataError: either file is bad, or their counts differ.
    """
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"IDX files {images_path} and {labels_path} hold {len(images)} "
            f"images but {len(labels)} labels; expected equal counts"
        )
    return images[..., np.newaxis], labels.astype(np.int64)


def find_idx_pairs(directory):
    """Finds complete (images, labels) file pairs in `directory` by prefix.

    A prefix with only one of its two files is skipped; where both a plain
    and a `.gz` file exist, the plain one is used.

    Returns:
        A dict `prefix -> (images_path, labels_path)`, sorted by prefix.

    Raises:
        DataError: no complete pair exists.
    """
    directory = pathlib.Path(directory)
    found = {}  # (prefix, "images" | "labels") -> path
    for path in sorted(directory.iterdir(), key=lambda p: p.name, reverse=True):
        match = _IDX_NAME.match(path.name)
        if match and path.is_file():
            # Reverse order puts `x-ubyte` after `x-ubyte.gz`: plain wins.
            found[(match["prefix"], match["what"])] = path
    prefixes = sorted({prefix for prefix, _ in found})
    pairs = {
        prefix: (found[(prefix, "images")], found[(prefix, "labels")])
        for prefix in prefixes
        if (prefix, "images") in found and (prefix, "labels") in found
    }
    if not pairs:
        names = ", ".join(path.name for path in sorted(found.values())) or "none"
        raise DataError(
            f"no IDX images/labels pair in {directory} (IDX files found: "
            f"{names}); expected e.g. train-images-idx3-ubyte.gz with "
            "train-labels-idx1-ubyte.gz"
        )
    return pairs


def labels_path_for(images_path):
    """The labels file that belongs beside an images file.

    Raises:
        DataError: `images_path` is not an images file, or its labels file
            does not exist.
    """
    images_path = pathlib.Path(images_path)
    if "images-idx3" not in images_path.name and "images.idx3" not in images_path.name:
        raise DataError(
            f"IDX path {images_path} is not an images file; expected a name "
            "like train-images-idx3-ubyte[.gz] or a directory"
        )
    labels_name = images_path.name.replace("images-idx3", "labels-idx1")
    labels_name = labels_name.replace("images.idx3", "labels.idx1")
    labels_path = images_path.with_name(labels_name)
    if not labels_path.is_file():
        raise DataError(f"IDX images file {images_path} has no labels file beside it; expected {labels_path}")
    return labels_path
