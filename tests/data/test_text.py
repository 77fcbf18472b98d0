"""Tests for zoo.data.text: TextDataset and load_text_dataset."""

import gzip
import json
import socket
import time
from unittest import mock

import numpy as np
import pytest

from zoo.data import DataError, TextDataset, load_text_dataset, sources, text

# (text, label) of the small files below, sorted.
FOUR_REVIEWS = [("dull", "neg"), ("fun", "pos"), ("nice", "pos"), ("ugly", "neg")]


def write(path, content, encoding="utf-8"):
    """Writes `content` (str or bytes) to `path`; gzip when it ends in .gz."""
    data = content.encode(encoding) if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def examples(*datasets):
    """Every (text, class name) pair of `datasets`, sorted."""
    return sorted(
        (text_, dataset.class_names[label])
        for dataset in datasets
        for text_, label in zip(dataset.texts, dataset.labels)
    )


def balanced_tsv(path, count, bad_lines=()):
    """`count` rows `review N<TAB>pos|neg`; lines in `bad_lines` lack a label."""
    lines = [
        f"review {n}" if n in bad_lines else f"review {n}\t{'pos' if n % 2 else 'neg'}" for n in range(1, count + 1)
    ]
    return write(path, "\n".join(lines) + "\n")


def _closed_port_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


# ----------------------------------------------------------------- TextDataset


def test_text_dataset_subset_and_take():
    dataset = TextDataset(["a", "b", "c", "d"], np.array([0, 1, 0, 1]), ["x", "y"], "t")
    assert len(dataset) == 4 and dataset.num_classes == 2
    part = dataset.subset([3, 0])
    assert part.texts == ["d", "a"] and part.labels.tolist() == [1, 0]
    assert dataset.subset(np.array([False, True, True, False])).texts == ["b", "c"]
    assert dataset.subset([]).texts == [] and len(dataset.take(10)) == 4
    assert dataset.take(2).texts == ["a", "b"] and part.class_names == ["x", "y"]
    with pytest.raises(DataError, match="n=-1"):
        dataset.take(-1)


@pytest.mark.parametrize(
    "texts, labels, message",
    [
        ("ab", np.zeros(2, np.int64), "texts must be a list of strings; received str"),
        (["a", b"b"], np.zeros(2, np.int64), "text 1 is a bytes; expected str"),
        (["a", "b"], np.zeros(2, np.int32), "labels have dtype=int32"),
        (["a", "b"], [0, 1], "labels must be a numpy array; received list"),
        (["a"], np.zeros(2, np.int64), "has 1 texts but 2 labels"),
        (["a", "b"], np.array([0, 2]), r"label 2; expected labels in \[0, 2\)"),
        (["a", "b"], np.array([-1, 0]), "label -1"),
    ],
)
def test_text_dataset_rejects_bad_fields(texts, labels, message):
    with pytest.raises(DataError, match=message):
        TextDataset(texts, labels, ["neg", "pos"], "bad")


# ------------------------------------------------------------ delimited files


def test_tsv_without_header_keeps_quotes_and_casing(tmp_path):
    path = write(
        tmp_path / "reviews.tsv",
        "A GREAT movie\tpos\n"
        'He said "dull" twice, and left\tneg\n'
        "\n"  # blank lines are not rows
        "  padded text \t pos \r\n"
        '"Quoted start\tneg\n',
    )
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.5)
    assert train.class_names == ["neg", "pos"] and test.class_names == ["neg", "pos"]
    assert (train.name, test.name) == ("reviews/train", "reviews/test")
    assert examples(train, test) == [
        ('"Quoted start', "neg"),
        ("A GREAT movie", "pos"),
        ('He said "dull" twice, and left', "neg"),
        ("padded text", "pos"),
    ]


def test_tsv_header_is_detected_and_skipped(tmp_path):
    path = write(tmp_path / "sst.tsv", "sentence\tlabel\nfine\t1\nbad\t0\ngood\t1\nawful\t0\n")
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.5)
    assert train.class_names == ["0", "1"]
    assert examples(train, test) == [("awful", "0"), ("bad", "0"), ("fine", "1"), ("good", "1")]


@pytest.mark.parametrize(
    "first_line, first_example",
    [
        ("label\ttext", None),  # a header, label first
        ("Review\tScore", None),  # a word above integer labels
        ("Class\t1", ("Class", "1")),  # a one-word review, not a header
        ("label\t0", ("label", "0")),
    ],
)
def test_header_detection(tmp_path, first_line, first_example):
    label_first = first_line.startswith("label\tt")
    rows = [("nice", "1"), ("ugly", "0"), ("fun", "1"), ("dull", "0")]
    lines = [first_line] + [f"{label}\t{t}" if label_first else f"{t}\t{label}" for t, label in rows]
    path = write(tmp_path / "t.tsv", "\n".join(lines) + "\n")
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.5)
    expected = rows + ([first_example] if first_example else [])
    assert examples(train, test) == sorted(expected)


