"""Python docstrings -> their summary lines, for summarization: data every machine with zoo installed has.

PEP 257 asks a multi-line docstring for "a summary line just like a one-line
docstring, followed by a blank line, followed by a more elaborate
description". The description is the source, the summary line the target:

    Return the number of items in a container.      <- target

    The count is taken with a linear scan, so ...   <- source (up to the first
    section: Args:, Parameters / ----, Returns:, Examples:, >>>, :param ...)

The docstrings are read (with `ast`, nothing is imported) from the Python
standard library and the packages installed beside zoo (`site-packages` of
the running interpreter: Keras, TensorFlow, NumPy, SciPy, ... as pinned in
zoo's pyproject.toml, so two machines with the same Python and the same
`make` install read the same pairs). zoo's own code, tests and vendored
copies are left out. Kept: summary lines of 3-40 words ending in a period, not
about deprecation; descriptions of at least 8 words; one pair per distinct
description, first in path order.

Parsing ~14,000 files takes about a minute, so the pairs are cached in
`~/.cache/zoo/` (`$XDG_CACHE_HOME/zoo`), keyed by every file's path, size and
modification time: a changed installation is read again.

    pairs, stats = read_docstring_pairs()
"""

import ast
import collections
import dataclasses
import gzip
import hashlib
import json
import os
import pathlib
import re
import sys
import sysconfig
import tempfile
import warnings

from zoo.data.sources import DataError

# Bump when the extraction rules change: cached pairs of another version are read again.
FORMAT_VERSION = 1
MIN_SUMMARY_WORDS, MAX_SUMMARY_WORDS, MIN_BODY_WORDS, MAX_BODY_CHARACTERS = 3, 40, 8, 2_000
# Directory names never read: tests, vendored copies, caches, and zoo's own packages.
SKIPPED_DIRECTORIES = frozenset(
    {"test", "tests", "testing", "_vendor", "vendor", "__pycache__", "site-packages", "dist-packages", "idlelib"}
)
SKIPPED_PACKAGES = frozenset({"zoo", "recipes"})
# A line that starts a docstring section (Google and NumPy style headers, doctest, reST fields, code fences).
_SECTION = re.compile(
    r"(?:(?:args|arguments|parameters|params|keyword arguments|other parameters|returns?|yields?|raises|"
    r"exceptions?|examples?|example usage|usage|attributes|notes?|see also|references?|warnings?|warns|"
    r"todo|call arguments|input shape|output shape|methods)\s*:?\s*$)|>>>|:param\b|:type\b|:returns?:|:raises?\b|"
    r"```|\.\. ",
    re.IGNORECASE,
)
_UNDERLINE = re.compile(r"[-=~]{3,}\s*$")
_DEPRECATED = re.compile(r"deprecat", re.IGNORECASE)


@dataclasses.dataclass
class DocstringStats:
    """What `read_docstring_pairs` read and kept.

    Args:
        roots: the directories searched, in order.
        num_files: Python files parsed (`unparsable` counts those that failed).
        num_docstrings: docstrings found (modules, classes, functions).
        skipped: count of skipped docstrings by reason.
        num_kept: pairs returned.
        cached: whether the pairs came from the cache.
    """

    roots: list = dataclasses.field(default_factory=list)
    num_files: int = 0
    num_docstrings: int = 0
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    num_kept: int = 0
    cached: bool = False


def default_roots():
    """The standard library and the running interpreter's site-packages, existing and distinct."""
    paths = sysconfig.get_paths()
    roots = []
    for key in ("stdlib", "purelib", "platlib"):
        path = pathlib.Path(paths[key]).resolve()
        if path.is_dir() and path not in roots:
            roots.append(path)
    return roots


def python_files(root):
    """The `.py` files under `root` in sorted path order, without skipped directories and zoo's packages."""
    root = pathlib.Path(root)
    found = []
    for directory, names, files in os.walk(root):
        relative = pathlib.Path(directory).relative_to(root)
        names[:] = sorted(
            name
            for name in names
            if name not in SKIPPED_DIRECTORIES
            and not name.endswith((".dist-info", ".egg-info"))
            and not (relative == pathlib.Path(".") and name in SKIPPED_PACKAGES)
        )
        found.extend(pathlib.Path(directory) / name for name in sorted(files) if name.endswith(".py"))
    return sorted(found)


