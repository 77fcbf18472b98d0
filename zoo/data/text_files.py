"""Reading labelled text files row by row, counting the rows that cannot be used.

Shared by the text data sources: `read_lines` decodes a file (UTF-8,
UTF-16 or latin-1, plain or .gz), the `read_*` functions turn it into rows,
and `RowLog` keeps the good rows and reports the bad ones (one warning line,
or a `DataError` past `max_bad_fraction`).
"""

import collections
import csv
import dataclasses
import gzip
import json
import pathlib
import re
import sys
import zlib

import numpy as np

from zoo.data.sources import DataError

# Header cells that name the label / text column (compared lowercased).
LABEL_HEADERS = ("label", "labels", "sentiment", "polarity", "class", "category", "target")
TEXT_HEADERS = ("text", "sentence", "review", "content", "document", "body")
INTEGER_PATTERN = re.compile(r"[+-]?[0-9]+")

# ---------------------------------------------------------------- bad rows


@dataclasses.dataclass
class RowLog:
    """The good (text, label) rows of one source, and a count of bad ones.

    `add` and `skip` take where a row starts and ends (line numbers, or
    example numbers for tfds). A skipped row that spans many lines (e.g. an
    unclosed csv quote) weighs by its lines as well as by its count.
    """

    source: str  # the file or tfds split, for messages
    allowed_labels: set = None  # when class names are fixed
    unit: str = "line"
    texts: list = dataclasses.field(default_factory=list)
    labels: list = dataclasses.field(default_factory=list)
    num_rows: int = 0
    num_lines: int = 0
    num_bad: int = 0
    num_bad_lines: int = 0
    first_bad: str = None

    def add(self, start, end, text, label):
        text, label = text.strip(), label.strip()
        if not text:
            return self.skip(start, end, "empty text")
        if not label:
            return self.skip(start, end, "empty label")
        if "\n" in label or "\r" in label:
            return self.skip(start, end, "label contains a line break")
        if self.allowed_labels is not None and label not in self.allowed_labels:
            return self.skip(start, end, f"label {label!r} not in class_names")
        self.num_rows += 1
        self.num_lines += end - start + 1
        self.texts.append(text)
        self.labels.append(label)

    def skip(self, start, end, reason):
        self.num_rows += 1
        self.num_lines += end - start + 1
        self.num_bad += 1
        self.num_bad_lines += end - start + 1
        if self.first_bad is None:
            span = f" (row spans {self.unit}s {start}-{end})" if end > start else ""
            self.first_bad = f"{self.unit} {start}: {reason}{span}"

    def finish(self, max_bad_fraction):
        """Warns about skipped rows, or raises when there are too many."""
        if not self.num_rows:
            raise DataError(f"{self.source} has no rows; expected labelled texts")
        fraction = max(self.num_bad / self.num_rows, self.num_bad_lines / self.num_lines)
        skipped = f"skipped {self.num_bad:,} of {self.num_rows:,} rows"
        if self.num_bad_lines > self.num_bad:
            skipped += f" ({self.num_bad_lines:,} of {self.num_lines:,} {self.unit}s)"
        if fraction > max_bad_fraction:
            raise DataError(
                f"too many bad rows in {self.source}: {skipped}, {fraction:.1%}, "
                f"more than max_bad_fraction={max_bad_fraction}; first at "
                f"{self.first_bad}"
            )
        if not self.texts:
            raise DataError(f"{self.source} has no valid rows; first bad at {self.first_bad}")
        if self.num_bad:
            where = pathlib.Path(self.source).name if self.unit == "line" else self.source
            print(f"warning: {skipped} in {where} (first at {self.first_bad})", file=sys.stderr)


# ------------------------------------------------------------ reading files


def read_lines(path):
    """Decoded lines of a text file (plain or .gz; UTF-8, UTF-16 or latin-1).

    Returns:
        `(lines, bad)`: the lines, and the 1-based numbers of the lines that
        are not valid UTF-8 (decoded with U+FFFD). A file whose non-ASCII
        lines are mostly not UTF-8 is decoded as latin-1 instead, with no bad
        lines.
    """
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise DataError(f"text data file {path} {what}; expected a file")
    try:
        data = path.read_bytes()
        data = gzip.decompress(data) if path.name.endswith(".gz") else data
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 (Excel's "Unicode text")
            data = data.decode("utf-16").encode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise DataError(f"cannot read text data file {path}: {error}") from None
    # bytes.splitlines breaks at \n, \r\n and \r only, never inside a text.
    raw_lines = data.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True)
    lines, bad, num_utf8 = [], set(), 0
    for number, raw in enumerate(raw_lines, 1):
        try:
            lines.append(raw.decode("utf-8"))
            num_utf8 += not raw.isascii()
        except UnicodeDecodeError:
            lines.append(raw.decode("utf-8", "replace"))
            bad.add(number)
    if len(bad) > num_utf8:  # mostly not UTF-8: the file is latin-1
        return [raw.decode("latin-1") for raw in raw_lines], set()
    return lines, bad


