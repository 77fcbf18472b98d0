"""Tests for zoo.data.pairs: PairDataset and load_pair_dataset."""

import gzip
import json
import socket
import time
from unittest import mock

import numpy as np
import pytest

from zoo.data import DataError, PairDataset, load_pair_dataset, pairs, sources


def write(path, content, encoding="utf-8"):
    """Writes `content` (str or bytes) to `path`; gzip when it ends in .gz."""
    data = content.encode(encoding) if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def all_pairs(*datasets):
    """Every (source, target) of `datasets`, sorted."""
    return sorted(pair for dataset in datasets for pair in zip(dataset.sources, dataset.targets))


def numbered_tsv(path, count, empty_targets=()):
    """`count` rows `source N<TAB>target N`; rows in `empty_targets` lack a target."""
    rows = [f"source {n}\t{'' if n in empty_targets else f'target {n}'}" for n in range(1, count + 1)]
    return write(path, "\n".join(rows) + "\n")


def _closed_port_address():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


# ----------------------------------------------------------------- PairDataset


def test_pair_dataset_subset_and_take():
    data = PairDataset(["a", "b", "c"], ("x", "y", "z"), "t", "en", "es")
    assert len(data) == 3 and data.targets == ["x", "y", "z"]
    part = data.subset([2, 0])
    assert (part.sources, part.targets, part.name) == (["c", "a"], ["z", "x"], "t")
    assert (part.source_language, part.target_language) == ("en", "es")
    assert data.subset(np.array([False, True, True])).sources == ["b", "c"]
    assert data.subset([]).sources == [] and data.take(2).targets == ["x", "y"]
    assert len(data.take(10)) == 3
    with pytest.raises(DataError, match="n=-1"):
        data.take(-1)


@pytest.mark.parametrize(
    "sources_, targets, message",
    [
        ("ab", ["x", "y"], "sources must be a list of strings; received str"),
        (["a", "b"], ["x", b"y"], r"targets\[1\] is a bytes; expected str"),
        (["a"], ["x", "y"], "has 1 sources but 2 targets"),
    ],
)
def test_pair_dataset_rejects_bad_fields(sources_, targets, message):
    with pytest.raises(DataError, match=message):
        PairDataset(sources_, targets, "bad")


# -------------------------------------------------------------------- parallel


@pytest.fixture
def multi(tmp_path):
    """Line-aligned corpus/train.de (plain) and corpus/train.en.gz."""
    (tmp_path / "corpus").mkdir()
    write(tmp_path / "corpus" / "train.de", "Ein Hund.\n  Zwei Katzen. \nDrei Vögel.\nVier.\n")
    write(tmp_path / "corpus" / "train.en.gz", "A dog.\nTwo cats.\nThree birds.\nFour.\n\n")
    return tmp_path / "corpus" / "train"


def test_parallel_plain_and_gzip(multi, capsys):
    options = {"source_language": "de", "target_language": "en", "test_size": 1}
    train, test = load_pair_dataset(f"parallel:{multi}", **options)
    assert all_pairs(train, test) == [
        ("Drei Vögel.", "Three birds."),
        ("Ein Hund.", "A dog."),
        ("Vier.", "Four."),
        ("Zwei Katzen.", "Two cats."),
    ]
    assert (len(train), len(test)) == (3, 1)
    assert (train.name, test.name) == ("train.de-en/train", "train.de-en/test")
    assert (test.source_language, test.target_language) == ("de", "en")
    assert capsys.readouterr().err == ""  # the trailing blank line is not a row


def test_parallel_default_extensions_and_test_spec(tmp_path):
    write(tmp_path / "train.src", "a\nb\nc\n")
    write(tmp_path / "train.tgt", "A\nB\nC\n")
    write(tmp_path / "val.src.gz", "d\nc\n")
    write(tmp_path / "val.tgt.gz", "D\nC2\n")
    train, test = load_pair_dataset(f"parallel:{tmp_path}/train", test_spec=f"parallel:{tmp_path}/val")
    # `c` is a source of the test split, so its train pair is dropped.
    assert all_pairs(train) == [("a", "A"), ("b", "B")]
    assert list(zip(test.sources, test.targets)) == [("d", "D"), ("c", "C2")]
    assert (train.name, test.name) == ("train.src-tgt/train", "val.src-tgt/test")


