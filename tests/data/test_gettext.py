"""Tests for zoo.data.gettext_catalogs: English -> LANG pairs from .mo catalogs."""

import functools
import gettext
import pathlib
import struct

import pytest

from zoo.data import DataError, load_pair_dataset, pairs, read_gettext_pairs
from zoo.data.gettext_catalogs import PLACEHOLDER_PATTERN, catalog_paths, has_words

HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"
MACHINE_LOCALE_DIR = pathlib.Path("/usr/share/locale")


def mo_bytes(messages):
    """A GNU .mo catalog of `{msgid: msgstr}`, written as msgfmt does.

    A msgid `"ctx\\x04id"` has a context; `"one\\0many"` with msgstr
    `"uno\\0muchos"` is a plural entry. The strings are sorted, NUL-ended,
    after the header (5 words + hash table fields) and the two offset tables.
    """
    messages = {"": HEADER, **messages}
    keys = sorted(messages)
    strings = [key.encode() for key in keys] + [messages[key].encode() for key in keys]
    count = len(keys)
    data_start = 28 + 16 * count
    table, data = b"", b""
    for string in strings:
        table += struct.pack("<2I", len(string), data_start + len(data))
        data += string + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, data_start)
    return header + table + data


def write_catalog(locale_dir, language, domain, messages):
    path = locale_dir / language / "LC_MESSAGES" / f"{domain}.mo"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mo_bytes(messages))
    return path


@pytest.fixture
def locale_dir(tmp_path):
    """Three Spanish catalogs (es, es_ES) and some that must not be read."""
    root = tmp_path / "locale"
    write_catalog(
        root,
        "es",
        "a",
        {
            "  Save  ": " Guardar\n",  # surrounding whitespace stripped
            "%s: %d files\n": "%s: %d archivos\n",  # placeholders kept
            "...": "…",  # no words
            "Close": "Cerrar",
            "Delete": "Borrar",  # seen first, but outvoted by b and c
            "Empty": "",  # untranslated (empty msgstr)
            "File\0Files": "Archivo\0Archivos",  # plural: singular -> msgstr[0]
            "Hello, %(name)s {0}": "Hola, %(name)s {0}",
            "OK": "OK",  # untranslated (same text)
            "Open": "Abrir",
            "menu\x04Open": "Abrir",  # context dropped; same pair, counted once
        },
    )
    write_catalog(
        root,
        "es_ES",
        "b",
        {
            "Close": "Cerrar ventana",  # a tie with a's "Cerrar": a is first
            "Delete": "Eliminar",
            "Quit": "Salir",
        },
    )
    write_catalog(root, "es_ES", "c", {"Delete": "Eliminar"})
    write_catalog(root, "esx", "z", {"Quit": "Not Spanish"})  # not es_*, es@* or es.*
    write_catalog(root, "et", "z", {"Quit": "Välju"})
    (root / "es" / "LC_MESSAGES" / "notes.txt").write_text("not a catalog")
    return root


EXPECTED_PAIRS = [
    ("Save", "Guardar"),
    ("%s: %d files", "%s: %d archivos"),
    ("Close", "Cerrar"),
    ("Delete", "Eliminar"),
    ("File", "Archivo"),
    ("Hello, %(name)s {0}", "Hola, %(name)s {0}"),
    ("Open", "Abrir"),
    ("Quit", "Salir"),
]


def test_mo_writer_matches_stdlib_reader(locale_dir):
    with open(locale_dir / "es" / "LC_MESSAGES" / "a.mo", "rb") as file:
        catalog = gettext.GNUTranslations(file)
    assert catalog.pgettext("menu", "Open") == "Abrir"
    assert catalog.ngettext("File", "Files", 2) == "Archivos"


def test_pairs_and_stats_are_exact(locale_dir):
    found, stats = read_gettext_pairs("es", locale_dir)
    assert found == EXPECTED_PAIRS
    assert [pathlib.Path(path).relative_to(locale_dir).as_posix() for path in stats.files] == [
        "es/LC_MESSAGES/a.mo",
        "es_ES/LC_MESSAGES/b.mo",
        "es_ES/LC_MESSAGES/c.mo",
    ]
    assert stats.num_entries == 15 and stats.num_kept == 8 and stats.num_conflicts == 2
    assert stats.skipped == {"empty": 1, "no words": 1, "untranslated": 1, "same source": 4}
    assert stats.num_entries == stats.num_kept + sum(stats.skipped.values())
    assert stats.unreadable == []