def column_index(value, argument):
    """None, a 0-based index or a column name, from `argument=value`."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip():
        name = value.strip()
        return int(name) if name.isascii() and name.isdigit() else name
    raise DataError(f"{argument} must be a column name or a 0-based index; received {argument}={value!r}")


def _looks_like_header(rows, label_column):
    """Whether the first of `rows` names its columns (see `load_text_dataset`)."""
    names = [cell.strip().lower() for cell in rows[0][2]]
    if label_column is None and len(names) == 2:
        if names[0] in LABEL_HEADERS and names[1] in TEXT_HEADERS:
            return True
        label_column = 1
    if label_column is None:
        return any(name in LABEL_HEADERS for name in names)
    if label_column >= len(names):
        return False
    if names[label_column] in LABEL_HEADERS:
        return True
    # A word above integer labels, e.g. `stars` over 1..5, is a header.
    labels = [cells[label_column].strip() for *_, cells in rows[1:] if len(cells) > label_column]
    return (
        names[label_column] != ""
        and not INTEGER_PATTERN.fullmatch(names[label_column])
        and any(labels)
        and all(INTEGER_PATTERN.fullmatch(label) for label in labels if label)
    )


def _header_index(path, header, column, known, argument):
    """The index of `column` (a name, an index, or None: a `known` name)."""
    names = [cell.strip() for cell in header]
    lowered = [name.lower() for name in names]
    if isinstance(column, int) and column < len(names):
        return column
    if isinstance(column, str) and column.lower() in lowered:
        return names.index(column) if column in names else lowered.index(column.lower())
    found = [index for index, name in enumerate(lowered) if name in known]
    if column is None and found:
        return found[0]
    header = ", ".join(map(repr, names))
    if column is None:
        raise DataError(
            f"cannot tell the {argument.split('_')[0]} column of {path} from its "
            f"header ({header}); expected {argument}=NAME or index"
        )
    raise DataError(
        f"{path} has no {argument} {column!r} in its header ({header}); "
        f"expected a column name or an index < {len(names)}"
    )


def _layout(path, rows, text_column, label_column):
    """`(has_header, text_index, label_index, num_columns)` of a delimited file."""
    first = rows[0][2]
    by_name = isinstance(text_column, str) or isinstance(label_column, str)
    if by_name or _looks_like_header(rows, label_column):
        names = {cell.strip().lower() for cell in first}
        if label_column is None and len(first) == 2 and not names & set(LABEL_HEADERS):
            label_column = 1  # e.g. `stars` above integer labels
        label_index = _header_index(path, first, label_column, LABEL_HEADERS, "label_column")
        if text_column is None and len(first) == 2 and not names & set(TEXT_HEADERS):
            text_column = 1 - label_index
        text_index = _header_index(path, first, text_column, TEXT_HEADERS, "text_column")
        return True, text_index, label_index, len(first)
    label_index = label_column if label_column is not None else (0 if text_column == 1 else 1)
    text_index = text_column if text_column is not None else (1 if label_index == 0 else 0)
    if text_column is None and label_column is None:
        num_columns = 2
    else:  # the most common row width
        widths = collections.Counter(len(cells) for *_, cells in rows)
        num_columns = widths.most_common(1)[0][0]
    return False, text_index, label_index, num_columns


def read_rows(path, delimiter):
    """The non-blank rows of a tsv (no quoting) or csv (quoted) file.

    Returns:
        `(rows, bad_lines)`: `(first_line, last_line, cells)` per row, and the
        numbers of the lines that are not valid UTF-8 (see `read_lines`).
    """
    lines, bad_lines = read_lines(path)
    if delimiter == "\t":  # real TSV texts hold quotes as plain characters
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(lines)
    rows, start = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines are not rows
                rows.append((start, reader.line_num, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(
            f"cannot parse {path} from line {start} ({error}); expected "
            f"{'tsv' if delimiter == chr(9) else 'csv'} rows (an unclosed quote?)"
        ) from None
    return rows, bad_lines


def read_delimited(path, delimiter, text_column, label_column, log):
    """Reads a tsv (no quoting) or csv (quoted) file into `log`."""
    rows, bad_lines = read_rows(path, delimiter)
    if not rows:
        raise DataError(f"{path} has no rows; expected labelled texts")
    layout = _layout(path, rows, text_column, label_column)
    has_header, text_index, label_index, num_columns = layout
    if text_index == label_index:
        raise DataError(f"text and label columns of {path} are both column {text_index}")
    for start, end, cells in rows[has_header:]:
        if bad_lines.intersection(range(start, end + 1)):
            log.skip(start, end, "invalid UTF-8")
        elif len(cells) <= label_index:
            log.skip(start, end, "missing label column")
        elif len(cells) <= text_index:
            log.skip(start, end, "missing text column")
        elif len(cells) != num_columns:
            log.skip(start, end, f"{len(cells)} columns; expected {num_columns}")
        else:
            log.add(start, end, cells[text_index], cells[label_index])


def json_records(path, log):
    """`(line_number, dict)` for each JSON object line of `path`; other non-blank lines are skipped into `log`."""
    lines, bad_lines = read_lines(path)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if number in bad_lines:
            log.skip(number, number, "invalid UTF-8")
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            log.skip(number, number, f"invalid JSON ({error.msg})")
            continue
        if not isinstance(record, dict):
            log.skip(number, number, f"not a JSON object but a {type(record).__name__}")
            continue
        yield number, record


def read_jsonl(path, text_key, label_key, log):
    """Reads one JSON object per line into `log`."""
    for number, record in json_records(path, log):
        text, label = record.get(text_key), record.get(label_key)
        if text is None:
            log.skip(number, number, f"missing text column {text_key!r}")
        elif label is None:
            log.skip(number, number, f"missing label column {label_key!r}")
        elif not isinstance(text, str):
            log.skip(number, number, f"text has type {type(text).__name__}; expected a string")
        elif isinstance(label, bool) or not isinstance(label, (str, int)):
            log.skip(number, number, f"label {label!r} is not a string or integer")
        else:
            log.add(number, number, text, str(label))


def read_sentences(path, label, log):
    """Reads one text per line, all with `label`, into `log`."""
    lines, bad_lines = read_lines(path)
    for number, line in enumerate(lines, 1):
        if number in bad_lines:
            log.skip(number, number, "invalid UTF-8")
        elif line.strip():
            log.add(number, number, line, label)