def test_named_columns_pick_from_wide_header(tmp_path):
    rows = ["id\treview\tstars", "1\tok\t2", "2\tsuperb\t10", "3\tmeh\t2"]
    rows += ["4\tbest\t10", "5\tpoor\t9", "6\tgood\t9"]
    path = write(tmp_path / "wide.tsv", "\n".join(rows))
    train, test = load_text_dataset(f"tsv:{path}", text_column="review", label_column="STARS", test_fraction=0.5)
    assert train.class_names == ["2", "9", "10"]  # numeric order, not "10" < "2"
    assert ("superb", "10") in examples(train, test) and len(examples(train, test)) == 6
    by_index = load_text_dataset(f"tsv:{path}", text_column="1", label_column=2, test_fraction=0.5)
    assert examples(*by_index) == examples(train, test)


def test_columns_by_index_without_header(tmp_path):
    path = write(tmp_path / "t.tsv", "pos\tnice\nneg\tugly\npos\tfun\nneg\tdull\n")
    train, test = load_text_dataset(f"tsv:{path}", label_column=0, test_fraction=0.5)
    assert examples(train, test) == FOUR_REVIEWS


def test_unknown_column_name_lists_header(tmp_path):
    path = write(tmp_path / "t.tsv", "text\tlabel\na\tpos\nb\tneg\n")
    with pytest.raises(DataError, match=r"no label_column 'stars' in its header \('text', 'label'\)"):
        load_text_dataset(f"tsv:{path}", label_column="stars")


@pytest.mark.parametrize("value", [-1, 1.5, "", True])
def test_bad_column_argument_raises(tmp_path, value):
    path = write(tmp_path / "t.tsv", "a\tpos\nb\tneg\n")
    with pytest.raises(DataError, match="text_column must be a column name or a 0-based index"):
        load_text_dataset(f"tsv:{path}", text_column=value)


def test_csv_quoted_commas_doubled_quotes_and_newlines(tmp_path):
    path = write(
        tmp_path / "reviews.csv",
        "review,sentiment\r\n"
        '"Funny, clever, warm",positive\r\n'
        '"Line one\nline two",negative\r\n'
        'He said ""wow"" ,positive\r\n'
        '"She said ""meh""",negative\r\n',
    )
    train, test = load_text_dataset(f"csv:{path}", test_fraction=0.5)
    assert train.class_names == ["negative", "positive"]
    assert examples(train, test) == [
        ("Funny, clever, warm", "positive"),
        ('He said ""wow""', "positive"),  # quotes inside an unquoted field stay
        ("Line one\nline two", "negative"),
        ('She said "meh"', "negative"),
    ]


