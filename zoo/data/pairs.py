"""Sequence-to-sequence data: the `PairDataset` container and its loaders.

    train, test = load_pair_dataset("builtin:gettext-es")  # English -> Spanish
    train, test = load_pair_dataset("builtin:python-docstrings")  # description -> summary line
    train, test = load_pair_dataset("builtin:debian-descriptions")  # text -> synopsis
    train, test = load_pair_dataset(
        "parallel:../shared/data/multi30k/train",
        test_spec="parallel:../shared/data/multi30k/val",
        source_language="de", target_language="en",
    )
    train, test = load_pair_dataset("tsv:spa-eng.tsv.gz", reverse=True)  # es -> en
    train, test = load_pair_dataset("tfds:ted_hrlr_translate/pt_to_en")

Each split keeps one copy of a repeated (source, target) pair, and no source
sentence is in both splits: a source with several targets goes wholly to one
side of a random split, and a train pair whose source is in a given test
split (`test_spec`, a tfds test split) is dropped from train. Both happen
silently. Files are read as in `zoo.data.text` (UTF-8, else latin-1; plain or
.gz); a bad row (an empty side, a missing column, invalid JSON or UTF-8) is
skipped and counted, with one warning line on stderr, and more than
`max_bad_fraction` of them is an error.
"""

import collections
import dataclasses
import math
import pathlib

import numpy as np

from zoo.data.debian import read_debian_descriptions
from zoo.data.docstrings import read_docstring_pairs
from zoo.data.gettext_catalogs import read_gettext_pairs
from zoo.data.labelled import named
from zoo.data.sources import DataError, load_tfds, parse_spec
from zoo.data.text_files import RowLog, column_index, json_records, read_lines, read_rows

# The spec forms of the pair sources, in the order shown in errors.
PAIR_SOURCES = {
    "builtin": "builtin:gettext-LANG, builtin:python-docstrings, builtin:debian-descriptions",
    "parallel": "parallel:PREFIX",
    "tsv": "tsv:PATH",
    "csv": "csv:PATH",
    "jsonl": "jsonl:PATH",
    "tfds": "tfds:NAME[/CONFIG]",
}
TFDS_OFFLINE_ALTERNATIVES = (
    "builtin:gettext-LANG, builtin:python-docstrings, builtin:debian-descriptions, parallel:PREFIX, tsv:FILE, "
    "csv:FILE or jsonl:FILE"
)
DEFAULT_TEST_FRACTION = 0.1
# First-row cells that make it a header of a tsv/csv pair file (lowercased),
# besides the source and target language codes.
PAIR_HEADERS = (
    "source",
    "target",
    "src",
    "tgt",
    "input",
    "output",
    "text",
    "summary",
    "article",
    "highlights",
    "document",
    "translation",
)


