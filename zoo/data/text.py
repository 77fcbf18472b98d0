"""Text classification data: the `TextDataset` container and its loaders.

    train, test = load_text_dataset("rt-polarity:../shared/data/rt-polarity")
    train.texts[0], train.class_names  # "...", ["negative", "positive"]
    train, test = load_text_dataset("tsv:reviews.tsv")  # TEXT<TAB>LABEL
    train, test = load_text_dataset("tfds:imdb_reviews")  # online, or prepared

File sources are read as UTF-8 (a file that is mostly not UTF-8 is read as
latin-1). A bad row (empty text or label, missing column, invalid JSON or
UTF-8) is skipped and counted: one warning line goes to stderr, and more than
`max_bad_fraction` of them is an error. Blank lines are not rows. Sources
with their own train/test split keep it; the others are split stratified by
label, deterministically for a seed.
"""

import dataclasses
import pathlib

import numpy as np

from zoo.data.labelled import LabelledExamples, named, stratified_split
from zoo.data.sources import DataError, describe_kinds, load_tfds, parse_spec
from zoo.data.text_files import INTEGER_PATTERN, RowLog, column_index, read_delimited, read_jsonl, read_sentences

TEXT_KINDS = ("tsv", "csv", "jsonl", "rt-polarity", "tfds")
RT_POLARITY_CLASS_NAMES = ["negative", "positive"]


@dataclasses.dataclass
class TextDataset(LabelledExamples):
    """Labelled texts held in memory.

    Args:
        texts: one string per example, whitespace-stripped, casing kept.
        labels: int64 array (N,), each an index into `class_names`.
        class_names: one name per class.
        name: what the data is, e.g. `"rt-polarity/train"`.

    Raises:
        DataError: `texts` is not a list of strings, `labels` has the wrong
            dtype or shape, the counts differ, or a label is outside
            `[0, len(class_names))`.
    """

    texts: list
    labels: np.ndarray
    class_names: list
    name: str

    def __post_init__(self):
        if not isinstance(self.texts, (list, tuple)):
            raise DataError(
                f"dataset {self.name!r} texts must be a list of strings; received {type(self.texts).__name__}"
            )
        self.texts = list(self.texts)
        for index, text in enumerate(self.texts):
            if not isinstance(text, str):
                raise DataError(f"dataset {self.name!r} text {index} is a {type(text).__name__}; expected str")
        self._check_labels(len(self.texts), "texts")

    def subset(self, indices):
        """A new dataset of the examples at `indices` (ints or a bool mask)."""
        indices = np.asarray(indices)
        indices = np.flatnonzero(indices) if indices.dtype == bool else indices.astype(np.int64)
        texts = [self.texts[index] for index in indices.tolist()]
        return TextDataset(texts, self.labels[indices], self.class_names, self.name)


def _labels_to_indices(source, labels, class_names):
    """`(class_names, int64 indices)`: integers in numeric order, else sorted."""
    if class_names is None:
        values = set(labels)
        if all(INTEGER_PATTERN.fullmatch(value) for value in values):
            class_names = [str(number) for number in sorted(set(map(int, values)))]
            labels = [str(int(label)) for label in labels]
        else:
            class_names = sorted(values)
    index = {name: i for i, name in enumerate(class_names)}
    indices = np.array([index[label] for label in labels], np.int64)
    present = [class_names[i] for i in np.unique(indices)]
    if len(present) < 2:
        raise DataError(f"{source} has only the class {present}; expected at least 2 classes")
    return class_names, indices


def _dataset_name(path):
    """`reviews` for reviews.tsv or reviews.tsv.gz."""
    return path.name.removesuffix(".gz").rsplit(".", 1)[0] or path.name


