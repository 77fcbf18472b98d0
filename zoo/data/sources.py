"""Data source specs (`KIND:ARG`) and the TensorFlow Datasets loader.

Every recipe takes `--data KIND:ARG`, for example `builtin:digits`,
`tfds:mnist` or `idx:../shared/data/mnist`. `parse_spec` splits and validates
such a spec; the loaders for each kind of data live beside this module
(`zoo.data.images` for images, `zoo.data.text` for text classification).

`load_tfds` never hangs offline: it reads a dataset already prepared in the
local data dir, and only when there is none does it check, within a few
seconds, that the download host is reachable before downloading.
"""

import contextlib
import os
import pathlib
import socket
import threading

from zoo.errors import ZooUserError

# Each known kind and the form of its argument, in the order shown in errors.
SOURCE_KINDS = {
    "builtin": "builtin:NAME",
    "tfds": "tfds:NAME[/CONFIG]",
    "idx": "idx:DIR",
    "imagefolder": "imagefolder:DIR",
    "tsv": "tsv:PATH",
    "csv": "csv:PATH",
    "jsonl": "jsonl:PATH",
    "squad": "squad:PATH",
    "text": "text:PATH",
    "parallel": "parallel:PREFIX",
    "rt-polarity": "rt-polarity:DIR",
}

# Host that TensorFlow Datasets downloads from, and how long to wait for it.
NETWORK_CHECK_ADDRESS = "storage.googleapis.com:443"
NETWORK_CHECK_TIMEOUT = 3.0
# Environment variables that override the two values above.
NETWORK_CHECK_ADDRESS_ENV = "ZOO_NETWORK_CHECK_ADDRESS"
NETWORK_CHECK_TIMEOUT_ENV = "ZOO_NETWORK_CHECK_TIMEOUT"


class DataError(ValueError, ZooUserError):
    """A data source is unknown, missing, unreachable or malformed.

    The message is one line that names the bad value and what was expected.
    """


def describe_kinds(kinds=None):
    """Returns the spec forms of `kinds` (default: all) as `a, b, c`."""
    kinds = SOURCE_KINDS if kinds is None else kinds
    return ", ".join(SOURCE_KINDS[kind] for kind in kinds)


def parse_spec(spec):
    """Splits a data source spec `KIND:ARG` into `(kind, arg)`.

    The spec is split at its first `:`, so ARG may itself contain colons.

    Args:
        spec: a string such as `"builtin:digits"` or `"tfds:glue/sst2"`.

    Returns:
        `(kind, arg)`, both non-empty strings, with `kind` in `SOURCE_KINDS`.

    Raises:
        DataError: `spec` is not a string, has no `:`, names an unknown kind,
            or has an empty argument.
    """
    if not isinstance(spec, str):
        raise DataError(f"data source must be a string KIND:ARG; received {spec!r} of type {type(spec).__name__}")
    kind, colon, arg = spec.partition(":")
    if not colon or kind not in SOURCE_KINDS:
        raise DataError(f"unknown data source {spec!r}; expected one of {describe_kinds()}")
    if not arg.strip():
        raise DataError(f"data source {spec!r} has an empty argument; expected {SOURCE_KINDS[kind]}")
    return kind, arg