def _paragraphs(lines):
    """Lines -> paragraphs, each joined with single spaces."""
    paragraphs, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def docstring_pair(docstring):
    """`(description, summary line)` of a PEP 257 multi-line docstring, or a skip reason string."""
    lines = docstring.expandtabs().splitlines()
    if len(lines) < 3 or lines[1].strip():
        return "not summary + blank line + description"
    summary = " ".join(lines[0].split())
    if not summary.endswith("."):
        return "summary line without a final period"
    if not MIN_SUMMARY_WORDS <= len(summary.split()) <= MAX_SUMMARY_WORDS:
        return "summary line length"
    body = []
    for index, line in enumerate(lines[2:], start=2):
        underlined = index + 1 < len(lines) and _UNDERLINE.match(lines[index + 1].strip() or "x")
        if _SECTION.match(line.strip()) or (line.strip() and underlined):
            break
        body.append(line)
    description = "\n".join(_paragraphs(body))
    if _DEPRECATED.search(summary) or _DEPRECATED.search(description):
        return "deprecation notice"
    if len(description.split()) < MIN_BODY_WORDS:
        return "short description"
    return description[:MAX_BODY_CHARACTERS].rstrip(), summary


def _docstrings(source):
    """The cleaned docstrings of a module's source: the module's, then every class' and function's."""
    tree = ast.parse(source)
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kinds):
            text = ast.get_docstring(node, clean=True)
            if text:
                yield text


def _fingerprint(files):
    """A hash of the extraction rules and every file's path, size and modification time."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\n{sys.version_info[:2]}\n".encode())
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def default_cache_dir():
    return pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "zoo"


def _read_cache(path):
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            record = json.load(stream)
        return [tuple(pair) for pair in record["pairs"]], record["stats"]
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None  # absent or unreadable: read the files again


def _write_cache(path, pairs, stats):
    """Best effort and atomic: a cache that cannot be written only costs the next run a re-read."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as handle:
            temporary = pathlib.Path(handle.name)
            with gzip.open(handle, "wt", encoding="utf-8") as stream:
                json.dump({"pairs": pairs, "stats": stats}, stream)
        os.replace(temporary, path)
    except OSError as error:
        warnings.warn(f"docstring pairs not cached in {path.parent}: {error}", stacklevel=3)


def read_docstring_pairs(roots=None, cache_dir="default"):
    """Docstring description -> summary line pairs from installed Python code.

    Args:
        roots: directories to search; default: the standard library and the
            interpreter's site-packages (`default_roots()`).
        cache_dir: where the pairs are cached; `"default"` =
            `~/.cache/zoo` (`$XDG_CACHE_HOME/zoo`), `None` = no cache.

    Returns:
        `(pairs, stats)`: `(description, summary)` string pairs, one per
        distinct description, in path order; and `DocstringStats`.

    Raises:
        DataError: a root is not a directory, or no pair was found.
    """
    roots = default_roots() if roots is None else [pathlib.Path(root) for root in roots]
    for root in roots:
        if not root.is_dir():
            raise DataError(f"docstring source {root} is not a directory")
    files = [path for root in roots for path in python_files(root)]
    stats = DocstringStats(roots=[str(root) for root in roots])
    cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
    cache = pathlib.Path(cache_dir) / f"docstring-pairs-{_fingerprint(files)}.json.gz" if cache_dir else None
    cached = _read_cache(cache) if cache else None
    if cached is not None:
        pairs, counts = cached
        stats.num_files, stats.num_docstrings = counts["num_files"], counts["num_docstrings"]
        stats.skipped.update(counts["skipped"])
        stats.num_kept, stats.cached = len(pairs), True
        return pairs, stats
    seen, pairs = set(), []
    for path in files:
        stats.num_files += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences in old sources
                texts = list(_docstrings(path.read_bytes()))
        except (SyntaxError, ValueError, OSError, RecursionError):
            stats.skipped["unparsable file"] += 1
            continue
        for text in texts:
            stats.num_docstrings += 1
            pair = docstring_pair(text)
            if isinstance(pair, str):
                stats.skipped[pair] += 1
            elif pair[0] in seen:
                stats.skipped["duplicate"] += 1
            else:
                seen.add(pair[0])
                pairs.append(pair)
    stats.num_kept = len(pairs)
    if not pairs:
        raise DataError(f"no PEP 257 docstring (summary line, blank line, description) found under {stats.roots}")
    if cache:
        counts = {"num_files": stats.num_files, "num_docstrings": stats.num_docstrings, "skipped": stats.skipped}
        _write_cache(cache, pairs, counts)
    return pairs, stats