@dataclasses.dataclass
class PairDataset:
    """Aligned (source, target) texts held in memory.

    Args:
        sources: one input string per example, e.g. an English sentence or
            a long text; whitespace-stripped.
        targets: the matching output string, e.g. its translation or summary.
        name: what the data is, e.g. `"gettext-es/train"`.
        source_language: e.g. `"en"`, when known.
        target_language: e.g. `"es"`, when known.

    Raises:
        DataError: `sources` or `targets` is not a list of strings, or their
            lengths differ.
    """

    sources: list[str]
    targets: list[str]
    name: str
    source_language: str | None = None
    target_language: str | None = None

    def __post_init__(self):
        for field in ("sources", "targets"):
            texts = getattr(self, field)
            if not isinstance(texts, (list, tuple)):
                raise DataError(
                    f"dataset {self.name!r} {field} must be a list of strings; received {type(texts).__name__}"
                )
            for index, text in enumerate(texts):
                if not isinstance(text, str):
                    raise DataError(f"dataset {self.name!r} {field}[{index}] is a {type(text).__name__}; expected str")
            setattr(self, field, list(texts))
        if len(self.sources) != len(self.targets):
            raise DataError(
                f"dataset {self.name!r} has {len(self.sources)} sources but "
                f"{len(self.targets)} targets; expected equal counts"
            )

    def __len__(self):
        return len(self.sources)

    def subset(self, indices):
        """A new dataset of the examples at `indices` (ints or a bool mask)."""
        indices = np.asarray(indices)
        indices = np.flatnonzero(indices) if indices.dtype == bool else indices.astype(np.int64)
        indices = indices.tolist()
        return dataclasses.replace(
            self,
            sources=[self.sources[index] for index in indices],
            targets=[self.targets[index] for index in indices],
        )

    def take(self, n):
        """A new dataset of the first `n` examples (all, when fewer)."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise DataError(f"take() expects a non-negative integer; received n={n!r}")
        return self.subset(np.arange(min(int(n), len(self))))


# -------------------------------------------------------------- pair files


class PairLog(RowLog):
    """A RowLog of (source, target) rows: sources in `texts`, targets in `labels`."""

    def add(self, start, end, source, target):
        source, target = source.strip(), target.strip()
        if not source:
            return self.skip(start, end, "empty source")
        if not target:
            return self.skip(start, end, "empty target")
        self.num_rows += 1
        self.num_lines += end - start + 1
        self.texts.append(source)
        self.labels.append(target)

    def finish(self, max_bad_fraction):
        if not self.num_rows:
            raise DataError(f"{self.source} has no rows; expected source/target pairs")
        super().finish(max_bad_fraction)


def _parallel_file(prefix, extension, extensions):
    """PREFIX.EXTENSION, or PREFIX.EXTENSION.gz."""
    for path in (pathlib.Path(f"{prefix}.{extension}"), pathlib.Path(f"{prefix}.{extension}.gz")):
        if path.is_file():
            return path
    raise DataError(
        f"parallel file {prefix}.{extension}[.gz] does not exist; expected line-aligned "
        f"{prefix}.{extensions[0]} and {prefix}.{extensions[1]}, plain or .gz "
        f"(source_language and target_language name the extensions; default src, tgt)"
    )


def read_parallel(prefix, source_language, target_language):
    """`(log, name)` of line-aligned PREFIX.SRC and PREFIX.TGT files.

    Blank lines at the end of a file do not count; an empty line inside
    either file is a bad row.
    """
    extensions = source_language or "src", target_language or "tgt"
    paths = [_parallel_file(prefix, extension, extensions) for extension in extensions]
    sides = []
    for path in paths:
        lines, bad_lines = read_lines(path)
        while lines and not lines[-1].strip():
            lines.pop()
        sides.append((lines, bad_lines))
    (source_lines, source_bad), (target_lines, target_bad) = sides
    if len(source_lines) != len(target_lines):
        raise DataError(
            f"parallel files {paths[0]} ({len(source_lines):,} lines) and {paths[1]} "
            f"({len(target_lines):,} lines) differ in length; expected one sentence "
            f"per line in both"
        )
    suffixes = (path.name.removeprefix(prefix.name + ".") for path in paths)
    log = PairLog(f"{prefix}.{{{','.join(suffixes)}}}")
    for number, (source, target) in enumerate(zip(source_lines, target_lines), 1):
        if number in source_bad or number in target_bad:
            log.skip(number, number, "invalid UTF-8")
        else:
            log.add(number, number, source, target)
    return log, f"{prefix.name}.{extensions[0]}-{extensions[1]}"


def _pair_columns(path, first_row, source_column, target_column, languages):
    """`(has_header, source_index, target_index)` of a delimited pair file."""
    source_column = column_index(source_column, "source_column")
    target_column = column_index(target_column, "target_column")
    if source_column is None:
        source_column = 1 if target_column == 0 else 0
    if target_column is None:
        target_column = 0 if source_column == 1 else 1
    names = [cell.strip() for cell in first_row]
    lowered = [name.lower() for name in names]
    by_name = isinstance(source_column, str) or isinstance(target_column, str)
    known = set(PAIR_HEADERS) | {language.lower() for language in languages if language}
    if not by_name:
        chosen = [lowered[i] for i in (source_column, target_column) if i < len(lowered)]
        return len(chosen) == 2 and set(chosen) <= known, source_column, target_column
    indices = []
    for column, argument in ((source_column, "source_column"), (target_column, "target_column")):
        if isinstance(column, int):
            indices.append(column)
        elif column in names:
            indices.append(names.index(column))
        elif column.lower() in lowered:
            indices.append(lowered.index(column.lower()))
        else:
            raise DataError(
                f"{path} has no {argument} {column!r} in its header "
                f"({', '.join(map(repr, names))}); expected a column name or an index"
            )
    return True, *indices


def read_delimited_pairs(path, delimiter, source_column, target_column, languages):
    """A PairLog of a tsv (no quoting) or csv (quoted) file; extra columns ignored."""
    rows, bad_lines = read_rows(path, delimiter)
    if not rows:
        raise DataError(f"{path} has no rows; expected source/target pairs")
    has_header, source_index, target_index = _pair_columns(path, rows[0][2], source_column, target_column, languages)
    if source_index == target_index:
        raise DataError(f"source and target columns of {path} are both column {source_index}")
    rows = rows[has_header:]
    widths = collections.Counter(len(cells) for *_, cells in rows)
    num_columns = widths.most_common(1)[0][0] if widths else 2
    log = PairLog(str(path))
    for start, end, cells in rows:
        if bad_lines.intersection(range(start, end + 1)):
            log.skip(start, end, "invalid UTF-8")
        elif len(cells) <= source_index:
            log.skip(start, end, "missing source column")
        elif len(cells) <= target_index:
            log.skip(start, end, "missing target column")
        elif len(cells) != num_columns:
            log.skip(start, end, f"{len(cells)} columns; expected {num_columns}")
        else:
            log.add(start, end, cells[source_index], cells[target_index])
    return log


def read_jsonl_pairs(path, source_key, target_key):
    """A PairLog of one JSON object per line, with string source and target."""
    source_key = "source" if source_key is None else str(source_key)
    target_key = "target" if target_key is None else str(target_key)
    log = PairLog(str(path))
    for number, record in json_records(path, log):
        source, target = record.get(source_key), record.get(target_key)
        for value, key in ((source, source_key), (target, target_key)):
            if not isinstance(value, str):
                what = "is missing" if value is None else f"has type {type(value).__name__}"
                log.skip(number, number, f"{key!r} {what}; expected a string")
                break
        else:
            log.add(number, number, source, target)
    return log


# ------------------------------------------------------------------ sources


def _builtin(spec, name, source_language, target_language):
    """`builtin:gettext-LANG`, `builtin:python-docstrings` or `builtin:debian-descriptions` as a PairDataset."""
    if name.startswith("gettext-"):
        language = name.removeprefix("gettext-")
        pairs, _ = read_gettext_pairs(language)
        languages = ("en", language)
    elif name == "debian-descriptions":
        pairs, _ = read_debian_descriptions()
        languages = ("en", "en")
    elif name == "python-docstrings":
        pairs, _ = read_docstring_pairs()
        languages = ("en", "en")
    else:
        raise DataError(f"unknown builtin pair source {spec!r}; expected {PAIR_SOURCES['builtin']}")
    for argument, given, fixed in zip(
        ("source_language", "target_language"), (source_language, target_language), languages
    ):
        if given is not None and given != fixed:
            raise DataError(f"{spec} has {argument} {fixed!r}; received {argument}={given!r}")
    sources, targets = (list(side) for side in zip(*pairs)) if pairs else ([], [])
    return PairDataset(sources, targets, name, *languages)


def _file_name(path):
    """`spa-eng` for spa-eng.tsv or spa-eng.tsv.gz."""
    return path.name.removesuffix(".gz").rsplit(".", 1)[0] or path.name


def _load_file(kind, arg, options):
    """A PairDataset from a `parallel:`, `tsv:`, `csv:` or `jsonl:` source."""
    path = pathlib.Path(arg).expanduser()
    columns = options["source_column"], options["target_column"]
    languages = options["source_language"], options["target_language"]
    if kind == "parallel":
        log, name = read_parallel(path, *languages)
    elif kind == "jsonl":
        log, name = read_jsonl_pairs(path, *columns), _file_name(path)
    else:
        delimiter = "\t" if kind == "tsv" else ","
        log, name = read_delimited_pairs(path, delimiter, *columns, languages), _file_name(path)
    log.finish(options["max_bad_fraction"])
    return PairDataset(log.texts, log.labels, name, options["source_language"], options["target_language"])


def _tfds_keys(name, info, source_column, target_column):
    """The source and target feature names of a tfds pair dataset."""
    import tensorflow_datasets as tfds

    supervised = info.supervised_keys or (None, None)
    keys = source_column or supervised[0], target_column or supervised[1]
    features = info.features
    texts = sorted(key for key, feature in features.items() if isinstance(feature, tfds.features.Text))
    for key, argument in zip(keys, ("source_column", "target_column")):
        if key not in texts:
            raise DataError(
                f"tfds:{name} has no text feature {key!r} (text features: "
                f"{', '.join(texts) or 'none'}); expected {argument}= naming one"
            )
    return keys


def _tfds_split(name, split, options):
    """A PairDataset from one split of a tfds dataset, and its info."""
    import tensorflow_datasets as tfds

    dataset, info = load_tfds(name, split=split, offline_alternatives=TFDS_OFFLINE_ALTERNATIVES)
    columns = options["source_column"], options["target_column"]
    source_key, target_key = _tfds_keys(name, info, *columns)
    log, number = PairLog(f"tfds:{name}/{split}", unit="example"), 0
    for batch in tfds.as_numpy(dataset.batch(4096)):
        for source, target in zip(batch[source_key], batch[target_key]):
            number += 1
            source, target = (text.decode("utf-8", "replace") for text in (source, target))
            log.add(number, number, source, target)
    log.finish(options["max_bad_fraction"])
    translation = isinstance(info.features, tfds.features.Translation)
    languages = (source_key, target_key) if translation else (None, None)
    source_language = options["source_language"] or languages[0]
    target_language = options["target_language"] or languages[1]
    return PairDataset(log.texts, log.labels, name, source_language, target_language), info


def _load_tfds(name, options):
    """tfds `train`, and `test` (else `validation`) when the set has one."""
    train, info = _tfds_split(name, "train", options)
    # A mocked or unprepared info may list no splits: then try the first.
    found = [split for split in ("test", "validation") if not info.splits or split in info.splits]
    return train, (_tfds_split(name, found[0], options)[0] if found else None)


def _load_source(spec, options):
    """`(data, test)`: a source's PairDataset, and its own test split or None."""
    kind, arg = parse_spec(spec)
    if kind == "builtin":
        return _builtin(spec, arg, options["source_language"], options["target_language"]), None
    if kind == "tfds":
        return _load_tfds(arg, options)
    return _load_file(kind, arg, options), None


