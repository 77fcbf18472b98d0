"""English -> LANG sentence pairs from the gettext catalogs installed on the machine.

Every localized package installs compiled message catalogs,
`/usr/share/locale/LANG/LC_MESSAGES/DOMAIN.mo`: human translations of its
messages, menus and help texts. `read_gettext_pairs("es")` reads those of
`es` and its regional variants (`es_ES`, `es@...`) with the standard
library's `gettext.GNUTranslations`:

    pairs, stats = read_gettext_pairs("es")
    pairs[0]  # ("Cancel", "Cancelar")

Each message gives at most one pair (msgid -> msgstr): the context of a
`msgctxt` entry is dropped, a plural entry gives its singular msgid and its
first form msgstr[0], and only surrounding whitespace is stripped, so
placeholders (`%s`, `%(name)s`, `{0}`) and inner newlines stay exactly as they
are. Skipped: empty messages, messages with no letter or digit outside
placeholders, and untranslated ones (source == target). A source that several
entries translate gives one pair: the translation found in the most catalogs,
on a tie the one seen first in sorted path order.
"""

import collections
import dataclasses
import gettext
import pathlib
import re
import struct
import sys

from zoo.data.sources import DataError

DEFAULT_LOCALE_DIR = "/usr/share/locale"
# A language as locale directories name it: es, pt_BR, sr@latin, ca@valencia.
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(?:_[A-Za-z0-9]+)?(?:@[a-z]+)?")
# printf (`%s`, `%-5.2f`, `%1$s`, `%(name)s`, `%%`) and brace (`{0}`, `{name:>3}`) placeholders.
PLACEHOLDER_PATTERN = re.compile(
    r"%(?:\d+\$|\([^()\s]*\))?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?"
    r"(?:hh|h|ll|l|L|q|j|z|Z|t)?[diouxXeEfFgGaAcspnm%]"
    r"|\{[A-Za-z0-9_.]*(?:![rsa])?(?::[^{}]*)?\}"
)


@dataclasses.dataclass
class GettextStats:
    """What `read_gettext_pairs` read and kept.

    Args:
        language: the language read, e.g. `"es"`.
        files: the catalogs read, in sorted path order.
        unreadable: catalogs that could not be read (corrupt, bad charset).
        num_entries: messages in the catalogs read (a plural entry counts
            once; the header does not count).
        skipped: count of skipped messages by reason: `"empty"`,
            `"no words"`, `"untranslated"`, `"same source"` (another entry
            with the same source, merged into one pair).
        num_conflicts: sources that the catalogs translate in more than one
            way (one translation kept).
        num_kept: pairs returned.
    """

    language: str
    files: list = dataclasses.field(default_factory=list)
    unreadable: list = dataclasses.field(default_factory=list)
    num_entries: int = 0
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    num_conflicts: int = 0
    num_kept: int = 0


def catalog_paths(language, locale_dir=DEFAULT_LOCALE_DIR):
    """The `.mo` files of `language` and its variants, in sorted path order.

    `es` matches the directories `es`, `es_ES`, `es@...`; `pt_BR` matches
    `pt_BR` and `pt_BR@...`.

    Raises:
        DataError: `language` is not a locale name.
    """
    if not isinstance(language, str) or not LANGUAGE_PATTERN.fullmatch(language):
        raise DataError(
            f"gettext language must be a locale name such as es, pt_BR or sr@latin; received language={language!r}"
        )
    root = pathlib.Path(locale_dir)
    if not root.is_dir():
        return []
    separators = "@." if "_" in language else "_@."
    paths = []
    for directory in root.iterdir():
        name = directory.name
        if name == language or (name.startswith(language) and name[len(language)] in separators):
            paths += (directory / "LC_MESSAGES").glob("*.mo")
    return sorted(path for path in paths if path.is_file())


def _languages_with_catalogs(locale_dir):
    """The locale directories under `locale_dir` that hold catalogs, sorted."""
    root = pathlib.Path(locale_dir)
    if not root.is_dir():
        return []
    return sorted(
        directory.name
        for directory in root.iterdir()
        if next((directory / "LC_MESSAGES").glob("*.mo"), None) is not None
    )


