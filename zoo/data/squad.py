"""SQuAD v1.1 JSON (plain or .gz): questions over paragraphs, answers as character spans.

    examples = load_squad("../shared/data/squad/squad-v1.1-dev-part.json.gz")
    train, test = split_by_article(examples, test_fraction=0.2, seed=0)

Evaluation sets of extractive QA must not share articles with training
(questions about one paragraph leak each other's answers), so the split is
by article title.
"""

import dataclasses
import gzip
import json
import pathlib

import numpy as np

from zoo.data.sources import DataError


@dataclasses.dataclass(frozen=True)
class QAExample:
    """One question about one context; `answers[i]` starts at character `answer_starts[i]` of `context`."""

    id: str
    title: str
    context: str
    question: str
    answers: tuple
    answer_starts: tuple


def load_squad(path, max_bad_fraction=0.01):
    """Read a SQuAD v1.1 file into `QAExample`s, in file order.

    Questions with an empty text, no answers, or an answer whose
    `answer_start` does not point at its text in the context are skipped
    and counted; more than `max_bad_fraction` of them is an error.

    Raises:
        DataError: the file is missing, is not (gzipped) JSON, is not in
            SQuAD's layout, or has too many bad questions.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"squad:{path}: file does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as error:
        raise DataError(f"squad:{path}: not valid JSON (line {error.lineno}: {error.msg})") from None
    except UnicodeDecodeError as error:
        raise DataError(f"squad:{path}: not UTF-8 at byte offset {error.start} ({error.reason})") from None
    except OSError as error:
        raise DataError(f"squad:{path}: cannot read it ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DataError(f"squad:{path}: expected SQuAD JSON, an object with a 'data' list of articles")
    examples, bad, first_bad = [], 0, None
    for article_index, article in enumerate(document["data"]):
        try:
            title, paragraphs = str(article.get("title", article_index)), article["paragraphs"]
        except (AttributeError, KeyError, TypeError):
            raise DataError(f"squad:{path}: article {article_index} has no 'paragraphs' list") from None
        if not isinstance(paragraphs, list):
            raise DataError(f"squad:{path}: article {article_index} has no 'paragraphs' list")
        for paragraph_index, paragraph in enumerate(paragraphs):
            where = f"article {article_index} ({title!r}), paragraph {paragraph_index}"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context", ""), str):
                raise DataError(f"squad:{path}: {where} is not an object with a 'context' string")
            context, questions = paragraph.get("context", ""), paragraph.get("qas", [])
            if not isinstance(questions, list) or not all(isinstance(qa, dict) for qa in questions):
                raise DataError(f"squad:{path}: {where} has no 'qas' list of question objects")
            for qa in questions:
                example = _example(qa, title, context)
                if example is None:
                    bad += 1
                    first_bad = first_bad or f"question {qa.get('id', '?')!r} of article {title!r}"
                else:
                    examples.append(example)
    total = len(examples) + bad
    if not examples:
        raise DataError(f"squad:{path}: no usable questions")
    if bad > max_bad_fraction * total:
        raise DataError(
            f"squad:{path}: {bad} of {total} questions are unusable (empty, no answer, or an answer_start "
            f"that does not point at its text), more than max_bad_fraction={max_bad_fraction}; first: {first_bad}"
        )
    return examples


def _example(qa, title, context):
    question, answers = str(qa.get("question", "")).strip(), qa.get("answers") or []
    texts, starts = [], []
    if not isinstance(answers, list):
        return None
    for answer in answers:
        if not isinstance(answer, dict):
            return None
        text, start = answer.get("text", ""), answer.get("answer_start", -1)
        if (
            not isinstance(text, str)
            or not text
            or not isinstance(start, int)
            or context[start : start + len(text)] != text
        ):
            return None
        texts.append(text)
        starts.append(start)
    if not question or not texts or not context.strip():
        return None
    return QAExample(str(qa.get("id", "")), title, context, question, tuple(texts), tuple(starts))


def split_by_article(examples, test_fraction=0.2, seed=0):
    """`(train, test)` with every article entirely on one side; about `test_fraction` of the articles in test."""
    titles = sorted({example.title for example in examples})
    if len(titles) < 2:
        raise DataError(f"splitting by article needs at least 2 articles; found {len(titles)}")
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be in (0, 1). Received: {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(titles))
    count = min(len(titles) - 1, max(1, round(test_fraction * len(titles))))
    test_titles = {titles[i] for i in order[:count]}
    train = [example for example in examples if example.title not in test_titles]
    test = [example for example in examples if example.title in test_titles]
    return train, test


def load_tfds_squad(name="squad"):
    """`(train, validation)` `QAExample`s of TensorFlow Datasets' SQuAD v1.1 (online; fails fast offline).

    The official splits are disjoint by article, so they serve as the
    training and held-out sets as they are.
    """
    from zoo.data.sources import load_tfds

    splits, _ = load_tfds(
        name or "squad", offline_alternatives="squad:FILE.json (SQuAD v1.1 JSON, e.g. ../shared/data/squad)"
    )
    result = []
    for split in ("train", "validation"):
        examples = []
        for row in splits[split].as_numpy_iterator():
            qa = {
                "id": row["id"].decode(),
                "question": row["question"].decode(),
                "answers": [
                    {"text": text.decode(), "answer_start": int(start)}
                    for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"])
                ],
            }
            example = _example(qa, row["title"].decode(), row["context"].decode())
            if example is not None:
                examples.append(example)
        result.append(examples)
    return tuple(result)
