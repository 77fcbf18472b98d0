"""Property tests: data loaders given truncated or corrupted files load them or raise a DataError saying where.

A valid file of each local format is cut at a random byte, or has random
bytes written over or into it. The loader must either return a dataset or
raise `zoo.data.DataError` naming the file and the place (a line number
for text formats; a byte offset or the header for IDX; the article and
paragraph for SQuAD JSON). Any other exception fails the test.
"""

import gzip
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.data import DataError, load_pair_dataset, load_text_dataset
from zoo.data.idx import IMAGES_MAGIC, read_idx
from zoo.data.squad import load_squad

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PLACE = re.compile(
    r"line \d+|lines? \(|byte|header|article \d+|no (valid |usable )?(rows|questions)|differ in length"
    r"|has only the class"
)

TSV = "".join(f"a {'good' if i % 2 else 'bad'} film number {i}\t{'pos' if i % 2 else 'neg'}\n" for i in range(40))
JSONL = "".join(json.dumps({"text": f"sentence {i} é", "label": "ab"[i % 2]}) + "\n" for i in range(40))
SQUAD = json.dumps(
    {
        "data": [
            {
                "title": f"t{a}",
                "paragraphs": [
                    {
                        "context": "Ada wrote the letter in 1843.",
                        "qas": [
                            {
                                "id": f"{a}-{q}",
                                "question": "Who wrote it?",
                                "answers": [{"text": "Ada", "answer_start": 0}],
                            }
                            for q in range(3)
                        ],
                    }
                ],
            }
            for a in range(4)
        ]
    }
)


def _corrupt(data, draw):
    """`data` cut short, overwritten or with bytes inserted, at a drawn offset."""
    how = draw(st.sampled_from(["truncate", "overwrite", "insert"]))
    offset = draw(st.integers(0, len(data)))
    junk = draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b"\xff\xfe", b"\x00", b"\t\t\t", b'"', b"\r"]))
    if how == "truncate":
        return data[:offset]
    if how == "overwrite":
        return data[:offset] + junk + data[offset + len(junk) :]
    return data[:offset] + junk + data[offset:]


def _loads_or_says_where(load, path):
    try:
        load()
    except DataError as error:
        message = str(error)
        if message.startswith("cannot split"):  # what survived is valid but too small to split: named by data set
            assert repr(path.name.split(".")[0]) in message, message
            return
        assert path.name in message, message
        assert PLACE.search(message), message


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["tsv", "csv", "jsonl", "tsv.gz"]))
def test_text_files_load_or_say_where(tmp_path, data, kind):
    content = {"tsv": TSV, "tsv.gz": TSV, "csv": TSV.replace("\t", ","), "jsonl": JSONL}[kind].encode("utf-8")
    path = tmp_path / f"reviews.{kind}"
    corrupted = _corrupt(content, data.draw)
    path.write_bytes(gzip.compress(corrupted) if kind.endswith(".gz") else corrupted)
    _loads_or_says_where(lambda: load_text_dataset(f"{kind.removesuffix('.gz')}:{path}", max_bad_fraction=0.5), path)


@FUZZ
@given(data=st.data())
def test_parallel_files_load_or_say_where(tmp_path, data):
    source = "".join(f"sentence number {i}\n" for i in range(30)).encode()
    target = "".join(f"frase número {i}\n" for i in range(30)).encode()
    which = data.draw(st.sampled_from(["src", "tgt"]))
    (tmp_path / "pairs.src").write_bytes(_corrupt(source, data.draw) if which == "src" else source)
    (tmp_path / "pairs.tgt").write_bytes(_corrupt(target, data.draw) if which == "tgt" else target)
    try:
        load_pair_dataset(f"parallel:{tmp_path / 'pairs'}", max_bad_fraction=0.5, test_size=3)
    except DataError as error:
        assert "pairs." in str(error) and PLACE.search(str(error)), str(error)


@FUZZ
@given(data=st.data())
def test_squad_json_loads_or_says_where(tmp_path, data):
    path = tmp_path / "squad.json"
    path.write_bytes(_corrupt(SQUAD.encode("utf-8"), data.draw))
    _loads_or_says_where(lambda: load_squad(path, max_bad_fraction=0.5), path)


def _idx_images(count=3, size=4):
    header = IMAGES_MAGIC.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (count, size, size))
    return header + np.arange(count * size * size, dtype=np.uint8).tobytes()


@FUZZ
@given(data=st.data())
def test_idx_files_load_or_say_where(tmp_path, data):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(_corrupt(_idx_images(), data.draw))
    _loads_or_says_where(lambda: read_idx(path, IMAGES_MAGIC), path)


# Regression tests: each of these raised an AttributeError, TypeError or a bare NumPy ValueError before.


@pytest.mark.parametrize(
    "document, message",
    [
        ({"data": [{"title": "a", "paragraphs": [1]}]}, r"article 0 \('a'\), paragraph 0 is not an object"),
        ({"data": [{"title": "a", "paragraphs": "xyz"}]}, "article 0 has no 'paragraphs' list"),
        ({"data": [{"title": "a", "paragraphs": [{"context": "abc", "qas": [5]}]}]}, "paragraph 0 has no 'qas' list"),
        ({"data": [{"paragraphs": [{"context": 5, "qas": []}]}]}, "'context' string"),
    ],
)
def test_malformed_squad_structure_is_named(tmp_path, document, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DataError, match=message):
        load_squad(path)


def test_squad_answers_that_are_not_objects_are_skipped_as_bad_questions(tmp_path):
    qas = [{"id": "1", "question": "q", "answers": [5]}, {"id": "2", "question": "q", "answers": [{"text": 7}]}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"data": [{"title": "a", "paragraphs": [{"context": "abc", "qas": qas}]}]}))
    with pytest.raises(DataError, match="no usable questions"):
        load_squad(path)


def test_squad_invalid_utf8_gives_the_byte_offset(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"data": [\xff]}')
    with pytest.raises(DataError, match="bad.json: not UTF-8 at byte offset 10"):
        load_squad(path)


@pytest.mark.parametrize("size", [4, 6, 15])
def test_an_idx_file_cut_inside_its_header_is_named(tmp_path, size):
    path = tmp_path / "t-images-idx3-ubyte"
    path.write_bytes(_idx_images()[:size])
    with pytest.raises(DataError, match=f"t-images-idx3-ubyte ends at byte {size}, inside its header"):
        read_idx(path, IMAGES_MAGIC)