def _no_catalogs_error(language, locale_dir):
    available = _languages_with_catalogs(locale_dir)
    shown = ", ".join(available[:40]) + (", ..." if len(available) > 40 else "")
    found = f"languages with catalogs there: {shown}" if available else "it has none at all"
    return DataError(
        f"no gettext catalogs for {language!r}: searched "
        f"{locale_dir}/{language}[_*|@*]/LC_MESSAGES/*.mo ({found}); catalogs come with "
        f"installed packages: install localized packages (e.g. `apt-get install "
        f"locales` and the programs you want, in an image that does not exclude "
        f"/usr/share/locale), or use another source such as tsv:FILE (e.g. Tatoeba "
        f"pairs), parallel:PREFIX or tfds:NAME"
    )


def catalog_messages(path):
    """`(msgid, msgstr)` of every message of a compiled catalog, in file order.

    The context of `msgctxt` entries (`"ctx\\x04msgid"`) is dropped; a plural
    entry gives its singular msgid with `msgstr[0]`; the header is left out.

    Raises:
        OSError, ValueError, LookupError, struct.error: the catalog is
            corrupt or has an unknown charset.
    """
    with open(path, "rb") as file:
        catalog = gettext.GNUTranslations(file)._catalog
    for key, msgstr in catalog.items():
        if isinstance(key, tuple):  # (msgid, n): the n-th plural form
            key, form = key
            if form != 0:
                continue
        if key == "":  # the header: Content-Type, Plural-Forms, ...
            continue
        yield key.rpartition("\x04")[2], msgstr


def has_words(text):
    """Whether `text` has a letter or digit outside its placeholders."""
    return any(character.isalnum() for character in PLACEHOLDER_PATTERN.sub("", text))


def _skip_reason(source, target):
    if not source or not target:
        return "empty"
    if not has_words(source) or not has_words(target):
        return "no words"
    if source == target:
        return "untranslated"
    return None


def read_gettext_pairs(language, locale_dir=DEFAULT_LOCALE_DIR):
    """English -> `language` pairs from the installed gettext catalogs.

    Args:
        language: a locale name such as `"es"`; its regional variants
            (`es_ES`, ...) are read too.
        locale_dir: where the catalogs are installed.

    Returns:
        `(pairs, stats)`: a list of `(english, translation)` string pairs,
        one per distinct English source, in order of first appearance; and a
        `GettextStats`. The same catalogs always give the same pairs.

    Raises:
        DataError: there is no catalog for `language`, or none can be read.
    """
    paths = catalog_paths(language, locale_dir)
    if not paths:
        raise _no_catalogs_error(language, locale_dir)
    stats = GettextStats(language)
    # source -> {target: [number of catalogs, order of first appearance]}
    votes = {}
    for path in paths:
        try:
            messages = list(catalog_messages(path))
        except (OSError, ValueError, LookupError, struct.error) as error:
            if not stats.unreadable:
                first_reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            stats.unreadable.append(str(path))
            continue
        stats.files.append(str(path))
        counted = set()  # (source, target) of this catalog, counted once
        for msgid, msgstr in messages:
            stats.num_entries += 1
            source, target = msgid.strip(), msgstr.strip()
            reason = _skip_reason(source, target)
            if reason:
                stats.skipped[reason] += 1
                continue
            translations = votes.setdefault(source, {})
            if translations:
                stats.skipped["same source"] += 1
            vote = translations.setdefault(target, [0, stats.num_entries])
            if (source, target) not in counted:
                counted.add((source, target))
                vote[0] += 1
    if not stats.files:
        raise DataError(
            f"none of the {len(paths)} gettext catalogs for {language!r} can be read; "
            f"first: {stats.unreadable[0]} ({first_reason})"
        )
    if stats.unreadable:
        print(
            f"warning: skipped {len(stats.unreadable)} unreadable gettext catalogs of "
            f"{len(paths)} (first: {stats.unreadable[0]}: {first_reason})",
            file=sys.stderr,
        )
    pairs = []
    for source, translations in votes.items():
        # Most catalogs first, then earliest seen.
        target = min(translations, key=lambda t: (-translations[t][0], translations[t][1]))
        pairs.append((source, target))
        stats.num_conflicts += len(translations) > 1
    stats.num_kept = len(pairs)
    return pairs, stats
