"""Tests for zoo.data.debian: package descriptions -> synopses from apt's lists."""

import bz2
import functools
import gzip
import lzma
import pathlib

import lz4.frame
import pytest

from zoo.data import DataError, load_pair_dataset, pairs, read_debian_descriptions
from zoo.data.debian import DEFAULT_LISTS_DIR, long_description, translation_files

MAIN = """\
Package: alpha
Description-md5: 11111111111111111111111111111111
Description-en: alpha tool: does a things
 Line one of
 paragraph one.
 .
 Paragraph two
 continues here.
 .
  verbatim line
  second verbatim

Package: beta
Description-md5: 22222222222222222222222222222222
Description-en: a synopsis with no long description

Package: gamma
Description-md5: 33333333333333333333333333333333
Description-en:
 A long description under an empty synopsis.

Package: delta
Description-md5: 44444444444444444444444444444444
Description-en: delta tool
 Does delta things.
"""

# Another suite, sorted first: alpha again, epsilon twice without an md5.
SECURITY = (
    MAIN.split("\n\n")[0]
    + """


Package: epsilon
Description-en: epsilon tool
 Handles epsilons.

Package: epsilon
Description-en: epsilon tool
 Handles epsilons.

Package: zeta
Description-md5: 66666666666666666666666666666666
"""
)

EXPECTED_PAIRS = [
    (
        "Line one of paragraph one.\nParagraph two continues here.\nverbatim line  second verbatim",
        "alpha tool: does a things",
    ),
    ("Handles epsilons.", "epsilon tool"),
    ("Does delta things.", "delta tool"),
]
COMPRESS = {"": bytes, ".lz4": lz4.frame.compress, ".gz": gzip.compress, ".xz": lzma.compress, ".bz2": bz2.compress}


@pytest.fixture(params=[".lz4", ".gz", ".xz", ".bz2"])
def lists_dir(tmp_path, request):
    """A plain list and a compressed one, beside files that are not read."""
    root = tmp_path / "lists"
    root.mkdir()
    (root / "deb_dists_bookworm_main_i18n_Translation-en").write_bytes(MAIN.encode())
    name = f"deb_dists_bookworm-security_main_i18n_Translation-en{request.param}"
    (root / name).write_bytes(COMPRESS[request.param](SECURITY.encode()))
    (root / "deb_dists_bookworm_main_i18n_Translation-en.diff_Index").write_text("SHA256: x\n")
    (root / "deb_dists_bookworm_main_binary-amd64_Packages").write_text(MAIN)
    (root / "deb_dists_bookworm_main_i18n_Translation-de").write_text(MAIN)
    return root


def test_descriptions_are_exact(lists_dir):
    found, stats = read_debian_descriptions(lists_dir)
    assert found == EXPECTED_PAIRS
    suffix = pathlib.Path(stats.files[0]).suffix
    assert [pathlib.Path(path).name for path in stats.files] == [
        f"deb_dists_bookworm-security_main_i18n_Translation-en{suffix}",
        "deb_dists_bookworm_main_i18n_Translation-en",
    ]
    assert stats.num_stanzas == 8 and stats.num_kept == 3
    assert stats.skipped == {"no long description": 1, "empty synopsis": 1, "no description": 1, "duplicate": 2}


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([" a", " b"], "a b"),
        ([" a", " .", " .", " b"], "a\nb"),  # empty paragraphs dropped
        ([" .", " a  ", " ..."], "a ..."),  # trailing spaces dropped, ` ...` is text
        (["  * one", "  * two"], "* one  * two"),  # verbatim lines keep their indent
        (["\tTabbed"], "Tabbed"),
    ],
)
def test_long_description_layout(lines, expected):
    assert long_description(lines) == expected


def test_missing_lists_say_how_to_fetch(tmp_path):
    with pytest.raises(DataError) as info:
        read_debian_descriptions(tmp_path)
    message = str(info.value)
    assert f"no English package descriptions in {tmp_path}" in message
    assert "`sudo apt-get update -o Acquire::Languages=en`" in message
    assert "~13 MB" in message and "\n" not in message


def test_corrupt_list_names_file(tmp_path):
    path = tmp_path / "x_i18n_Translation-en.lz4"
    path.write_bytes(lz4.frame.compress(MAIN.encode())[:-9])
    with pytest.raises(DataError, match=f"cannot decompress {path}"):
        read_debian_descriptions(tmp_path)


def test_builtin_spec(lists_dir, monkeypatch):
    reader = functools.partial(read_debian_descriptions, lists_dir=lists_dir)
    monkeypatch.setattr(pairs, "read_debian_descriptions", reader)
    train, test = load_pair_dataset("builtin:debian-descriptions", test_size=1)
    assert (len(train), len(test)) == (2, 1)
    found = zip(train.sources + test.sources, train.targets + test.targets)
    assert sorted(found) == sorted(EXPECTED_PAIRS)
    assert (train.name, train.source_language, train.target_language) == ("debian-descriptions/train", "en", "en")


def test_machine_lists():
    if not translation_files(DEFAULT_LISTS_DIR):
        pytest.skip(f"no *_i18n_Translation-en lists in {DEFAULT_LISTS_DIR}")
    found, stats = read_debian_descriptions()
    assert stats.num_kept == len(found) > 1000
    assert stats.num_stanzas == stats.num_kept + sum(stats.skipped.values())
    assert all(d and s and d == d.strip() and "\n" not in s for d, s in found)
    synopses = {s: d for d, s in found}
    description = synopses.get("secure shell (SSH) client, for secure access to remote machines")
    if description is not None:  # openssh-client, in every suite
        assert description.startswith("This is the portable version of OpenSSH, a free")
        assert "\nSsh (Secure Shell) is a program for logging into a remote machine" in description
