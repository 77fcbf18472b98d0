"""zoo.data.po_catalogs: filling gettext catalogs safely, checked with polib and GNU msgfmt."""

import pathlib
import shutil

import polib
import pytest

from zoo.data.po_catalogs import CatalogError, msgfmt_check, plural_count, save_atomically, translate_catalog

POT = r"""# Example catalog.
msgid ""
msgstr ""
"Project-Id-Version: demo 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"

#: src/main.c:10
#, c-format
msgid "Could not open %s"
msgstr ""

#. Shown in the title bar.
msgctxt "window title"
msgid "Open"
msgstr ""

#, python-format
msgid "%(name)s was deleted"
msgstr ""

#, c-format
msgid "%d file"
msgid_plural "%d files"
msgstr[0] ""
msgstr[1] ""

msgid "\nUsage: demo [OPTION]...\n"
msgstr ""

msgid "Quit"
msgstr "Salir"

#, fuzzy
msgid "Save"
msgstr "Guardar tal vez"

#~ msgid "Old message"
#~ msgstr ""
"""


def fake_translate(texts):
    """A stand-in translator: keeps directives except in one message, where it loses %(name)s as models do."""
    lost = {"%(name)s was deleted": "%c fue borrado"}
    return [lost.get(text, f"ES {text}") for text in texts]


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "demo.pot"
    path.write_text(POT, encoding="utf-8")
    return polib.pofile(str(path))


def test_fills_empty_entries_as_fuzzy_and_keeps_everything_else(catalog, tmp_path):
    calls = []

    def translate(texts):
        calls.append(list(texts))
        return fake_translate(texts)

    report = translate_catalog(catalog, translate, "es")
    out = tmp_path / "es.po"
    save_atomically(catalog, out)
    written = {(entry.msgctxt, entry.msgid): entry for entry in polib.pofile(str(out))}
    opened = written[(None, "Could not open %s")]
    assert opened.msgstr == "ES Could not open %s" and opened.flags == ["c-format", "fuzzy"]
    assert opened.occurrences == [("src/main.c", "10")]
    titled = written[("window title", "Open")]
    assert titled.msgstr == "ES Open" and titled.comment == "Shown in the title bar." and "fuzzy" in titled.flags
    plural = written[(None, "%d file")]
    assert plural.msgstr_plural == {0: "ES %d file", 1: "ES %d files"}
    usage = written[(None, "\nUsage: demo [OPTION]...\n")]
    assert usage.msgstr == "\nES Usage: demo [OPTION]...\n"  # newlines kept outside the model
    assert written[(None, "Quit")].msgstr == "Salir" and "fuzzy" not in written[(None, "Quit")].flags
    assert written[(None, "Save")].msgstr == "Guardar tal vez"  # an existing (fuzzy) human translation
    deleted = written[(None, "%(name)s was deleted")]
    assert deleted.msgstr == "" and "fuzzy" not in deleted.flags  # left untranslated, not broken
    assert report.as_dict()["left_untranslated_examples"] == [["%(name)s was deleted", "%c fue borrado"]]
    assert (report.entries, report.kept_human, report.translated) == (7, 2, 4)
    assert calls == [sorted({"Could not open %s", "Open", "%(name)s was deleted", "%d file", "%d files",
                             "Usage: demo [OPTION]..."})]  # fmt: skip
    header = polib.pofile(str(out)).metadata
    assert header["Plural-Forms"] == "nplurals=2; plural=(n != 1);" and header["Language"] == "es"
    if shutil.which("msgfmt"):
        check = msgfmt_check(out)
        assert check["passed"], check
        assert "5 fuzzy translations" in check["statistics"]


def test_msgfmt_rejects_what_the_guard_left_out(catalog, tmp_path):
    if not shutil.which("msgfmt"):
        pytest.skip("msgfmt (GNU gettext) is not installed: apt-get install gettext")
    entry = catalog.find("%(name)s was deleted")
    entry.msgstr, entry.flags = "%c fue borrado", [*entry.flags, "fuzzy"]
    save_atomically(catalog, tmp_path / "broken.po")
    check = msgfmt_check(tmp_path / "broken.po")
    assert not check["passed"] and any("format specification" in line for line in check["errors"])


def test_plural_forms_of_the_language_or_an_error(catalog):
    assert plural_count("nplurals=3; plural=(n==1 ? 0 : 2);", "pl") == 3
    with pytest.raises(CatalogError, match="no valid nplurals"):
        plural_count("plural=(n != 1);", "xx")
    with pytest.raises(CatalogError, match="no Plural-Forms for language 'xx'; pass --plural-forms"):
        translate_catalog(catalog, fake_translate, "xx")
    report = translate_catalog(catalog, fake_translate, "xx", plural_forms="nplurals=3; plural=(n%10==1 ? 0 : 2);")
    assert catalog.find("%d file").msgstr_plural == {0: "ES %d file", 1: "ES %d files", 2: "ES %d files"}
    assert report.translated == 4


def test_save_is_atomic(catalog, tmp_path, monkeypatch):
    out = tmp_path / "es.po"
    out.write_text("previous", encoding="utf-8")

    def fail(path):
        pathlib.Path(path).write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(catalog, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        save_atomically(catalog, out)
    assert out.read_text(encoding="utf-8") == "previous" and sorted(p.name for p in tmp_path.iterdir()) == [
        "demo.pot",
        "es.po",
    ]
