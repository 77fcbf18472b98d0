"""Real strings from this machine for the tokenizer differential harness (tests/tokenizers/test_parity.py).

`collect()` reads, in a fixed order, each source that is present (an absent
one gives no strings, never an error):

- `gettext`: msgids and msgstrs of the compiled catalogs under
  /usr/share/locale for `LANGUAGES` (human translations of software
  messages: many scripts, placeholders, accelerators, line breaks);
- `python-docs`: `pydoc_data.topics` paragraphs and the docstrings of the
  standard library's modules, classes and functions (read with `ast`);
- `debian`: package descriptions from /var/lib/dpkg/status and the apt lists
  (`*Translation-en*`, `*Packages*`), with their indented continuation lines;
- `shared-data`: ../shared/data's spa-eng pairs (both sides), Multi30k
  captions (en, de), rt-polarity sentences, Tiny Shakespeare lines and SQuAD
  contexts and questions.

Strings are kept as they are (no stripping: whitespace runs are what
pre-tokenizers disagree on), deduplicated across sources (first occurrence
wins) and capped per source, so the corpus is the same on every run of the
same machine. `sample(strings, size)` takes an evenly spaced deterministic
subset.

    python tests/tokenizers/parity_corpus.py   # the counts per source
"""

import ast
import gettext
import gzip
import json
import pathlib
import sysconfig

LOCALE_DIR = pathlib.Path("/usr/share/locale")
LANGUAGES = ("de", "es", "fr", "ru", "ja", "zh_CN", "ar", "hi", "ko", "el", "he", "tr", "pl", "uk", "vi", "th")
DPKG_STATUS = pathlib.Path("/var/lib/dpkg/status")
APT_LISTS = pathlib.Path("/var/lib/apt/lists")
SHARED_DATA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
# The most strings taken from each source, so no source crowds out the others.
LIMITS = {"gettext": 24_000, "python-docs": 12_000, "debian": 12_000, "shared-data": 16_000}
SOURCES = tuple(LIMITS)


def collect(limits=None):
    """`{source: [str, ...]}`, deduplicated across sources, in `SOURCES` order."""
    limits = {**LIMITS, **(limits or {})}
    readers = {"gettext": gettext_strings, "python-docs": python_docs, "debian": debian, "shared-data": shared_data}
    seen, out = set(), {}
    for source in SOURCES:
        kept = []
        for text in readers[source]():
            if len(kept) == limits[source]:
                break
            if text and text not in seen:
                seen.add(text)
                kept.append(text)
        out[source] = kept
    return out


def corpus(limits=None):
    """All collected strings, one list, in source order."""
    return [text for texts in collect(limits).values() for text in texts]


def sample(strings, size):
    """`size` strings spaced evenly through `strings` (all of them when there are fewer)."""
    if size >= len(strings):
        return list(strings)
    return [strings[i * len(strings) // size] for i in range(size)]


def gettext_strings():
    """msgid, msgstr, msgid, ... of each catalog, the languages interleaved catalog by catalog."""
    per_language = [sorted(LOCALE_DIR.glob(f"{language}/LC_MESSAGES/*.mo")) for language in LANGUAGES]
    for path in _interleave(per_language):
        try:
            with open(path, "rb") as file:
                catalog = gettext.GNUTranslations(file)._catalog
        except (OSError, ValueError, LookupError, UnicodeDecodeError):
            continue
        for key, msgstr in catalog.items():
            msgid = key[0] if isinstance(key, tuple) else key
            if msgid:  # "" is the header
                yield msgid.rpartition("\x04")[2]
                yield msgstr


def python_docs():
    """pydoc_data topics (by paragraph), then standard-library docstrings, in sorted path order."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        topics = {}
    for key in sorted(topics):
        yield from (paragraph for paragraph in topics[key].split("\n\n") if paragraph.strip())
    stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if "test" in path.parts[-2] or "site-packages" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node, clean=False)
                if docstring:
                    yield docstring


def debian():
    """Description fields (first line, then the whole field) of dpkg's status and the apt lists."""
    paths = [DPKG_STATUS] if DPKG_STATUS.is_file() else []
    if APT_LISTS.is_dir():
        paths += sorted(p for p in APT_LISTS.iterdir() if "Translation-en" in p.name or p.name.endswith("Packages.lz4"))
    for path in paths:
        text = _read(path)
        for stanza in text.split("\n\n"):
            for field in _description_fields(stanza):
                yield field.partition("\n")[0]
                yield field


def shared_data():
    """Lines of ../shared/data's text sets, each set's lines in file order."""
    root = SHARED_DATA
    files = [root / "spa-eng" / "spa-eng.tsv.gz", root / "multi30k" / "train.en.gz", root / "multi30k" / "train.de.gz"]
    files += [root / "rt-polarity" / "rt-polarity.pos", root / "rt-polarity" / "rt-polarity.neg"]
    files += [root / "tinyshakespeare" / "input.txt"]
    readers = [_lines(path) for path in files if path.is_file()]
    squad = root / "squad" / "squad-v1.1-dev-part.json.gz"
    if squad.is_file():
        readers.append(_squad(squad))
    yield from _interleave(readers)


def _lines(path):
    for line in _read(path).splitlines():
        if path.name.startswith("spa-eng"):
            yield from line.split("\t")[:2]  # English, Spanish (the third column is the attribution)
        else:
            yield line


def _squad(path):
    data = json.loads(_read(path))
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            yield paragraph["context"]
            yield from (question["question"] for question in paragraph["qas"])


def _description_fields(stanza):
    lines, inside = [], False
    for line in stanza.splitlines():
        if line.startswith(("Description:", "Description-en:")):
            if lines:
                yield "\n".join(lines)
            lines, inside = [line.partition(":")[2].lstrip()], True
        elif inside and line[:1] in (" ", "\t"):
            lines.append(line)
        else:
            inside = False
    if lines:
        yield "\n".join(lines)


def _read(path):
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    elif path.suffix == ".lz4":
        import lz4.frame

        data = lz4.frame.decompress(data)
    return data.decode("utf-8", "replace")


def _interleave(iterables):
    """Round robin over iterables (lists or generators) until all are exhausted."""
    iterators = [iter(items) for items in iterables]
    while iterators:
        alive = []
        for iterator in iterators:
            try:
                yield next(iterator)
                alive.append(iterator)
            except StopIteration:
                pass
        iterators = alive


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    collected = collect()
    for source, texts in collected.items():
        print(f"{source:12s} {len(texts):6d} strings, {sum(map(len, texts)):9d} characters")
    print(f"{'total':12s} {sum(map(len, collected.values())):6d} strings ({time.perf_counter() - start:.1f} s)")
