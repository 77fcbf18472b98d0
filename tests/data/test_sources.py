"""Tests for zoo.data.sources: spec parsing and the fail-fast tfds loader."""

import socket
import time

import pytest

from zoo.data import sources
from zoo.data.sources import DataError, load_tfds, network_reachable, parse_spec


def _closed_port_address():
    """`127.0.0.1:PORT` of a port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


@pytest.fixture
def listening_address():
    """`127.0.0.1:PORT` of a socket that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"127.0.0.1:{server.getsockname()[1]}"


# ------------------------------------------------------------------ parse_spec


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("builtin:digits", ("builtin", "digits")),
        ("tfds:glue/sst2", ("tfds", "glue/sst2")),
        ("idx:/data/a:b", ("idx", "/data/a:b")),  # split at the first ':'
        ("parallel:corpus/train", ("parallel", "corpus/train")),
    ],
)
def test_parse_spec_splits_kind_and_argument(spec, expected):
    assert parse_spec(spec) == expected


def test_parse_spec_unknown_kind_names_spec_and_known_kinds():
    with pytest.raises(DataError) as info:
        parse_spec("foo:bar")
    message = str(info.value)
    assert "'foo:bar'" in message
    assert "builtin:NAME" in message and "tfds:NAME[/CONFIG]" in message
    assert "\n" not in message


@pytest.mark.parametrize("spec", ["digits", "", "Builtin:digits"])
def test_parse_spec_without_known_kind_raises(spec):
    with pytest.raises(DataError, match="unknown data source"):
        parse_spec(spec)


@pytest.mark.parametrize("spec", ["builtin:", "idx:  "])
def test_parse_spec_empty_argument_raises(spec):
    with pytest.raises(DataError, match="empty argument"):
        parse_spec(spec)


def test_parse_spec_non_string_raises():
    with pytest.raises(DataError, match="received 3 of type int"):
        parse_spec(3)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# ------------------------------------------------------------- network check


def test_network_reachable_true_for_listening_socket(listening_address):
    assert network_reachable(listening_address, timeout=2)


def test_network_reachable_false_for_closed_port():
    assert not network_reachable(_closed_port_address(), timeout=2)


def test_network_reachable_reads_address_from_environment(monkeypatch, listening_address):
    monkeypatch.setenv(sources.NETWORK_CHECK_ADDRESS_ENV, listening_address)
    assert network_reachable(timeout=2)
    monkeypatch.setenv(sources.NETWORK_CHECK_ADDRESS_ENV, _closed_port_address())
    assert not network_reachable(timeout=2)


def test_network_reachable_bounds_a_hanging_connection(monkeypatch):
    # A connect (or name lookup) that hangs must not hold the caller.
    def hang(*args, **kwargs):
        time.sleep(5)
        raise OSError("timed out")  # what a real hung connect ends with

    monkeypatch.setattr(sources.socket, "create_connection", hang)
    start = time.monotonic()
    assert not network_reachable("example.invalid:443", timeout=0.2)
    assert time.monotonic() - start < 1.0


def test_network_reachable_rejects_malformed_address():
    with pytest.raises(DataError, match="HOST:PORT; received 'nohost'"):
        network_reachable("nohost", timeout=1)


# ------------------------------------------------------------------ load_tfds


def test_load_tfds_unprepared_and_offline_fails_fast(tmp_path):
    # Forces "offline" with a refused connection, whatever the real network.
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        load_tfds("mnist", "train", data_dir=tmp_path, network_address=_closed_port_address())
    message = str(info.value)
    assert time.monotonic() - start < 10
    assert "tfds:mnist is not prepared in" in message
    assert str(tmp_path) in message
    assert "network is unreachable" in message and "builtin:digits" in message


def test_load_tfds_message_shortens_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DataError, match=r"not prepared in ~/tfds and"):
        load_tfds(
            "mnist",
            data_dir=tmp_path / "tfds",
            network_address=_closed_port_address(),
        )


def test_load_tfds_really_offline_fails_within_seconds(tmp_path):
    # The default connectivity check, against the real download host.
    if network_reachable(timeout=3):
        pytest.skip("the network is reachable here; offline behaviour not testable")
    start = time.monotonic()
    with pytest.raises(DataError, match="network is unreachable"):
        load_tfds("mnist", "train", data_dir=tmp_path)
    assert time.monotonic() - start < 10


def test_load_tfds_community_dataset_offline_fails_fast(tmp_path):
    start = time.monotonic()
    with pytest.raises(DataError, match="tfds:huggingface:mnist is a community"):
        load_tfds(
            "huggingface:mnist",
            data_dir=tmp_path,
            network_address=_closed_port_address(),
        )
    assert time.monotonic() - start < 10


def test_load_tfds_unknown_name_raises(tmp_path):
    with pytest.raises(DataError, match="unknown TensorFlow Datasets name 'no_such_set'"):
        load_tfds("no_such_set", data_dir=tmp_path)


def test_load_tfds_unknown_config_raises(tmp_path):
    with pytest.raises(DataError, match=r"cannot build tfds:mnist/no_such_config"):
        load_tfds("mnist/no_such_config", data_dir=tmp_path)
