"""Running text for language modelling: builtin Python documentation, plain-text files, tfds.

    train, validation = load_text_corpus("builtin:python-docs")
    train, validation = load_text_corpus("text:../shared/data/tinyshakespeare/input.txt")
    train, validation = load_text_corpus("tfds:tiny_shakespeare")   # online

A corpus is one string; the last `validation_fraction` of it (10%, as in
nanoGPT's Tiny Shakespeare split) is the validation text, unless the source
has its own validation or test split.
"""

import ast
import pathlib
import sysconfig

from zoo.data.sources import DataError, load_tfds, parse_spec
from zoo.data.text_files import read_lines

CORPUS_SOURCES = "builtin:python-docs, text:PATH, tfds:NAME"
# Standard-library folders whose docstrings are tests, demos or vendored code.
_SKIPPED_DIRECTORIES = {
    "test",
    "tests",
    "idlelib",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "lib2to3",
    "turtledemo",
}


def python_docs():
    """CPython's own documentation: the `pydoc_data` topics, then standard-library docstrings.

    Docstrings (of modules, classes and functions) are read from the source
    files with `ast`, without importing anything, in sorted path order, so
    the corpus is the same on every run of the same Python. Ships with every
    Python installation.
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions split pydoc_data out
        topics = {}
    parts = [topics[key].strip() for key in sorted(topics)]
    stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        if _SKIPPED_DIRECTORIES & set(path.relative_to(stdlib).parts[:-1]):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node)
                if docstring and len(docstring) >= 40:  # skip one-liners such as "Return x."
                    parts.append(docstring.strip())
    if not parts:
        raise DataError("builtin:python-docs found no pydoc_data topics and no standard-library sources")
    return "\n\n".join(parts) + "\n"


def _tfds_text(name):
    import tensorflow_datasets as tfds

    splits, info = load_tfds(name, offline_alternatives="builtin:python-docs or text:FILE")
    feature = next(iter(info.features)) if info.features else "text"

    def join(split):
        texts = [example[feature].decode("utf-8", "replace") for example in tfds.as_numpy(splits[split])]
        return "\n".join(texts)

    validation = "validation" if "validation" in splits else ("test" if "test" in splits else None)
    return join("train"), (join(validation) if validation else None)


def load_text_corpus(spec, *, validation_fraction=0.1):
    """`(train_text, validation_text)` from a corpus spec.

    Args:
        spec: `builtin:python-docs`, `text:PATH` (a UTF-8 text file, plain or
            .gz) or `tfds:NAME` (e.g. `tiny_shakespeare`, online).
        validation_fraction: share of characters at the end held out when
            the source has no validation split.

    Raises:
        DataError: unknown spec, missing or empty file, or a text too short
            to split.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise DataError(f"validation_fraction must be in (0, 1); received {validation_fraction!r}")
    kind, arg = parse_spec(spec)
    validation = None
    if kind == "builtin":
        if arg != "python-docs":
            raise DataError(f"unknown builtin corpus {spec!r}; expected one of: builtin:python-docs")
        text = python_docs()
    elif kind == "text":
        path = pathlib.Path(arg).expanduser()
        lines, _ = read_lines(path)
        text = "".join(lines)
    elif kind == "tfds":
        text, validation = _tfds_text(arg)
    else:
        raise DataError(f"{spec!r} is not a text corpus; expected one of: {CORPUS_SOURCES}")
    if not text.strip():
        raise DataError(f"{spec} holds no text")
    if validation is not None:
        return text, validation
    cut = int(len(text) * (1 - validation_fraction))
    if cut < 1 or cut >= len(text):
        raise DataError(f"{spec} has {len(text)} characters; too few to hold out {validation_fraction:.0%}")
    return text[:cut], text[cut:]