# -------------------------------------------------------------------- split


def _swap(dataset):
    return PairDataset(
        dataset.targets,
        dataset.sources,
        dataset.name,
        dataset.target_language,
        dataset.source_language,
    )


def _unique_pairs(dataset):
    """`dataset` with one copy of each (source, target) pair, in first order."""
    first = {}
    for index, pair in enumerate(zip(dataset.sources, dataset.targets)):
        first.setdefault(pair, index)
    return dataset.subset(sorted(first.values()))


def _split_by_source(dataset, test_size, seed):
    """`(train, test)` with about `test_size` pairs in test, no source on both sides.

    Sources are shuffled with `seed`; each goes with all of its pairs to test
    while they fit in the `test_size` left, so test has exactly `test_size`
    pairs unless only sources with several targets are left to fill it.
    """
    groups = {}
    for index, source in enumerate(dataset.sources):
        groups.setdefault(source, []).append(index)
    groups = list(groups.values())
    in_test, remaining = np.zeros(len(dataset), bool), test_size
    for position in np.random.default_rng(seed).permutation(len(groups)):
        group = groups[position]
        if len(group) <= remaining:
            in_test[group] = True
            remaining -= len(group)
            if not remaining:
                break
    return dataset.subset(~in_test), dataset.subset(in_test)