def test_regional_language_reads_only_its_variant(locale_dir):
    found, stats = read_gettext_pairs("es_ES", locale_dir)
    assert found == [("Close", "Cerrar ventana"), ("Delete", "Eliminar"), ("Quit", "Salir")]
    assert len(stats.files) == 2


def test_unreadable_catalog_is_skipped_with_one_warning(locale_dir, capsys):
    broken = locale_dir / "es" / "LC_MESSAGES" / "broken.mo"
    broken.write_bytes(b"not a catalog at all")
    found, stats = read_gettext_pairs("es", locale_dir)
    assert found == EXPECTED_PAIRS and stats.unreadable == [str(broken)]
    assert capsys.readouterr().err == (
        f"warning: skipped 1 unreadable gettext catalogs of 4 (first: {broken}: Bad magic number)\n"
    )


def test_no_readable_catalog_names_the_first_and_why(tmp_path):
    broken = tmp_path / "de" / "LC_MESSAGES" / "app.mo"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(struct.pack("<I", 0x12345678) + bytes(24))  # a wrong magic number
    with pytest.raises(
        DataError, match=r"none of the 1 gettext catalogs for 'de' can be read; first: .*app\.mo \(Bad magic number\)"
    ):
        read_gettext_pairs("de", tmp_path)


def test_missing_language_says_where_and_how(locale_dir):
    with pytest.raises(DataError) as info:
        read_gettext_pairs("fr", locale_dir)
    message = str(info.value)
    assert f"searched {locale_dir}/fr[_*|@*]/LC_MESSAGES/*.mo" in message
    assert "languages with catalogs there: es, es_ES, esx, et" in message
    assert "come with installed packages" in message and "apt-get install" in message
    assert "tsv:FILE" in message and "\n" not in message


@pytest.mark.parametrize("language", ["", "Spanish", "es/../x", None])
def test_bad_language_name_raises(locale_dir, language):
    with pytest.raises(DataError, match="gettext language must be a locale name"):
        catalog_paths(language, locale_dir)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("%s: %s", False),
        ("%(name)s {0} %-5.2f %1$s %%", False),
        ("...", False),
        ("%d files", True),
        ("{count} €", False),
        ("24", True),
    ],
)
def test_has_words_ignores_placeholders(text, expected):
    assert has_words(text) == expected


def test_builtin_spec_splits_catalog_pairs(locale_dir, monkeypatch):
    reader = functools.partial(read_gettext_pairs, locale_dir=locale_dir)
    monkeypatch.setattr(pairs, "read_gettext_pairs", reader)
    train, test = load_pair_dataset("builtin:gettext-es", test_size=2, seed=1)
    assert (len(train), len(test)) == (6, 2)
    found = zip(train.sources + test.sources, train.targets + test.targets)
    assert sorted(found) == sorted(EXPECTED_PAIRS)
    assert (train.source_language, train.target_language) == ("en", "es")
    assert (train.name, test.name) == ("gettext-es/train", "gettext-es/test")
    with pytest.raises(DataError, match="has target_language 'es'; received target_language='fr'"):
        load_pair_dataset("builtin:gettext-es", target_language="fr")


# ------------------------------------------------------- the machine's catalogs


@pytest.fixture(scope="module")
def machine_spanish():
    if not any(MACHINE_LOCALE_DIR.glob("es*/LC_MESSAGES/*.mo")):
        pytest.skip(f"no Spanish gettext catalogs under {MACHINE_LOCALE_DIR}")
    return read_gettext_pairs("es")


def test_machine_catalogs_give_clean_deterministic_pairs(machine_spanish):
    found, stats = machine_spanish
    expected_files = sorted(MACHINE_LOCALE_DIR.glob("es*/LC_MESSAGES/*.mo"))
    expected_files = [path for path in expected_files if path.parent.parent.name in catalog_dirs()]
    assert stats.files == [str(path) for path in expected_files]
    assert len(found) == stats.num_kept > 100
    sources = [source for source, _ in found]
    assert len(set(sources)) == len(sources)
    assert all(s == s.strip() and t == t.strip() and s != t and s and t for s, t in found)
    assert all(has_words(s) and has_words(t) for s, t in found)
    with_placeholders = [(s, t) for s, t in found if PLACEHOLDER_PATTERN.search(s)]
    assert with_placeholders and any("%s" in s and "%s" in t for s, t in with_placeholders)
    assert read_gettext_pairs("es")[0] == found


def catalog_dirs():
    """Names of the machine's locale directories that `es` covers."""
    return {
        path.name
        for path in MACHINE_LOCALE_DIR.iterdir()
        if path.name == "es" or path.name[:3] in ("es_", "es@", "es.")
    }