def test_parallel_line_counts_must_match(multi):
    write(multi.with_name("train.en.gz"), "A dog.\nTwo cats.\n")
    with pytest.raises(DataError) as info:
        load_pair_dataset(f"parallel:{multi}", source_language="de", target_language="en")
    assert str(info.value) == (
        f"parallel files {multi}.de (4 lines) and {multi}.en.gz (2 lines) differ in "
        "length; expected one sentence per line in both"
    )


def test_parallel_empty_lines_are_bad_rows(tmp_path, capsys):
    source = [f"satz {n}" for n in range(1, 201)]
    target = [f"sentence {n}" for n in range(1, 201)]
    target[2], source[149] = "  ", ""
    write(tmp_path / "c.de", "\n".join(source) + "\n")
    write(tmp_path / "c.en.gz", "\n".join(target) + "\n")
    options = {"source_language": "de", "target_language": "en"}
    train, test = load_pair_dataset(f"parallel:{tmp_path}/c", max_bad_fraction=0.01, **options)
    assert len(train) + len(test) == 198 and "satz 3" not in train.sources + test.sources
    assert capsys.readouterr().err == (
        "warning: skipped 2 of 200 rows in c.{de,en.gz} (first at line 3: empty target)\n"
    )
    with pytest.raises(DataError) as info:
        load_pair_dataset(f"parallel:{tmp_path}/c", max_bad_fraction=0.005, **options)
    assert str(info.value) == (
        f"too many bad rows in {tmp_path}/c.{{de,en.gz}}: skipped 2 of 200 rows, 1.0%, more "
        "than max_bad_fraction=0.005; first at line 3: empty target"
    )


def test_parallel_missing_file_names_both(tmp_path):
    write(tmp_path / "t.de", "a\n")
    with pytest.raises(
        DataError,
        match=rf"parallel file {tmp_path}/t.en\[.gz\] does not exist; "
        rf"expected line-aligned {tmp_path}/t.de and {tmp_path}/t.en",
    ):
        load_pair_dataset(f"parallel:{tmp_path}/t", source_language="de", target_language="en")


# -------------------------------------------------------------- tsv/csv/jsonl


TATOEBA = (
    "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (cueyayotl)\n"
    "Go.\tVete.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986656 (cueyayotl)\n"
    "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (cueyayotl)\n"
    "Run!\t¡Corre!\tCC-BY 2.0 (France) Attribution: tatoeba.org #906328 (papabear) & #1685404\n"
    "Run.\t¡Corre!\tCC-BY 2.0 (France) Attribution: tatoeba.org #4008918 (JSakuragi) & #1685404\n"
    'He said "hi".\tDijo "hola".\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 & #2\n'
    "Who?\t¿Quién?\tCC-BY 2.0 (France) Attribution: tatoeba.org #2083030 (CK) & #2093124\n"
)
TATOEBA_PAIRS = [  # the repeated (Go., Ve.) once
    ("Go.", "Ve."),
    ("Go.", "Vete."),
    ('He said "hi".', 'Dijo "hola".'),
    ("Run!", "¡Corre!"),
    ("Run.", "¡Corre!"),
    ("Who?", "¿Quién?"),
]


def test_tsv_with_attribution_column(tmp_path):
    path = write(tmp_path / "spa-eng.tsv.gz", TATOEBA)
    train, test = load_pair_dataset(f"tsv:{path}", test_size=2, seed=0)
    assert all_pairs(train, test) == TATOEBA_PAIRS
    assert len(test) == 2 and (train.name, test.name) == ("spa-eng/train", "spa-eng/test")
    assert (train.source_language, train.target_language) == (None, None)


