"""Translate a gettext catalog (.pot or .po) with a trained translator; every machine translation is fuzzy.

    python -m recipes.translate_po --model saved_models/translate messages.pot --out es.po
    python -m recipes.translate_po --model saved_models/translate es.po --out es.po --num-beams 4

Reads the catalog with polib and writes it back with every entry's msgctxt,
comments, references and flags (`c-format`, `python-format`, ...) kept.
Entries that already have a translation (fuzzy or not) are left untouched;
only empty ones are translated, and each is marked `fuzzy` for a human to
review. Plural entries (`msgid_plural`) get one form per the target
language's `Plural-Forms` header (`msgstr[0]` from the singular, the others
from the plural); a .pot without that header gets the target language's
from a small table (`--plural-forms` sets it for other languages).

A translation whose format directives (`%s`, `%(name)s`, `%1$s`, `{0}`, `{}`)
differ from its source's (`zoo.metrics.placeholders`) would crash or corrupt
the program that prints it, so it is not written: the entry stays
untranslated and is listed in the report. Leading and trailing newlines are
kept as in the source (msgfmt checks them too). The catalog is written
atomically, then checked with `msgfmt --check --use-fuzzy` (GNU gettext:
`apt-get install gettext`) when msgfmt is installed; the report says how
many entries passed.
"""

import argparse
import collections
import json
import pathlib
import sys

from zoo.data.po_catalogs import CatalogError, msgfmt_check, save_atomically, translate_catalog
from zoo.training.cli import run_main


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m recipes.translate_po", description=__doc__.splitlines()[0])
    parser.add_argument("catalog", help="input .pot or .po file")
    parser.add_argument("--model", required=True, help="a recipes.translate run folder (with model.keras)")
    parser.add_argument("--out", required=True, help="output .po file (written atomically)")
    parser.add_argument("--language", help="target language code for the header (default: the run's)")
    parser.add_argument("--plural-forms", help="Plural-Forms header value when the catalog has none")
    parser.add_argument("--num-beams", type=int, default=1, help="1 = greedy (default), else beam search")
    parser.add_argument("--batch-size", type=int, default=64)
    return parser.parse_args(argv)


def run_language(run_dir):
    """The target language of a recipes.translate run: `--target-language`, else `builtin:gettext-LANG`'s."""
    path = pathlib.Path(run_dir) / "config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data = config.get("data") or ""
    if config.get("target_language"):
        return config["target_language"]
    if data.startswith("builtin:gettext-"):
        return data.removeprefix("builtin:gettext-")
    return None


def load_translator(run_dir):
    """The run's Seq2SeqLM (or LSTMSeq2Seq) with its tokenizers, from `run_dir/model.keras`."""
    path = pathlib.Path(run_dir) / "model.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; expected a recipes.translate run folder (--out of that recipe)")
    import keras

    import zoo  # noqa: F401  (registers zoo's classes)

    return keras.saving.load_model(path)


def main(argv=None):
    args = parse_args(argv)
    import polib

    if not pathlib.Path(args.catalog).is_file():
        raise FileNotFoundError(f"gettext catalog {args.catalog} not found")
    try:
        catalog = polib.pofile(args.catalog)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise CatalogError(f"cannot read gettext catalog {args.catalog}: {error}") from None
    language = args.language or run_language(args.model)
    if language is None:
        raise CatalogError(f"the run {args.model} does not say its target language; pass --language CODE")
    model = load_translator(args.model)
    sampler = "greedy" if args.num_beams == 1 else "beam"

    def translate(texts):
        outputs = []
        for start in range(0, len(texts), args.batch_size):
            batch = texts[start : start + args.batch_size]
            outputs += model.generate(batch, sampler=sampler, num_beams=args.num_beams)
            print(f"translated {start + len(batch):,} / {len(texts):,}", file=sys.stderr, flush=True)
        return outputs

    report = translate_catalog(catalog, translate, language, args.plural_forms)
    save_atomically(catalog, args.out)
    report.msgfmt = msgfmt_check(args.out)
    summary = report.as_dict()
    print(
        f"{summary['entries']} entries: {summary['kept_human_translations']} human translations kept, "
        f"{summary['machine_translated_fuzzy']} machine-translated (fuzzy), "
        f"{summary['left_untranslated']} left untranslated (placeholders not kept)"
    )
    check = report.msgfmt
    if check is None:
        print("msgfmt not found: install GNU gettext (apt-get install gettext) to check the catalog")
    else:
        print(f"msgfmt --check --use-fuzzy: {'passed' if check['passed'] else 'FAILED'}  {check['statistics']}")
        for line in check["errors"]:
            print(f"  {line}")
    counts = collections.Counter(source for source, _ in report.unsafe)
    for source in list(counts)[:5]:
        print(f"  untranslated: {source[:70]!r}")
    return summary


if __name__ == "__main__":
    run_main(main)
