"""zoo.metrics.placeholders against gettext's own checker, `msgfmt --check`."""

import shutil
import subprocess

import pytest

from zoo.metrics.placeholders import accelerators, exactness, format_directives, markup, placeholders_exact

# (flag, msgid, msgstr): a c-format / python-format / python-brace-format message and a translation.
CASES = [
    ("c-format", "Could not open %s", "No se pudo abrir %s"),
    ("c-format", "Could not open %s", "No se pudo abrir"),
    ("c-format", "Could not open %s", "No se pudo abrir %d"),
    ("c-format", "%s of %d files", "%d de %s archivos"),
    ("c-format", "%1$s of %2$d files", "%2$d de %1$s archivos"),
    ("c-format", "%s: %s", "%s: %s"),
    ("c-format", "%5.2f%% done", "%5.2f%% hecho"),
    ("c-format", "%5.2f%% done", "%5.2f hecho"),
    ("c-format", "%lu bytes", "%lu octetos"),
    ("c-format", "%lu bytes", "%u octetos"),
    ("c-format", "%'d items", "%'d elementos"),
    ("python-format", "%(name)s was deleted", "%(name)s fue borrado"),
    ("python-format", "%(name)s was deleted", "%(nombre)s fue borrado"),
    ("python-format", "%(count)d of %(total)d", "%(total)d, %(count)d"),
    ("python-format", "%(count)d of %(total)d", "%(count)d de"),
    ("python-brace-format", "{0} of {1}", "{1} de {0}"),
    ("python-brace-format", "{name} deleted", "{name} borrado"),
    ("python-brace-format", "{name} deleted", "{nombre} borrado"),
    ("python-brace-format", "{} of {}", "{} de {}"),
    ("python-brace-format", "{name} deleted", "borrado"),
]
# msgfmt does not count the automatically numbered `{}` of python-brace-format; exactness does (a lost or
# extra value is a bug).
STRICTER_THAN_MSGFMT = [
    ("python-brace-format", "{} of {}", "{} de"),
    ("python-brace-format", "{} of {}", "{} de {} {}"),
]


def _msgfmt_accepts(directory, flag, msgid, msgstr):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (GNU gettext) is not installed: apt-get install gettext")
    po = directory / "case.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        f'#, {flag}\nmsgid "{msgid}"\nmsgstr "{msgstr}"\n',
        encoding="utf-8",
    )
    result = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)
    return result.returncode == 0


@pytest.mark.parametrize("flag, msgid, msgstr", CASES)
def test_placeholder_verdict_matches_msgfmt_check(tmp_path, flag, msgid, msgstr):
    assert placeholders_exact(msgid, msgstr) == _msgfmt_accepts(tmp_path, flag, msgid, msgstr)


@pytest.mark.parametrize("flag, msgid, msgstr", STRICTER_THAN_MSGFMT)
def test_a_left_out_argument_is_not_exact_though_msgfmt_allows_it(tmp_path, flag, msgid, msgstr):
    assert _msgfmt_accepts(tmp_path, flag, msgid, msgstr) and not placeholders_exact(msgid, msgstr)


def test_literal_percent_and_braces_are_not_directives():
    assert format_directives("100%% sure, {{literal}}") == ([], {})
    assert format_directives("50% off, 100% of them") == ([], {})  # a lone % before a space is prose
    ordered, named = format_directives("%s and %(n)d and {0} and {}")
    assert ordered == ["%s", "{}"] and named == {"%(n)d": 1, "{0}": 1}


def test_markup_and_accelerators():
    assert markup('Press <b>OK</b> &amp; <a href="x">go</a>') == {
        "<b>": 1,
        "</b>": 1,
        "&amp;": 1,
        '<a href="x">': 1,
        "</a>": 1,
    }
    assert markup("1 < 2 and 3 > 2") == {}
    assert accelerators("_File") == {"_": 1} and accelerators("&Open") == {"&": 1}
    assert accelerators("file_name and &amp; and a_b") == {}
    assert accelerators("Save _As...") == {"_": 1}


def test_exactness_counts_only_messages_that_have_each_kind():
    sources = ["Open %s", "Hello", "<b>Bold</b> %d", "_Quit", "Delete {name}?"]
    outputs = ["Abrir %s", "Hola", "<b>Negrita</b>", "Salir", "¿Borrar {nombre}?"]
    report = exactness(sources, outputs)
    assert report["placeholders"] == {"messages": 3, "exact": 1, "share": 33.33}
    assert report["markup"] == {"messages": 1, "exact": 1, "share": 100.0}
    assert report["accelerators"] == {"messages": 1, "exact": 0, "share": 0.0}
    assert report["lost_placeholders"] == [
        ("<b>Bold</b> %d", "<b>Negrita</b>"),
        ("Delete {name}?", "¿Borrar {nombre}?"),
    ]
    assert exactness(["Hi"], ["Hola"])["placeholders"] == {"messages": 0, "exact": 0, "share": None}
    with pytest.raises(ValueError, match="2 sources but 1 translations"):
        exactness(["a", "b"], ["a"])