def test_csv_unclosed_quote_is_not_silently_swallowed(tmp_path):
    rows = [f"text {n},{'pos' if n % 2 else 'neg'}" for n in range(1, 11)]
    rows[2] = '"opens a quote,pos'
    path = write(tmp_path / "broken.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        load_text_dataset(f"csv:{path}", max_bad_fraction=0.5)  # 1 of 3 rows: 33%
    message = str(info.value)
    assert "skipped 1 of 3 rows (8 of 10 lines)" in message
    assert "first at line 3: missing label column (row spans lines 3-10)" in message


def test_jsonl_custom_columns_and_int_labels(tmp_path):
    records = [{"review": "  Loved it ", "y": 1}, {"review": "Hated it", "y": 0, "id": 7}]
    records += [{"review": "So-so", "y": "1"}, {"review": "Meh", "y": "0"}]
    path = write(tmp_path / "r.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    train, test = load_text_dataset(f"jsonl:{path}", text_column="review", label_column="y", test_fraction=0.5)
    assert train.class_names == ["0", "1"]
    assert examples(train, test) == [("Hated it", "0"), ("Loved it", "1"), ("Meh", "0"), ("So-so", "1")]


@pytest.mark.parametrize(
    "name, content",
    [
        ("r.tsv.gz", "nice\tpos\nugly\tneg\nfun\tpos\ndull\tneg\n"),
        ("r.csv.gz", "nice,pos\nugly,neg\nfun,pos\ndull,neg\n"),
        ("r.jsonl.gz", "".join(json.dumps({"text": review, "label": label}) + "\n" for review, label in FOUR_REVIEWS)),
    ],
)
def test_gzip_files(tmp_path, name, content):
    path = write(tmp_path / name, content)
    kind = name.split(".")[1]
    train, test = load_text_dataset(f"{kind}:{path}", test_fraction=0.5)
    assert examples(train, test) == FOUR_REVIEWS
    assert train.name == "r/train"


def test_corrupt_gzip_names_file(tmp_path):
    path = tmp_path / "r.tsv.gz"
    path.write_bytes(gzip.compress(b"nice\tpos\n" * 50)[:-12])  # truncated
    with pytest.raises(DataError, match=f"cannot read text data file {path}"):
        load_text_dataset(f"tsv:{path}")


# -------------------------------------------------------------------- labels


def _labels_file(tmp_path, labels):
    content = "".join(f"text {n}\t{label}\n" for n, label in enumerate(labels))
    return write(tmp_path / "l.tsv", content)


@pytest.mark.parametrize(
    "labels, class_names, names_of_rows",
    [
        (["pos", "neg", "Neutral"], ["Neutral", "neg", "pos"], ["pos", "neg", "Neutral"]),
        (["10", "9", "-1"], ["-1", "9", "10"], ["10", "9", "-1"]),
        (["+1", "-1", "1"], ["-1", "1"], ["1", "-1", "1"]),  # +1 and 1: one class
        (["1", "2.5", "10"], ["1", "10", "2.5"], ["1", "2.5", "10"]),  # strings
    ],
)
def test_label_order(tmp_path, labels, class_names, names_of_rows):
    path = _labels_file(tmp_path, labels * 4)
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.5)
    assert train.class_names == class_names and test.class_names == class_names
    expected = sorted((f"text {n}", names_of_rows[n % 3]) for n in range(12))
    assert examples(train, test) == expected


def test_fixed_class_names_keep_order_and_skip_others(tmp_path, capsys):
    path = _labels_file(tmp_path, ["pos", "neg"] * 100 + ["neutral"])
    train, test = load_text_dataset(f"tsv:{path}", class_names=["pos", "neg"])
    assert train.class_names == ["pos", "neg"]
    assert train.texts[train.labels.tolist().index(0)] in {f"text {n}" for n in range(0, 200, 2)}
    assert capsys.readouterr().err == (
        "warning: skipped 1 of 201 rows in l.tsv (first at line 201: label 'neutral' not in class_names)\n"
    )


def test_one_class_raises(tmp_path):
    path = _labels_file(tmp_path, ["pos"] * 5)
    with pytest.raises(DataError, match=r"l.tsv has only the class \['pos'\]; expected at least 2"):
        load_text_dataset(f"tsv:{path}")


def test_bad_class_names_argument_raises(tmp_path):
    with pytest.raises(DataError, match="class_names must be at least 2 distinct names"):
        load_text_dataset(f"tsv:{tmp_path / 'x.tsv'}", class_names=["a", "a"])


# --------------------------------------------------------------------- split


def test_split_is_stratified_and_deterministic(tmp_path):
    path = _labels_file(tmp_path, ["a"] * 30 + ["b"] * 10)
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.25, seed=3)
    assert (len(train), len(test)) == (30, 10)
    assert np.bincount(test.labels).tolist() == [8, 2]  # 7.5 / 2.5, sklearn's rounding
    assert set(train.texts).isdisjoint(test.texts)
    again_train, again_test = load_text_dataset(f"tsv:{path}", test_fraction=0.25, seed=3)
    assert again_train.texts == train.texts and again_test.texts == test.texts
    other_train, _ = load_text_dataset(f"tsv:{path}", test_fraction=0.25, seed=4)
    assert other_train.texts != train.texts


@pytest.mark.parametrize("argument", [{"test_fraction": 1.0}, {"max_bad_fraction": 1.5}])
def test_fractions_out_of_range_raise(tmp_path, argument):
    name, value = next(iter(argument.items()))
    with pytest.raises(DataError, match=f"{name}={value}"):
        load_text_dataset(f"tsv:{tmp_path / 'x.tsv'}", **argument)


# ------------------------------------------------------------------ bad rows


def test_bad_rows_are_skipped_with_one_warning(tmp_path, capsys):
    path = balanced_tsv(tmp_path / "reviews.tsv", 1204, bad_lines=(17, 900, 1100))
    train, test = load_text_dataset(f"tsv:{path}")
    assert len(train) + len(test) == 1201
    assert "review 17" not in train.texts + test.texts
    assert capsys.readouterr().err == (
        "warning: skipped 3 of 1,204 rows in reviews.tsv (first at line 17: missing label column)\n"
    )


