"""SQuAD v1.1 reading: real file, article split, clear errors for broken files."""

import gzip
import json

import pytest

from zoo.data.sources import DataError
from zoo.data.squad import load_squad, split_by_article


def squad_file(path, articles):
    path.write_text(json.dumps({"version": "1.1", "data": articles}), encoding="utf-8")
    return path


def article(title, context, qas):
    return {"title": title, "paragraphs": [{"context": context, "qas": qas}]}


def qa(id, question, text, start):
    return {"id": id, "question": question, "answers": [{"text": text, "answer_start": start}]}


CONTEXT = "Zoë Müller founded the café in 1998, in Zürich."


def test_answers_are_character_spans_of_the_context(tmp_path):
    path = squad_file(
        tmp_path / "s.json",
        [article("A", CONTEXT, [qa("1", "Who founded it?", "Zoë Müller", 0), qa("2", "When?", "1998", 31)])],
    )
    examples = load_squad(path)
    assert [e.id for e in examples] == ["1", "2"]
    for example in examples:
        for text, start in zip(example.answers, example.answer_starts):
            assert example.context[start : start + len(text)] == text


def test_bad_questions_are_skipped_within_the_allowed_fraction(tmp_path):
    qas = [qa(str(i), "When?", "1998", 31) for i in range(9)] + [qa("bad", "When?", "1998", 30)]
    path = squad_file(tmp_path / "s.json", [article("A", CONTEXT, qas)])
    assert len(load_squad(path, max_bad_fraction=0.1)) == 9
    with pytest.raises(DataError, match="1 of 10 questions are unusable .*first: question 'bad' of article 'A'"):
        load_squad(path, max_bad_fraction=0.01)


def test_broken_files_fail_with_one_line(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_squad(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"data": [\n  oops', encoding="utf-8")
    with pytest.raises(DataError, match=r"not valid JSON \(line 2"):
        load_squad(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match="expected SQuAD JSON"):
        load_squad(tmp_path / "list.json")
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="cannot read it"):
        load_squad(tmp_path / "bad.json.gz")


def test_split_keeps_articles_whole(tmp_path):
    articles = [article(f"T{i}", CONTEXT, [qa(f"{i}-{j}", "When?", "1998", 31) for j in range(3)]) for i in range(10)]
    path = tmp_path / "s.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"data": articles}, handle)
    train, test = split_by_article(load_squad(path), test_fraction=0.2, seed=0)
    assert {e.title for e in train}.isdisjoint({e.title for e in test})
    assert len({e.title for e in test}) == 2 and len(train) + len(test) == 30
    assert split_by_article(load_squad(path), 0.2, seed=0) == (train, test)


def test_shared_dev_set(shared_data):
    examples = load_squad(shared_data / "squad" / "squad-v1.1-dev-part.json.gz")
    assert len(examples) == 8981 and len({e.title for e in examples}) == 40
    train, test = split_by_article(examples, test_fraction=0.2, seed=0)
    assert len({e.title for e in test}) == 8