def _without_sources_of(train, test):
    """`train` without the pairs whose source is a source of `test`."""
    test_sources = set(test.sources)
    return train.subset([source not in test_sources for source in train.sources])


def _part_name(dataset, reverse):
    return f"{dataset.name}.reversed" if reverse else dataset.name


# ------------------------------------------------------------------- public


def _check_options(spec, test_spec, columns, test_fraction, test_size, max_bad_fraction):
    """Raises a DataError for a bad `load_pair_dataset` option."""
    for argument, value in (("spec", spec), ("test_spec", test_spec)):
        kind = value.partition(":")[0] if isinstance(value, str) else None
        if value is not None and kind not in PAIR_SOURCES:
            raise DataError(
                f"{argument}={value!r} is not a source of sequence pairs; expected "
                f"one of {', '.join(PAIR_SOURCES.values())}"
            )
        if kind in ("builtin", "parallel") and any(column is not None for column in columns):
            raise DataError(
                f"{value!r} has no columns; received source_column={columns[0]!r}, target_column={columns[1]!r}"
            )
    if test_fraction is not None and test_size is not None:
        raise DataError(
            f"give test_fraction or test_size, not both; received "
            f"test_fraction={test_fraction!r}, test_size={test_size!r}"
        )
    if test_fraction is not None and not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1); received test_fraction={test_fraction!r}")
    if test_size is not None and (
        not isinstance(test_size, (int, np.integer)) or isinstance(test_size, bool) or test_size < 1
    ):
        raise DataError(f"test_size must be a positive integer; received test_size={test_size!r}")
    if test_spec is not None and (test_fraction is not None or test_size is not None):
        raise DataError(
            f"test_spec={test_spec!r} is the test split; received test_fraction="
            f"{test_fraction!r}, test_size={test_size!r} as well"
        )
    if not 0.0 <= max_bad_fraction <= 1.0:
        raise DataError(f"max_bad_fraction must be in [0, 1]; received max_bad_fraction={max_bad_fraction!r}")