def test_clean_file_prints_nothing(tmp_path, capsys):
    load_text_dataset(f"tsv:{balanced_tsv(tmp_path / 'ok.tsv', 20)}")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "line, reason",
    [
        ("\tpos", "empty text"),
        ("some text\t  ", "empty label"),
        ("a\tpos\textra", "3 columns; expected 2"),
    ],
)
def test_tsv_bad_row_reasons(tmp_path, capsys, line, reason):
    path = balanced_tsv(tmp_path / "r.tsv", 150)
    path.write_text(path.read_text() + line + "\n")
    load_text_dataset(f"tsv:{path}")
    assert f"skipped 1 of 151 rows in r.tsv (first at line 151: {reason})" in capsys.readouterr().err


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"text": "x", "label": 1', "invalid JSON (Expecting ',' delimiter)"),
        ('["x", 1]', "not a JSON object but a list"),
        ('{"label": 0}', "missing text column 'text'"),
        ('{"text": "x", "label": null}', "missing label column 'label'"),
        ('{"text": 5, "label": 0}', "text has type int; expected a string"),
        ('{"text": "x", "label": true}', "label True is not a string or integer"),
        ('{"text": "x", "label": 1.5}', "label 1.5 is not a string or integer"),
        ('{"text": "   ", "label": 1}', "empty text"),
        ('{"text": "x", "label": ""}', "empty label"),
    ],
)
def test_jsonl_bad_row_reasons(tmp_path, capsys, line, reason):
    good = [json.dumps({"text": f"t{n}", "label": n % 2}) for n in range(8)]
    path = write(tmp_path / "r.jsonl", "\n".join(good[:3] + [line] + good[3:]) + "\n")
    train, test = load_text_dataset(f"jsonl:{path}", test_fraction=0.5, max_bad_fraction=0.2)
    assert len(train) + len(test) == 8
    assert capsys.readouterr().err == (f"warning: skipped 1 of 9 rows in r.jsonl (first at line 4: {reason})\n")


def test_too_many_bad_rows_raise_with_line_number(tmp_path):
    path = balanced_tsv(tmp_path / "reviews.tsv", 100, bad_lines=(5, 60))
    with pytest.raises(DataError) as info:
        load_text_dataset(f"tsv:{path}")  # 2% > 1%
    assert str(info.value) == (
        f"too many bad rows in {path}: skipped 2 of 100 rows, 2.0%, more than "
        "max_bad_fraction=0.01; first at line 5: missing label column"
    )
    train, test = load_text_dataset(f"tsv:{path}", max_bad_fraction=0.02)
    assert len(train) + len(test) == 98


def test_no_valid_rows_raise(tmp_path):
    path = write(tmp_path / "r.tsv", "a\nb\n")
    with pytest.raises(DataError, match="has no valid rows; first bad at line 1: missing label"):
        load_text_dataset(f"tsv:{path}", max_bad_fraction=1.0)


@pytest.mark.parametrize("kind, content", [("tsv", ""), ("tsv", "\n \n"), ("csv", "text,label\n"), ("jsonl", "\n")])
def test_empty_file_raises(tmp_path, kind, content):
    path = write(tmp_path / f"r.{kind}", content)
    with pytest.raises(DataError, match=f"{path} has no rows"):
        load_text_dataset(f"{kind}:{path}")


def test_missing_file_names_path(tmp_path):
    with pytest.raises(DataError, match=f"text data file {tmp_path / 'nope.tsv'} does not exist"):
        load_text_dataset(f"tsv:{tmp_path / 'nope.tsv'}")
    with pytest.raises(DataError, match=f"text data file {tmp_path} is not a file"):
        load_text_dataset(f"jsonl:{tmp_path}")


# ----------------------------------------------------------------- encodings


def test_latin1_file_falls_back(tmp_path, capsys):
    content = "café crème\tpos\nnaïve\tneg\nplain\tpos\nugly\tneg\n"
    path = write(tmp_path / "r.tsv", content, "latin-1")
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.5)
    assert examples(train, test) == [("café crème", "pos"), ("naïve", "neg"), ("plain", "pos"), ("ugly", "neg")]
    assert capsys.readouterr().err == ""


def test_invalid_utf8_row_in_utf8_file_is_skipped(tmp_path, capsys):
    lines = [f"résumé {n}\t{'pos' if n % 2 else 'neg'}".encode() for n in range(150)]
    lines[41] = b"broken \xff byte\tpos"
    path = write(tmp_path / "u.tsv", b"\xef\xbb\xbf" + b"\n".join(lines))  # with a BOM
    train, test = load_text_dataset(f"tsv:{path}")
    assert len(train) + len(test) == 149 and "résumé 0" in train.texts + test.texts
    assert "skipped 1 of 150 rows in u.tsv (first at line 42: invalid UTF-8)" in capsys.readouterr().err


