"""Placeholder, markup and accelerator exactness of translated software messages.

A translated message is only shippable when the program that prints it still
finds its format directives: `%s`, `%d`, `%(name)s`, `%1$s`, `{0}`, `{name}`.
A missing or changed one crashes or corrupts the output. The same goes, less
fatally, for markup (`<b>...</b>`, `&amp;`) and keyboard accelerators
(`_File` in GTK, `&Open` in Qt).

    exactness(sources, translations)
    # {"placeholders": {"messages": 312, "exact": 301, "share": 96.47}, "markup": {...}, "accelerators": {...}}

The rules follow gettext's `msgfmt --check` for c-format and python-format
strings: directives that name their argument (`%(name)s`, `%1$s`, `{name}`,
`{0}`) may move but must all be there (as a multiset); the others (`%s`,
`%d`, `{}`) are taken in order, so their sequence must be equal. `%%`, `{{`
and `}}` are literal characters, not directives.
"""

import collections
import re

# printf: %[n$][(name)][flags][width][.precision][length]conversion (C and Python's %-format).
PRINTF = re.compile(
    r"%(?:(?P<position>\d+)\$)?(?:\((?P<name>[^()]*)\))?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?"
    r"(?:hh|h|ll|l|L|q|j|z|t|I64|I32)?[diouxXeEfFgGaAcspnr]"
)
# str.format: {}, {0}, {name}, {name.attr[0]!r:>10}; {{ and }} are escapes.
BRACE = re.compile(r"\{(?P<field>[^{}!:\s]*)(?:![rsa])?(?::[^{}]*)?\}")
MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);")
# An accelerator marker: `_` or `&` right before a letter or digit, at the start of a word (not
# inside an identifier like file_name, not an entity like &amp;).
ACCELERATOR = re.compile(r"(?<![\w&])(?:_(?=[^\W_])|&(?![A-Za-z][A-Za-z0-9]*;|#\d+;)(?=[^\W_]))")


def _printf(text):
    text = text.replace("%%", "\0\0")
    return [match for match in PRINTF.finditer(text)]


def _brace(text):
    text = text.replace("{{", "\0\0").replace("}}", "\0\0")
    return [match for match in BRACE.finditer(text)]


def format_directives(text):
    """`(ordered, named)`: directives taken in order (`%s`, `{}`), and a Counter of those naming their argument."""
    ordered, named = [], collections.Counter()
    for match in _printf(text):
        conversion = match.group(0)
        if match.group("position") or match.group("name") is not None:
            named[conversion] += 1
        else:
            ordered.append(conversion)
    for match in _brace(text):
        if match.group("field"):
            named[match.group(0)] += 1
        else:
            ordered.append(match.group(0))
    return ordered, named


def has_format_directives(text):
    ordered, named = format_directives(text)
    return bool(ordered or named)


def markup(text):
    """The tags and entities of a text, as a Counter."""
    return collections.Counter(match.group(0) for match in MARKUP.finditer(text))


def accelerators(text):
    """The accelerator markers of a text (`_` or `&`), as a Counter."""
    return collections.Counter(match.group(0) for match in ACCELERATOR.finditer(text))


def placeholders_exact(source, translation):
    """Whether a translation keeps the source's format directives (ordered ones in order, named ones as a multiset)."""
    return format_directives(source) == format_directives(translation)


def _share(kept, total):
    return round(100.0 * kept / total, 2) if total else None


def exactness(sources, translations):
    """Per kind, over the sources that have any: how many translations keep them exactly.

    Args:
        sources: source messages.
        translations: one translation per source.

    Returns:
        `{"placeholders" | "markup" | "accelerators": {"messages": N, "exact": K, "share": percent or None}}`,
        plus `"lost_placeholders"`: up to 5 `(source, translation)` pairs that did not keep their directives.
    """
    if len(sources) != len(translations):
        raise ValueError(f"{len(sources)} sources but {len(translations)} translations; expected one per source")
    kinds = {
        "placeholders": (has_format_directives, placeholders_exact),
        "markup": (lambda text: bool(markup(text)), lambda a, b: markup(a) == markup(b)),
        "accelerators": (lambda text: bool(accelerators(text)), lambda a, b: accelerators(a) == accelerators(b)),
    }
    report, lost = {}, []
    for kind, (has, exact) in kinds.items():
        messages = kept = 0
        for source, translation in zip(sources, translations):
            if has(source):
                messages += 1
                if exact(source, translation):
                    kept += 1
                elif kind == "placeholders" and len(lost) < 5:
                    lost.append((source, translation))
        report[kind] = {"messages": messages, "exact": kept, "share": _share(kept, messages)}
    report["lost_placeholders"] = lost
    return report