def load_pair_dataset(
    spec,
    *,
    test_spec=None,
    source_column=None,
    target_column=None,
    source_language=None,
    target_language=None,
    test_fraction=None,
    test_size=None,
    seed=0,
    max_bad_fraction=0.01,
    reverse=False,
):
    """Loads sequence-to-sequence (source, target) pairs as `(train, test)`.

    Args:
        spec: `builtin:gettext-LANG` (English -> LANG from the installed
            gettext catalogs, see `zoo.data.gettext_catalogs`),
            `builtin:python-docstrings` (docstring description -> summary
            line of the installed Python code, see `zoo.data.docstrings`),
            `builtin:debian-descriptions` (package description -> synopsis,
            see `zoo.data.debian`), `parallel:PREFIX` (line-aligned
            PREFIX.SRC and PREFIX.TGT, each plain or .gz), `tsv:PATH` /
            `csv:PATH` (SOURCE, TARGET, any further columns ignored),
            `jsonl:PATH` (`{"source": ..., "target": ...}` per line) or
            `tfds:NAME[/CONFIG]` (e.g. `ted_hrlr_translate/pt_to_en`).
        test_spec: a source loaded the same way and used as the test split
            (its own test split when it has one).
        source_column: the source column of a tsv/csv (0-based index or
            header name; a named column means the first row is a header),
            key of a jsonl, or feature of a tfds set (default its supervised
            keys).
        target_column: the target column, the same way.
        source_language: e.g. `"de"`; for `parallel:` the extension of the
            source file (default `src`).
        target_language: e.g. `"en"`; for `parallel:` the target file's
            extension (default `tgt`).
        test_fraction: share of pairs held out for test when the source has
            no test split (default 0.1).
        test_size: number of pairs held out instead of a fraction.
        seed: seed of that random split (by source sentence, not stratified).
        max_bad_fraction: most skipped rows a file may have, as a fraction.
        reverse: swap sources and targets (e.g. es -> en from an en-es file).

    Returns:
        `(train, test)` PairDatasets named `NAME/train` and `NAME/test`.

    Raises:
        DataError: the spec is unknown or not a pair source; a file or
            catalog is missing, malformed, or has more bad rows than allowed;
            an option is out of range; or too few pairs are left to split.
    """
    columns = source_column, target_column
    _check_options(spec, test_spec, columns, test_fraction, test_size, max_bad_fraction)
    options = {
        "source_column": source_column,
        "target_column": target_column,
        "source_language": source_language,
        "target_language": target_language,
        "max_bad_fraction": max_bad_fraction,
    }
    data, test = _load_source(spec, options)
    if test_spec is not None:
        test_data, test_own = _load_source(test_spec, options)
        test = test_own if test_own is not None else test_data
    elif test is not None and (test_fraction is not None or test_size is not None):
        raise DataError(
            f"{spec} has its own test split; received test_fraction={test_fraction!r}, test_size={test_size!r}"
        )
    if reverse:
        data, test = _swap(data), (None if test is None else _swap(test))
    data = _unique_pairs(data)
    if test is not None:
        test = _unique_pairs(test)
        train = _without_sources_of(data, test)
        if not len(train):
            raise DataError(
                f"{spec} has no pairs left for training: the source of each is also "
                f"a source of the test split {test.name!r}; expected different data"
            )
    else:
        if test_size is None:
            fraction = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
            test_size = math.ceil(fraction * len(data))
        if test_size >= len(data):
            raise DataError(
                f"{spec} has {len(data)} distinct pairs; expected more than "
                f"test_size={test_size} to split off a test set"
            )
        train, test = _split_by_source(data, int(test_size), seed)
    return (
        named(train, f"{_part_name(train, reverse)}/train"),
        named(test, f"{_part_name(test, reverse)}/test"),
    )
