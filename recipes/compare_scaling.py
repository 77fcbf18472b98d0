"""The scaling part of `recipes.compare`: validation loss vs parameters on one character-level text.

Every architecture's sizes train on the same `lm_batches`, tokenized as
`recipes.generate` does; `scaling_section` writes the part of report.md.
"""

import pathlib

from zoo.comparison.report import markdown_table, plot_lines


def run_scaling(cfg, settings, out):
    """`zoo.comparison.scaling` rows (transformer and lstm sizes) on `--lm-data`, each naming its data."""
    from zoo.comparison import scaling

    options = dict(settings["scaling"])
    data = cfg.lm_data or _default_lm_data()
    train, validation, vocabulary_size = language_model_batches(
        data,
        options.pop("sequence_length"),
        options.pop("batch_size"),
        out,
        smoke=cfg.smoke,
    )
    widths = options.pop("widths")
    architectures = [a for a in cfg.architectures if a in ("transformer", "lstm")]
    rows = scaling(
        architectures,
        widths,
        train,
        validation,
        vocabulary_size=vocabulary_size,
        sequence_length=settings["scaling"]["sequence_length"],
        **options,
    )
    for row in rows:
        row["data"] = data
    return rows


def _default_lm_data():
    path = pathlib.Path("../shared/data") / "tinyshakespeare" / "input.txt"
    return f"text:{path}" if path.is_file() else "builtin:python-docs"


def language_model_batches(spec, sequence_length, batch_size, out, smoke=False):
    """Character-level `lm_batches` of a text corpus, tokenized as recipes.generate does.

    The character list is written to `out/scaling_characters.txt`.

    Returns:
        `(train, validation, vocabulary_size)`; the last 10% of the text is validation.
    """
    from recipes.generate import SMOKE_CHARACTERS
    from zoo.data.corpus import load_text_corpus
    from zoo.data.pipelines import lm_batches
    from zoo.tokenizers import CharacterPreprocessor, save_characters, train_characters

    train, validation = load_text_corpus(spec, validation_fraction=0.1)
    if smoke:
        train, validation = train[: SMOKE_CHARACTERS[0]], validation[: SMOKE_CHARACTERS[1]]
    path = pathlib.Path(out) / "scaling_characters.txt"
    save_characters(train_characters([train]), path)
    preprocessor = CharacterPreprocessor(str(path), sequence_length=sequence_length)
    bos = preprocessor.cls_id  # [CLS] is the BOS of CausalLM too

    def encode(text):
        return preprocessor.tokenize([text]).flat_values.numpy()

    print(
        f"scaling data {spec}: {len(train):,} training / {len(validation):,} validation characters, "
        f"{preprocessor.vocabulary_size} symbols",
        flush=True,
    )
    return (
        lm_batches(encode(train), sequence_length, batch_size, bos_token_id=bos, shuffle=True, seed=0),
        lm_batches(encode(validation), sequence_length, batch_size, bos_token_id=bos),
        preprocessor.vocabulary_size,
    )


def scaling_section(rows, out):
    plot_lines(
        rows,
        "parameters",
        "validation_loss",
        out / "scaling.png",
        log_x=True,
        title="validation loss vs parameters",
        xlabel="parameters",
        ylabel="validation loss (nats / character)",
    )
    return [
        "## 4. Scaling",
        "",
        f"Character-level language modelling on `{rows[0]['data']}`, every model trained on the same "
        f"{rows[0]['train_tokens']:,} tokens:",
        "",
        markdown_table(
            rows,
            [
                ("architecture", "architecture"),
                ("width", "width"),
                ("parameters", "parameters"),
                ("validation_loss", "validation loss"),
                ("train_seconds", "training s"),
            ],
        ),
        "",
        "![scaling](scaling.png)",
        "",
    ]