def _load_file(kind, arg, text_column, label_column, class_names, max_bad_fraction):
    """Loads a `tsv:`, `csv:` or `jsonl:` file as one TextDataset."""
    path = pathlib.Path(arg).expanduser()
    allowed = None if class_names is None else set(class_names)
    log = RowLog(str(path), allowed_labels=allowed)
    if kind == "jsonl":
        text_key = "text" if text_column is None else str(text_column)
        label_key = "label" if label_column is None else str(label_column)
        read_jsonl(path, text_key, label_key, log)
    else:
        text_column = column_index(text_column, "text_column")
        label_column = column_index(label_column, "label_column")
        read_delimited(path, "\t" if kind == "tsv" else ",", text_column, label_column, log)
    log.finish(max_bad_fraction)
    class_names, labels = _labels_to_indices(str(path), log.labels, class_names)
    return TextDataset(log.texts, labels, class_names, _dataset_name(path))


def _load_rt_polarity(arg, max_bad_fraction):
    """Loads Pang & Lee's DIR/rt-polarity.neg and DIR/rt-polarity.pos."""
    directory = pathlib.Path(arg).expanduser()
    texts, labels = [], []
    for label, suffix in enumerate(("neg", "pos")):
        path = directory / f"rt-polarity.{suffix}"
        if not path.is_file():
            raise DataError(
                f"rt-polarity file {path} does not exist; expected DIR with rt-polarity.pos and rt-polarity.neg"
            )
        log = RowLog(str(path))
        read_sentences(path, suffix, log)
        log.finish(max_bad_fraction)
        texts += log.texts
        labels += [label] * len(log.texts)
    labels = np.array(labels, np.int64)
    return TextDataset(texts, labels, RT_POLARITY_CLASS_NAMES, "rt-polarity")


# --------------------------------------------------------------------- tfds


def _tfds_keys(name, info, text_column, label_column):
    """The text and label feature names of a tfds text classification set."""
    import tensorflow_datasets as tfds

    supervised = info.supervised_keys or (None, None)
    features = info.features
    texts = [key for key, feature in features.items() if isinstance(feature, tfds.features.Text)]
    text_key, label_key = text_column, label_column
    if text_key is None:
        text_key = supervised[0] or next(iter(texts), None)
    if label_key is None:
        label_key = supervised[1] or "label"
    for key, feature_type, argument in (
        (text_key, tfds.features.Text, "text_column"),
        (label_key, tfds.features.ClassLabel, "label_column"),
    ):
        if key not in features or not isinstance(features[key], feature_type):
            raise DataError(
                f"tfds:{name} has no {feature_type.__name__} feature {key!r} "
                f"(features: {', '.join(sorted(features))}); expected "
                f"{argument}= naming one"
            )
    return text_key, label_key


def _tfds_split_to_texts(name, split, text_column, label_column, max_bad_fraction):
    """A TextDataset from one tfds split; unlabelled (-1) rows are skipped."""
    import tensorflow_datasets as tfds

    dataset, info = load_tfds(
        name, split=split, offline_alternatives="tsv:FILE, csv:FILE, jsonl:FILE or rt-polarity:DIR"
    )
    text_key, label_key = _tfds_keys(name, info, text_column, label_column)
    class_names = list(info.features[label_key].names)
    log = RowLog(f"tfds:{name}/{split}", unit="example")
    number = 0
    for batch in tfds.as_numpy(dataset.batch(4096)):
        for text, label in zip(batch[text_key], batch[label_key]):
            number += 1
            if label < 0:
                log.skip(number, number, "no label (-1)")
            else:
                log.add(number, number, text.decode("utf-8", "replace"), str(label))
    log.finish(max_bad_fraction)
    labels = np.array([int(label) for label in log.labels], np.int64)
    return TextDataset(log.texts, labels, class_names, name), info


def _load_tfds_texts(name, text_column, label_column, max_bad_fraction):
    """tfds `train`, and `test` (GLUE: `validation`) when the set has it."""
    options = text_column, label_column, max_bad_fraction
    train, info = _tfds_split_to_texts(name, "train", *options)
    if train.num_classes < 2:
        raise DataError(f"tfds:{name} has {train.num_classes} class; expected at least 2")
    preferred = ("validation", "test") if name.startswith("glue/") else ("test", "validation")
    # A mocked or unprepared info may list no splits: then try the first.
    found = [split for split in preferred if not info.splits or split in info.splits]
    if not found:
        return train, None
    test, _ = _tfds_split_to_texts(name, found[0], *options)
    return train, test


