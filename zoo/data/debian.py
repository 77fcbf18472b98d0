"""Debian package descriptions -> one-line synopses, for summarization.

apt keeps the English package descriptions of every configured suite in
`/var/lib/apt/lists/*_i18n_Translation-en` (compressed: `.lz4`, `.gz`, `.xz`
or `.bz2`) once `apt-get update -o Acquire::Languages=en` has fetched them.
Each stanza reads

    Package: openssh-client
    Description-md5: 8cde3280ebad71c16b3e8c661dae6c6d
    Description-en: secure shell (SSH) client, for secure access to remote machines
     This is the portable version of OpenSSH, a free implementation of
     the Secure Shell protocol as specified by the IETF secsh working
     group.
     .
     Ssh (Secure Shell) is a program for logging into a remote machine

and gives one pair: the long description (its continuation lines without
their first space, joined with spaces; paragraphs, separated by ` .`, joined
with newlines; the text otherwise as written, so verbatim lines keep their
extra indentation) -> the synopsis.

    pairs, stats = read_debian_descriptions()
"""

import bz2
import collections
import dataclasses
import gzip
import hashlib
import lzma
import pathlib
import re
import zlib

from zoo.data.sources import DataError

DEFAULT_LISTS_DIR = "/var/lib/apt/lists"
TRANSLATION_FILE_PATTERN = re.compile(r".+_i18n_Translation-en(\.lz4|\.gz|\.xz|\.bz2)?")
FETCH_COMMAND = "sudo apt-get update -o Acquire::Languages=en"


@dataclasses.dataclass
class DebianStats:
    """What `read_debian_descriptions` read and kept.

    Args:
        files: the Translation-en files read, in sorted path order.
        num_stanzas: package stanzas in them.
        skipped: count of skipped stanzas by reason: `"no description"`,
            `"empty synopsis"`, `"no long description"`, `"duplicate"` (the
            same Description-md5 again, e.g. from another suite).
        num_kept: pairs returned.
    """

    files: list = dataclasses.field(default_factory=list)
    num_stanzas: int = 0
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    num_kept: int = 0


def translation_files(lists_dir=DEFAULT_LISTS_DIR):
    """The English description lists in `lists_dir`, in sorted path order."""
    root = pathlib.Path(lists_dir)
    if not root.is_dir():
        return []
    return sorted(path for path in root.iterdir() if TRANSLATION_FILE_PATTERN.fullmatch(path.name) and path.is_file())


def _decompress(path):
    """The text of a plain, .lz4, .gz, .xz or .bz2 file."""
    data = path.read_bytes()
    suffix = path.suffix
    try:
        if suffix == ".lz4":
            try:
                import lz4.frame
            except ImportError:
                raise DataError(f"reading {path} needs the lz4 package; install it with `pip install lz4`") from None
            data = lz4.frame.decompress(data)
        elif suffix in (".gz", ".xz", ".bz2"):
            data = {".gz": gzip, ".xz": lzma, ".bz2": bz2}[suffix].decompress(data)
    except (OSError, EOFError, RuntimeError, zlib.error, lzma.LZMAError) as error:
        raise DataError(f"cannot decompress {path}: {error}") from None
    return data.decode("utf-8", "replace")


def stanzas(text):
    """The stanzas of an RFC822-style file, each a dict of field -> lines.

    A field's first line is the text after `Name:`; continuation lines (which
    start with a space or tab) follow unchanged.
    """
    fields, name = {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, name = {}, None
        elif line[0] in " \t":
            if name is not None:
                fields[name].append(line)
        else:
            name, _, value = line.partition(":")
            fields[name] = [value.strip()]
    if fields:
        yield fields


def long_description(lines):
    """The continuation lines of a description as text: paragraphs on lines."""
    paragraphs, paragraph = [], []
    for line in lines:
        line = line[1:].rstrip()  # the first space marks a continuation
        if line.strip() == ".":
            paragraphs.append(paragraph)
            paragraph = []
        else:
            paragraph.append(line)
    paragraphs.append(paragraph)
    texts = (" ".join(paragraph).strip() for paragraph in paragraphs)
    return "\n".join(text for text in texts if text)


def _stanza_pair(fields):
    """`(long description, synopsis, dedup key)`, or a skip reason string."""
    lines = fields.get("Description-en")
    if lines is None:
        return "no description"
    synopsis, description = lines[0], long_description(lines[1:])
    if not synopsis:
        return "empty synopsis"
    if not description:
        return "no long description"
    md5 = fields.get("Description-md5", [""])[0]
    key = md5 or hashlib.md5("\n".join(lines).encode()).hexdigest()
    return description, synopsis, key


def read_debian_descriptions(lists_dir=DEFAULT_LISTS_DIR):
    """Long package description -> synopsis pairs from apt's English lists.

    Args:
        lists_dir: apt's lists directory.

    Returns:
        `(pairs, stats)`: a list of `(description, synopsis)` string pairs,
        one per distinct Description-md5, in file order; and `DebianStats`.

    Raises:
        DataError: there is no Translation-en file in `lists_dir`, or one
            cannot be decompressed.
    """
    paths = translation_files(lists_dir)
    if not paths:
        raise DataError(
            f"no English package descriptions in {lists_dir} (no "
            f"*_i18n_Translation-en[.lz4|.gz|.xz] files); fetch them with "
            f"`{FETCH_COMMAND}`, which downloads the English description "
            f"lists of the configured suites (~13 MB for Debian bookworm main; "
            f'Docker images turn them off with Acquire::Languages "none")'
        )
    stats, seen, pairs = DebianStats(), set(), []
    for path in paths:
        stats.files.append(str(path))
        for fields in stanzas(_decompress(path)):
            stats.num_stanzas += 1
            pair = _stanza_pair(fields)
            if isinstance(pair, str):
                stats.skipped[pair] += 1
                continue
            description, synopsis, key = pair
            if key in seen:
                stats.skipped["duplicate"] += 1
                continue
            seen.add(key)
            pairs.append((description, synopsis))
    stats.num_kept = len(pairs)
    return pairs, stats
