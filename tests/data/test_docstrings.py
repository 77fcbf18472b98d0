"""Tests for zoo.data.docstrings: PEP 257 docstring description -> summary line pairs of installed code."""

import os
import textwrap

import pytest

from zoo.data import DataError, load_pair_dataset
from zoo.data.docstrings import docstring_pair, python_files, read_docstring_pairs

GOOGLE = """Return the median of the data.

When the number of points is odd, return the middle one; otherwise
interpolate between the two middle points.

Args:
    data: a sequence of numbers.

Returns:
    The median.
"""
NUMPY = """Compute the arithmetic mean along an axis.

Returns the average of the array elements over the flattened array by
default, otherwise over the specified axis.

Parameters
----------
a : array_like
"""


def test_the_description_stops_at_the_first_section():
    assert docstring_pair(GOOGLE) == (
        "When the number of points is odd, return the middle one; otherwise interpolate between the two middle points.",
        "Return the median of the data.",
    )
    assert docstring_pair(NUMPY) == (
        "Returns the average of the array elements over the flattened array by default, otherwise over the "
        "specified axis.",
        "Compute the arithmetic mean along an axis.",
    )
    doctest = (
        "Add two numbers and return the sum.\n\nBoth may be ints or floats of any size at all.\n\n>>> add(1, 2)\n3"
    )
    assert docstring_pair(doctest)[0] == "Both may be ints or floats of any size at all."
    paragraphs = "Join the parts.\n\nThe first paragraph has\ntwo lines.\n\nThe second one more words here."
    assert docstring_pair(paragraphs)[0] == "The first paragraph has two lines.\nThe second one more words here."


@pytest.mark.parametrize(
    "docstring, reason",
    [
        ("Return the sum.", "not summary + blank line + description"),
        ("Return the sum\nof two numbers.\n\nMore text here.", "not summary + blank line + description"),
        ("Return the sum\n\nBoth may be ints or floats of any size at all.", "summary line without a final period"),
        ("Sum.\n\nBoth may be ints or floats of any size at all.", "summary line length"),
        ("Return the sum.\n\nSee below.\n\nArgs:\n    a: one.", "short description"),
        ("Return the sum (deprecated).\n\nUse add() instead of this old function from now on.", "deprecation notice"),
    ],
)
def test_docstrings_that_give_no_pair_say_why(docstring, reason):
    assert docstring_pair(docstring) == reason


def _write(root, relative, source):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def _tree(root):
    body = "When the number of points is odd, return the middle one of them all."
    _write(
        root,
        "pkg/stats.py",
        f'''
        """Statistics of numbers for this package.

        The module collects the small numeric helpers used across the package and its tools.
        """

        def median(data):
            """Return the median of the data.

            {body}
            """

        class Box:
            """A box of values.

            Values are kept in insertion order and can be read back in that same order later.
            """

            async def fill(self):
                """Fill the box.

                {body}
                """
        ''',
    )
    _write(root, "pkg/tests/test_stats.py", f'def f():\n    """Test the median.\n\n    {body} In a test.\n    """\n')
    _write(root, "zoo/mine.py", f'def f():\n    """Ours, left out.\n\n    {body} Ours.\n    """\n')
    _write(root, "pkg/broken.py", "def f(:\n")
    return body


def test_reads_modules_classes_and_functions_once_per_description(tmp_path):
    body = _tree(tmp_path / "site")
    pairs, stats = read_docstring_pairs([tmp_path / "site"], cache_dir=None)
    assert pairs == [
        ("The module collects the small numeric helpers used across the package and its tools.",
         "Statistics of numbers for this package."),
        (body, "Return the median of the data."),
        ("Values are kept in insertion order and can be read back in that same order later.", "A box of values."),
    ]  # fmt: skip
    assert stats.num_files == 2 and stats.skipped == {"unparsable file": 1, "duplicate": 1}
    assert stats.num_docstrings == 4 and stats.num_kept == 3 and not stats.cached
    names = {path.name for path in python_files(tmp_path / "site")}
    assert names == {"stats.py", "broken.py"}  # tests/ and the top-level zoo package are skipped


def test_pairs_are_cached_until_a_file_changes(tmp_path):
    _tree(tmp_path / "site")
    cache = tmp_path / "cache"
    first, stats = read_docstring_pairs([tmp_path / "site"], cache_dir=cache)
    assert not stats.cached and len(list(cache.glob("docstring-pairs-*.json.gz"))) == 1
    again, stats = read_docstring_pairs([tmp_path / "site"], cache_dir=cache)
    assert stats.cached and again == first and stats.skipped == {"unparsable file": 1, "duplicate": 1}
    module = tmp_path / "site" / "pkg" / "stats.py"
    module.write_text(module.read_text().replace("Return the median", "Return the middle value"))
    os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))
    changed, stats = read_docstring_pairs([tmp_path / "site"], cache_dir=cache)
    assert not stats.cached and changed[1][1] == "Return the middle value of the data."
    corrupt = next(cache.glob("docstring-pairs-*.json.gz"))
    corrupt.write_bytes(b"not gzip")
    read_docstring_pairs([tmp_path / "site"], cache_dir=cache)  # an unreadable cache is read again, not an error


def test_missing_root_or_no_pairs_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="is not a directory"):
        read_docstring_pairs([tmp_path / "absent"], cache_dir=None)
    _write(tmp_path / "empty", "a.py", '"""One line only."""\n')
    with pytest.raises(DataError, match="no PEP 257 docstring"):
        read_docstring_pairs([tmp_path / "empty"], cache_dir=None)


def test_builtin_source_reads_the_standard_library_and_installed_packages():
    # The default data of recipes.summarize: there on every machine after `make`.
    train, test = load_pair_dataset("builtin:python-docstrings")
    assert (train.name, train.source_language, train.target_language) == ("python-docstrings/train", "en", "en")
    assert len(train) > 5_000 and len(test) > 500
    pairs = dict(zip(train.targets + test.targets, train.sources + test.sources))
    # json.dumps's own docstring (CPython's text), read without importing anything.
    source = pairs["Serialize ``obj`` to a JSON formatted ``str``."]
    assert source.startswith("If ``skipkeys`` is true then ``dict`` keys that are not basic types")