def test_utf16_file_with_bom_is_decoded(tmp_path):
    content = "text\tlabel\r\nçava\tpos\r\nnon\tneg\r\noui\tpos\r\nnul\tneg\r\n"
    path = write(tmp_path / "excel.tsv", content, "utf-16")
    train, test = load_text_dataset(f"tsv:{path}", test_fraction=0.5)
    assert examples(train, test) == [("non", "neg"), ("nul", "neg"), ("oui", "pos"), ("çava", "pos")]


def test_rt_polarity_latin1_layout(tmp_path):
    write(tmp_path / "rt-polarity.pos", "un film très réussi . \nfun\n", "latin-1")
    write(tmp_path / "rt-polarity.neg", "ennuyeux\ndull . \n")
    train, test = load_text_dataset(f"rt-polarity:{tmp_path}", test_fraction=0.5)
    assert train.class_names == ["negative", "positive"]
    assert examples(train, test) == [
        ("dull .", "negative"),
        ("ennuyeux", "negative"),
        ("fun", "positive"),
        ("un film très réussi .", "positive"),
    ]


def test_rt_polarity_missing_file_raises(tmp_path):
    write(tmp_path / "rt-polarity.neg", "dull\n")
    with pytest.raises(DataError, match="rt-polarity file .*rt-polarity.pos does not exist"):
        load_text_dataset(f"rt-polarity:{tmp_path}")


def test_shared_rt_polarity(shared_data):
    train, test = load_text_dataset(f"rt-polarity:{shared_data / 'rt-polarity'}")
    assert (len(train), len(test)) == (9595, 1067)  # test: ceil(0.1 * 10,662)
    assert train.class_names == ["negative", "positive"]
    assert np.bincount(test.labels).tolist() == [534, 533]
    assert np.bincount(train.labels).tolist() == [4797, 4798]
    texts = train.texts + test.texts
    assert len(set(texts)) == 10662 and all(t == t.strip() and t for t in texts)
    assert "the action clichés just pile up ." in texts  # UTF-8 decoded


# ------------------------------------------------------------------- kinds


def test_non_text_kind_lists_text_kinds():
    with pytest.raises(DataError) as info:
        load_text_dataset("idx:somewhere")
    message = str(info.value)
    assert "'idx' in 'idx:somewhere' is not supported for text classification" in message
    assert "tsv:PATH, csv:PATH, jsonl:PATH, rt-polarity:DIR, tfds:NAME[/CONFIG]" in message


def test_unknown_kind_raises():
    with pytest.raises(DataError, match="unknown data source 'foo:bar'"):
        load_text_dataset("foo:bar")


def test_rt_polarity_rejects_columns(tmp_path):
    with pytest.raises(DataError, match="has no columns; received text_column='text'"):
        load_text_dataset(f"rt-polarity:{tmp_path}", text_column="text")


# ---------------------------------------------------------------------- tfds


def test_tfds_text_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(sources.NETWORK_CHECK_ADDRESS_ENV, _closed_port_address())
    start = time.monotonic()
    with pytest.raises(DataError, match="tfds:imdb_reviews is not prepared in .*network is unreachable"):
        load_text_dataset("tfds:imdb_reviews")
    assert time.monotonic() - start < 10


def test_tfds_text_really_offline_fails_fast(tmp_path, monkeypatch):
    if sources.network_reachable(timeout=3):
        pytest.skip("the network is reachable here; offline behaviour not testable")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(DataError, match="network is unreachable"):
        load_text_dataset("tfds:glue/sst2")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    "name, class_names, test_split",
    [("imdb_reviews", ["neg", "pos"], "test"), ("glue/sst2", ["negative", "positive"], "validation")],
)
def test_tfds_text_from_mocked_catalog(name, class_names, test_split):
    tfds = pytest.importorskip("tensorflow_datasets")
    with (
        tfds.testing.mock_data(num_examples=12),
        mock.patch.object(sources, "network_reachable", return_value=True),
        mock.patch.object(text, "load_tfds", wraps=sources.load_tfds) as load,
    ):
        train, test = load_text_dataset(f"tfds:{name}")
    assert [call.kwargs["split"] for call in load.call_args_list] == ["train", test_split]
    assert (len(train), len(test)) == (12, 12)
    assert train.class_names == class_names
    assert all(isinstance(t, str) and t == t.strip() and t for t in train.texts)
    assert (train.name, test.name) == (f"{name}/train", f"{name}/test")