# ------------------------------------------------------------------- public


def _check_options(spec, kind, text_column, label_column, class_names, test_fraction, max_bad_fraction):
    """Raises a DataError for a bad `load_text_dataset` option.

    Returns:
        `class_names` as a list of strings, or None.
    """
    if kind not in TEXT_KINDS:
        raise DataError(
            f"data source kind {kind!r} in {spec!r} is not supported for "
            f"text classification; expected one of {describe_kinds(TEXT_KINDS)}"
        )
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1); received test_fraction={test_fraction!r}")
    if not 0.0 <= max_bad_fraction <= 1.0:
        raise DataError(f"max_bad_fraction must be in [0, 1]; received max_bad_fraction={max_bad_fraction!r}")
    if class_names is not None:
        if kind in ("rt-polarity", "tfds"):
            raise DataError(f"{spec!r} has its own class names; received class_names={class_names!r}")
        class_names = [str(name) for name in class_names]
        if len(set(class_names)) != len(class_names) or len(class_names) < 2:
            raise DataError(f"class_names must be at least 2 distinct names; received class_names={class_names!r}")
    if kind == "rt-polarity" and (text_column is not None or label_column is not None):
        raise DataError(f"{spec!r} has no columns; received text_column={text_column!r}, label_column={label_column!r}")
    return class_names


def load_text_dataset(
    spec,
    *,
    text_column=None,
    label_column=None,
    class_names=None,
    test_fraction=0.1,
    seed=0,
    max_bad_fraction=0.01,
):
    """Loads a text classification data set as `(train, test)`.

    Args:
        spec: `tsv:PATH` or `csv:PATH` (plain or .gz; by default two columns
            TEXT, LABEL with no header), `jsonl:PATH` (one object per line),
            `rt-polarity:DIR` (Pang & Lee's rt-polarity.pos / .neg) or
            `tfds:NAME[/CONFIG]` (e.g. `imdb_reviews`, `glue/sst2`).
        text_column: the text column: a header name or 0-based index (an int
            or a string of digits); a key for jsonl (default `"text"`); a
            feature for tfds. A delimited file's first row is a header when
            a column is chosen by name, or when its label cell (at
            `label_column`; by default the second of two cells, or any cell
            of a wider row) is a word in `LABEL_HEADERS` (`label`,
            `sentiment`, ...) or a word above integer labels (`stars` over
            1..5), or when it reads `label, text` (`TEXT_HEADERS`).
        label_column: the label column, the same way (jsonl default
            `"label"`).
        class_names: fixed label order for file sources; rows with another
            label are bad rows. Default: integer labels in numeric order,
            else sorted strings.
        test_fraction: share held out for test when the source has no split.
        seed: seed of that stratified split.
        max_bad_fraction: most skipped rows a file may have, as a fraction.

    Returns:
        `(train, test)` TextDatasets sharing class names, named `NAME/train`
        and `NAME/test`.

    Raises:
        DataError: the spec is unknown or not a text source; a file is
            missing, empty or has more bad rows than allowed; or the data has
            fewer than two classes.
    """
    kind, arg = parse_spec(spec)
    class_names = _check_options(spec, kind, text_column, label_column, class_names, test_fraction, max_bad_fraction)
    if kind == "rt-polarity":
        data, test = _load_rt_polarity(arg, max_bad_fraction), None
    elif kind == "tfds":
        data, test = _load_tfds_texts(arg, text_column, label_column, max_bad_fraction)
    else:
        options = text_column, label_column, class_names, max_bad_fraction
        data, test = _load_file(kind, arg, *options), None
    if test is None:
        return stratified_split(data, test_fraction=test_fraction, seed=seed)
    return (
        named(data, f"{data.name}/train"),
        named(test, f"{test.name}/test"),
    )