def network_reachable(address=None, timeout=None):
    """Whether a TCP connection to `address` opens within `timeout` seconds.

    The whole check, name lookup included, is bounded by `timeout`: it runs in
    a daemon thread that is abandoned when it takes too long.

    Args:
        address: `"HOST:PORT"`; default `$ZOO_NETWORK_CHECK_ADDRESS` or
            `NETWORK_CHECK_ADDRESS`.
        timeout: seconds; default `$ZOO_NETWORK_CHECK_TIMEOUT` or
            `NETWORK_CHECK_TIMEOUT`.
    """
    address = address or os.environ.get(NETWORK_CHECK_ADDRESS_ENV, NETWORK_CHECK_ADDRESS)
    if timeout is None:
        timeout = float(os.environ.get(NETWORK_CHECK_TIMEOUT_ENV, NETWORK_CHECK_TIMEOUT))
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise DataError(f"network check address must be HOST:PORT; received {address!r}")
    result = []

    def connect():
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _import_tfds():
    """Imports tensorflow_datasets, or raises a DataError saying how to."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise DataError(
            "tfds: sources need the tensorflow-datasets package; "
            f"install it with `pip install tensorflow-datasets` ({error})"
        ) from None
    return tfds


def _tfds_builder(tfds, name, data_dir):
    """Returns the tfds builder for `name`, or raises a DataError."""
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise DataError(
            f"unknown TensorFlow Datasets name {name!r} in tfds:{name}; "
            "expected a catalog name such as mnist, cifar10 or imdb_reviews "
            "(see https://www.tensorflow.org/datasets/catalog)"
        ) from None
    except ValueError as error:  # e.g. an unknown config: glue/nosuch
        first_line = str(error).strip().splitlines()[0].rstrip(" :")
        raise DataError(
            f"cannot build tfds:{name} ({first_line}); expected tfds:NAME[/CONFIG] with a config that NAME defines"
        ) from None


@contextlib.contextmanager
def _absl_errors_only():
    """Silence absl warnings (tfds logs them for every unprepared dataset)."""
    import absl.logging

    verbosity = absl.logging.get_verbosity()
    absl.logging.set_verbosity(absl.logging.ERROR)
    try:
        yield
    finally:
        absl.logging.set_verbosity(verbosity)


def _home_relative(path):
    """Writes `path` with the home directory shortened to `~`."""
    path = str(path)
    home = str(pathlib.Path.home())
    return "~" + path[len(home) :] if path.startswith(home + os.sep) else path


def load_tfds(
    name,
    split=None,
    *,
    data_dir=None,
    batch_size=None,
    network_address=None,
    network_timeout=None,
    offline_alternatives="builtin:digits or idx:DIR",
):
    """Loads a TensorFlow Datasets dataset, failing fast when offline.

    First reads the dataset prepared under `data_dir` without downloading.
    When it is not prepared there, checks that the download host answers
    (see `network_reachable`) and only then downloads and prepares it.

    Args:
        name: catalog name, optionally with a config: `"mnist"`, `"glue/sst2"`.
        split: a tfds split such as `"train"` or `"test[:10%]"`; `None`
            returns a dict of every split.
        data_dir: where prepared datasets live; default the tfds default
            (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
        batch_size: passed to `as_dataset`; `-1` gives whole splits as
            tensors.
        network_address: `"HOST:PORT"` used for the connectivity check.
        network_timeout: seconds allowed for the connectivity check.
        offline_alternatives: the offline sources the error suggests.

    Returns:
        `(dataset, info)`: a `tf.data.Dataset` (or dict of them by split
        name) of feature dicts, and the dataset's `tfds.core.DatasetInfo`.

    Raises:
        DataError: the name or split is unknown, or the dataset is not
            prepared locally and the network is unreachable.
    """
    tfds = _import_tfds()
    # A community dataset (`huggingface:NAME`, ...) is looked up online, and
    # tfds retries that lookup for half a minute when offline.
    if ":" in name and not network_reachable(network_address, network_timeout):
        raise DataError(
            f"tfds:{name} is a community dataset, which needs the network, "
            f"and the network is unreachable; use an offline source such as "
            f"{offline_alternatives}"
        )
    with _absl_errors_only():  # "Variant folder ... has no dataset_info.json" when not prepared
        builder = _tfds_builder(tfds, name, data_dir)
        prepared = builder.is_prepared()
    if not prepared:
        if not network_reachable(network_address, network_timeout):
            raise DataError(
                f"tfds:{name} is not prepared in "
                f"{_home_relative(builder.data_dir_root)} and the network is "
                f"unreachable; use an offline source such as {offline_alternatives}"
            )
        builder.download_and_prepare()
    try:
        dataset = builder.as_dataset(split=split, batch_size=batch_size)
    except (KeyError, ValueError) as error:
        available = ", ".join(sorted(builder.info.splits))
        raise DataError(
            f"cannot read split {split!r} of tfds:{name} ({error}); expected one of its splits: {available}"
        ) from None
    return dataset, builder.info