def test_tsv_bad_rows_counted(tmp_path, capsys):
    path = numbered_tsv(tmp_path / "p.tsv", 150, empty_targets=(7,))
    path.write_text(path.read_text() + "lonely source\n" + "a\tb\tc\n")
    train, test = load_pair_dataset(f"tsv:{path}", max_bad_fraction=0.02)
    assert len(train) + len(test) == 149
    assert capsys.readouterr().err == ("warning: skipped 3 of 152 rows in p.tsv (first at line 7: empty target)\n")
    with pytest.raises(DataError, match=r"p.tsv: skipped 3 of 152 rows, 2.0%.*7: empty target"):
        load_pair_dataset(f"tsv:{path}")


def test_tsv_mismatched_width_is_a_bad_row(tmp_path, capsys):
    rows = [f"s{n}\tt{n}\tattribution {n}" for n in range(120)] + ["s\twith a tab\tt\tattribution"]
    path = write(tmp_path / "w.tsv", "\n".join(rows))
    load_pair_dataset(f"tsv:{path}")
    assert "(first at line 121: 4 columns; expected 3)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "header, options",
    [
        ("source\ttarget", {}),
        ("EN\tES", {"source_language": "en", "target_language": "es"}),
        ("id\tes\ten", {"source_column": "en", "target_column": "ES"}),
    ],
)
def test_tsv_header_rows(tmp_path, header, options):
    rows = [("Hi.", "Hola."), ("Yes.", "Sí."), ("No.", "No."), ("Thanks.", "Gracias.")]
    if "id" in header:
        lines = [f"{n}\t{es}\t{en}" for n, (en, es) in enumerate(rows)]
    else:
        lines = [f"{en}\t{es}" for en, es in rows]
    path = write(tmp_path / "h.tsv", "\n".join([header] + lines) + "\n")
    train, test = load_pair_dataset(f"tsv:{path}", test_size=1, **options)
    assert all_pairs(train, test) == sorted(rows)


def test_csv_columns_by_index_and_quotes(tmp_path):
    content = 'id,text,summary\n1,"Long, quoted text","Short"\n2,"Another ""one""",Two\n3,x,y\n'
    path = write(tmp_path / "s.csv", content)
    train, test = load_pair_dataset(f"csv:{path}", source_column=1, target_column=2, test_size=1)
    assert all_pairs(train, test) == [('Another "one"', "Two"), ("Long, quoted text", "Short"), ("x", "y")]
    message = r"no target_column 'title' in its header \('id', 'text', 'summary'\)"
    with pytest.raises(DataError, match=message):
        load_pair_dataset(f"csv:{path}", source_column="text", target_column="title")


def test_jsonl_keys_and_bad_rows(tmp_path, capsys):
    records = [{"article": f"text {n}", "title": f"t{n}"} for n in range(8)]
    lines = [json.dumps(record) for record in records]
    lines[3] = json.dumps({"article": "x", "title": 5})
    lines.insert(5, "{broken")
    path = write(tmp_path / "a.jsonl", "\n".join(lines) + "\n")
    train, test = load_pair_dataset(
        f"jsonl:{path}",
        source_column="article",
        target_column="title",
        test_size=2,
        max_bad_fraction=0.3,
    )
    assert len(train) + len(test) == 7 and ("text 0", "t0") in all_pairs(train, test)
    assert capsys.readouterr().err == (
        "warning: skipped 2 of 9 rows in a.jsonl (first at line 4: 'title' has type int; expected a string)\n"
    )
    content = '{"source": "a", "target": "b"}\n{"source": "c", "target": "d"}\n'
    default = write(tmp_path / "d.jsonl", content)
    train, test = load_pair_dataset(f"jsonl:{default}", test_size=1)
    assert all_pairs(train, test) == [("a", "b"), ("c", "d")]


# ------------------------------------------------------------------- splitting


