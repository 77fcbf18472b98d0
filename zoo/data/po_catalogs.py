"""Gettext catalogs (.po / .pot) filled by a translator: polib in and out, plural forms, msgfmt's check.

    catalog = polib.pofile("messages.pot")
    report = translate_catalog(catalog, translate, "es")  # translate(list of str) -> list of str
    save_atomically(catalog, "es.po")
    msgfmt_check("es.po")   # {"passed": True, "statistics": "...", "errors": []}

`translate_catalog` fills only entries without a translation and marks each
`fuzzy`; it keeps msgctxt, comments and flags (polib does), gives plural
entries one form per the language's `Plural-Forms`, keeps leading/trailing
newlines as the source has them, and leaves an entry untranslated when the
translation's format directives differ from its source's
(`zoo.metrics.placeholders`): such a string would crash or corrupt the
program that prints it. `recipes.translate_po` is the command line.
"""

import dataclasses
import os
import pathlib
import shutil
import subprocess
import tempfile

from zoo.errors import ZooUserError
from zoo.metrics.placeholders import placeholders_exact

# Plural-Forms of common target languages (GNU gettext's manual, "Plural forms").
PLURAL_FORMS = {
    "es": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "de": "nplurals=2; plural=(n != 1);",
    "it": "nplurals=2; plural=(n != 1);",
    "pt": "nplurals=2; plural=(n != 1);",
    "pt_BR": "nplurals=2; plural=(n > 1);",
    "nl": "nplurals=2; plural=(n != 1);",
    "en": "nplurals=2; plural=(n != 1);",
    "ja": "nplurals=1; plural=0;",
    "zh_CN": "nplurals=1; plural=0;",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "pl": "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
}


@dataclasses.dataclass
class Report:
    """What `translate_catalog` did, by entry."""

    entries: int = 0
    kept_human: int = 0
    translated: int = 0
    unsafe: list = dataclasses.field(default_factory=list)  # (msgid, translation) left untranslated
    msgfmt: dict | None = None

    def as_dict(self):
        return {
            "entries": self.entries,
            "kept_human_translations": self.kept_human,
            "machine_translated_fuzzy": self.translated,
            "left_untranslated": len(self.unsafe),
            "left_untranslated_examples": [list(pair) for pair in self.unsafe[:10]],
            "msgfmt": self.msgfmt,
        }


class CatalogError(ZooUserError):
    """A catalog that cannot be read or translated as asked (its message names the file and the problem)."""


def plural_count(header, language):
    """`nplurals` of a `Plural-Forms` header value."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.strip() == "nplurals":
            try:
                return int(value)
            except ValueError:
                break
    raise CatalogError(f"Plural-Forms {header!r} (language {language!r}) has no valid nplurals")


def _split_newlines(text):
    """`(leading, core, trailing)` newlines around a message; msgfmt requires the translation to keep them."""
    core = text.strip("\n")
    start = len(text) - len(text.lstrip("\n"))
    return text[:start], core, text[start + len(core) :]


def _needed(catalog):
    """The entries to translate: not obsolete, no translation yet."""
    for entry in catalog:
        if entry.obsolete or not entry.msgid:
            continue
        has = any(entry.msgstr_plural.values()) if entry.msgid_plural else bool(entry.msgstr)
        yield entry, has


def translate_catalog(catalog, translate, language, plural_forms=None):
    """Fill the empty entries of a polib catalog in place with `translate(list of str) -> list of str`."""
    header = catalog.metadata.get("Plural-Forms") or plural_forms or PLURAL_FORMS.get(language)
    report, todo = Report(), []
    for entry, has in _needed(catalog):
        report.entries += 1
        if has:
            report.kept_human += 1
        else:
            todo.append(entry)
    if any(entry.msgid_plural for entry in todo):
        if header is None:
            raise CatalogError(f"no Plural-Forms for language {language!r}; pass --plural-forms 'nplurals=...'")
        catalog.metadata["Plural-Forms"] = header
    forms = plural_count(header, language) if header else 1
    sources = sorted({text for entry in todo for text in (entry.msgid, entry.msgid_plural) if text})
    cores = {text: _split_newlines(text) for text in sources}
    unique = sorted({core for _, core, _ in cores.values() if core})
    translated = dict(zip(unique, translate(unique))) if unique else {}

    def safe(text):
        lead, core, trail = cores[text]
        output = translated.get(core, "")
        return f"{lead}{output}{trail}" if output and placeholders_exact(text, output) else None

    for entry in todo:
        if entry.msgid_plural:
            singular, plural = safe(entry.msgid), safe(entry.msgid_plural)
            if singular is None or plural is None:
                report.unsafe.append((entry.msgid, translated.get(cores[entry.msgid][1], "")))
                continue
            entry.msgstr_plural = {0: singular, **{index: plural for index in range(1, forms)}}
        else:
            text = safe(entry.msgid)
            if text is None:
                report.unsafe.append((entry.msgid, translated.get(cores[entry.msgid][1], "")))
                continue
            entry.msgstr = text
        if "fuzzy" not in entry.flags:
            entry.flags.append("fuzzy")
        report.translated += 1
    if language and not catalog.metadata.get("Language"):
        catalog.metadata["Language"] = language
    return report


def msgfmt_check(path):
    """`msgfmt --check --use-fuzzy` of a .po file: `{"passed": bool, "errors": [...]}`, or None without msgfmt."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        return None
    command = [msgfmt, "--check", "--use-fuzzy", "--statistics", "-o", os.devnull, str(path)]
    result = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    statistics = [line for line in lines if "translated message" in line]
    errors = [line for line in lines if line not in statistics and "warning: header field" not in line]
    return {"passed": result.returncode == 0, "statistics": " ".join(statistics), "errors": errors[:20]}


def save_atomically(catalog, out):
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(handle)
    try:
        catalog.save(temporary)
        os.replace(temporary, out)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