@pytest.fixture
def many_targets(tmp_path):
    """60 sources, each with 1 to 4 targets, some pairs repeated."""
    rows = []
    for n in range(60):
        rows += [f"s{n}\tt{n}-{k}" for k in range(1 + n % 4)]
        if n % 7 == 0:
            rows.append(f"s{n}\tt{n}-0")  # an exact duplicate
    return write(tmp_path / "m.tsv", "\n".join(rows) + "\n")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_source_in_both_splits(many_targets, seed):
    train, test = load_pair_dataset(f"tsv:{many_targets}", test_size=30, seed=seed)
    assert set(train.sources).isdisjoint(test.sources)
    assert len(test) == 30 and len(train) + len(test) == 150  # 9 duplicates dropped
    assert len(set(all_pairs(train, test))) == 150


def test_default_test_fraction_and_determinism(many_targets):
    train, test = load_pair_dataset(f"tsv:{many_targets}")
    assert len(test) == 15  # ceil(0.1 * 150)
    again = load_pair_dataset(f"tsv:{many_targets}")
    assert (again[0].sources, again[1].targets) == (train.sources, test.targets)
    other_train, _ = load_pair_dataset(f"tsv:{many_targets}", seed=5)
    assert other_train.sources != train.sources
    assert len(load_pair_dataset(f"tsv:{many_targets}", test_fraction=0.3)[1]) == 45
    assert train.sources == sorted(train.sources, key=lambda s: int(s[1:]))  # file order kept


def test_reverse_swaps_and_splits_by_new_source(tmp_path):
    content = "".join(
        f"{en}\t{es}\n"
        for en, es in [
            ("Run!", "¡Corre!"),
            ("Run.", "¡Corre!"),
            ("Hi.", "Hola."),
            ("Bye.", "Adiós."),
        ]
    )
    path = write(tmp_path / "r.tsv", content)
    for seed in range(6):
        train, test = load_pair_dataset(
            f"tsv:{path}",
            test_size=2,
            seed=seed,
            reverse=True,
            source_language="en",
            target_language="es",
        )
        assert set(train.sources).isdisjoint(test.sources)
        assert all_pairs(train, test) == [
            ("Adiós.", "Bye."),
            ("Hola.", "Hi."),
            ("¡Corre!", "Run!"),
            ("¡Corre!", "Run."),
        ]
        assert (train.source_language, train.target_language) == ("es", "en")
        assert train.name == "r.reversed/train"


# -------------------------------------------------------------------- options


def test_non_pair_kind_lists_pair_kinds():
    with pytest.raises(DataError) as info:
        load_pair_dataset("idx:somewhere")
    message = str(info.value)
    assert "spec='idx:somewhere' is not a source of sequence pairs" in message
    assert (
        "builtin:gettext-LANG, builtin:python-docstrings, builtin:debian-descriptions, parallel:PREFIX, tsv:PATH, "
        "csv:PATH, jsonl:PATH, tfds:NAME[/CONFIG]"
    ) in message
    with pytest.raises(DataError, match="spec='foo:bar' is not a source of sequence pairs"):
        load_pair_dataset("foo:bar")
    with pytest.raises(DataError, match="unknown builtin pair source 'builtin:digits'"):
        load_pair_dataset("builtin:digits")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"test_fraction": 0.1, "test_size": 5}, "give test_fraction or test_size, not both"),
        ({"test_fraction": 1.0}, "test_fraction=1.0"),
        ({"test_size": 0}, "test_size must be a positive integer; received test_size=0"),
        ({"test_size": 2.5}, "test_size=2.5"),
        ({"max_bad_fraction": 2}, "max_bad_fraction=2"),
        (
            {"test_spec": "tsv:x", "test_size": 3},
            "is the test split; received test_fraction=None, test_size=3",
        ),
        ({"test_spec": "text:x"}, "test_spec='text:x' is not a source of sequence pairs"),
    ],
)
def test_bad_options_raise(tmp_path, options, message):
    with pytest.raises(DataError, match=message):
        load_pair_dataset(f"tsv:{tmp_path / 'x.tsv'}", **options)


def test_parallel_rejects_columns_and_small_data_cannot_split(tmp_path):
    with pytest.raises(DataError, match="has no columns; received source_column=0"):
        load_pair_dataset(f"parallel:{tmp_path}/x", source_column=0)
    path = write(tmp_path / "two.tsv", "a\tb\nc\td\n")
    with pytest.raises(DataError, match="has 2 distinct pairs; expected more than test_size=2"):
        load_pair_dataset(f"tsv:{path}", test_size=2)


# ---------------------------------------------------------------- shared data


def test_shared_multi30k(shared_data):
    folder = shared_data / "multi30k"
    train, test = load_pair_dataset(
        f"parallel:{folder}/train",
        test_spec=f"parallel:{folder}/val",
        source_language="de",
        target_language="en",
    )
    # 29,000 lines less 3 repeated pairs and 1 whose German source is in val.
    assert (len(train), len(test)) == (28_996, 1_014)
    assert set(train.sources).isdisjoint(test.sources)
    assert (train.name, test.name) == ("train.de-en/train", "val.de-en/test")
    assert (train.sources[0], train.targets[0]) == (
        "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
        "Two young, White males are outside near many bushes.",
    )


def test_shared_spa_eng(shared_data):
    path = shared_data / "spa-eng" / "spa-eng.tsv.gz"
    train, test = load_pair_dataset(f"tsv:{path}", test_size=2000, source_language="en", target_language="es")
    assert (len(train), len(test)) == (114_964, 2_000)  # 116,964 distinct pairs
    assert set(train.sources).isdisjoint(test.sources)
    assert ("Go.", "Ve.") in zip(train.sources + test.sources, train.targets + test.targets)


# ----------------------------------------------------------------------- tfds


def test_tfds_pairs_offline_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(sources.NETWORK_CHECK_ADDRESS_ENV, _closed_port_address())
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        load_pair_dataset("tfds:ted_hrlr_translate/pt_to_en")
    message = str(info.value)
    assert "tfds:ted_hrlr_translate/pt_to_en is not prepared in" in message
    assert "network is unreachable" in message and "parallel:PREFIX" in message
    assert "builtin:gettext-LANG" in message
    assert time.monotonic() - start < 10


def test_tfds_pairs_really_offline_fail_fast(tmp_path, monkeypatch):
    if sources.network_reachable(timeout=3):
        pytest.skip("the network is reachable here; offline behaviour not testable")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(DataError, match="network is unreachable"):
        load_pair_dataset("tfds:wmt14_translate/de-en")
    assert time.monotonic() - start < 10


def test_tfds_pairs_from_mocked_catalog():
    tfds = pytest.importorskip("tensorflow_datasets")
    import tensorflow as tf

    splits = {
        "train": [("olá", "hello"), ("olá", "hello"), ("sim", "yes"), ("não", ""), ("casa", "house")],
        "test": [("sim", "yes!"), ("gato", "cat")],
    }

    def as_dataset(self, split, **kwargs):
        rows = splits[str(split)]
        return tf.data.Dataset.from_tensor_slices({"pt": [pt for pt, _ in rows], "en": [en for _, en in rows]})

    with (
        tfds.testing.mock_data(as_dataset_fn=as_dataset),
        mock.patch.object(sources, "network_reachable", return_value=True),
        mock.patch.object(pairs, "load_tfds", wraps=sources.load_tfds) as load,
    ):
        train, test = load_pair_dataset("tfds:ted_hrlr_translate/pt_to_en", max_bad_fraction=0.2)
    assert [call.kwargs["split"] for call in load.call_args_list] == ["train", "test"]
    # Repeated pair once, the empty target skipped, `sim` only in test.
    assert list(zip(train.sources, train.targets)) == [("olá", "hello"), ("casa", "house")]
    assert list(zip(test.sources, test.targets)) == [("sim", "yes!"), ("gato", "cat")]
    assert (train.source_language, train.target_language) == ("pt", "en")
    name = "ted_hrlr_translate/pt_to_en"
    assert (train.name, test.name) == (f"{name}/train", f"{name}/test")
