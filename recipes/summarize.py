"""Train a summarizer (Transformer or LSTM encoder-decoder), report ROUGE against the lead baseline, export.

    python -m recipes.summarize                                   # docstrings of the installed Python code
    python -m recipes.summarize --data builtin:debian-descriptions  # Debian package descriptions
    python -m recipes.summarize --data jsonl:articles.jsonl       # {"source": TEXT, "target": SUMMARY}
    python -m recipes.summarize --data tfds:cnn_dailymail --source-length 512   # online
    python -m recipes.summarize --init none --freeze none --epochs 8   # from scratch (SentencePiece, --preset)
    python -m recipes.summarize --init path/to/bart-dir            # fine-tune a BART / Marian checkpoint
    python -m recipes.summarize --architecture lstm --init none --freeze none   # LSTM with attention
    python -m recipes.summarize --smoke --out /tmp/summarize-smoke

The default data, there on every machine after `make`, are the PEP 257
docstrings of the standard library and the installed packages
(`zoo.data.docstrings`): the description is the source, the summary line the
summary. `builtin:debian-descriptions` reads the English package descriptions
of the machine's apt lists instead (long description -> synopsis; `apt-get
update -o Acquire::Languages=en` fetches them). By default the model is
warm-started from the packaged MiniLM (`Seq2SeqLM.from_encoder_checkpoint`:
encoder and decoder blocks from all-MiniLM-L6-v2, new cross-attention, its
WordPiece vocabulary on both sides) and fine-tuned for one epoch with the
encoder frozen (`--freeze`: 1.8x fewer CPU seconds per step than training
everything); `--init none` learns one SentencePiece model per side and
trains `--preset` from scratch. Sources beyond --source-length are
truncated, targets beyond --target-length dropped. It summarizes every distinct held-out source
and reports ROUGE-1/2/L F-measures (rouge-score, stemmed, best over the
references of a source) next to the lead baseline: the source's first
sentence cut to the references' median length in words. Writes the same
run folder as `recipes.translate` (SavedModel strings in, summaries out;
TFLite single call and encode/decode).
"""

import dataclasses

from recipes.common import option
from recipes.seq2seq_common import Seq2SeqConfig, Task, run
from zoo.metrics import lead_baseline, rouge, typical_length
from zoo.training import parse_config
from zoo.training.cli import run_main


@dataclasses.dataclass
class Config(Seq2SeqConfig):
    data: str = dataclasses.field(
        default="builtin:python-docstrings",
        metadata={
            "help": "builtin:python-docstrings, builtin:debian-descriptions, jsonl:, tsv:, csv:, parallel:, tfds:"
        },
    )
    # The defaults fit about an hour on 2 CPU cores (README): MiniLM warm start, encoder frozen, one epoch.
    init: str | None = option("minilm", "minilm or a BERT dir (warm start), a BART/Marian dir; none: --preset")
    freeze: str = option("encoder", "none, embeddings or encoder (its embeddings too): kept fixed in training")
    source_length: int | None = option(64, "source tokens (longer are cut)")
    target_length: int | None = option(24, "summary tokens incl. BOS")
    epochs: int = 1
    warmup_epochs: int = 0
    learning_rate: float = option(2e-4, "peak learning rate (AdamW)")
    out: str = dataclasses.field(default="saved_models/summarize", metadata={"help": "run folder"})


def _f_measures(scores):
    return {name: round(scores[name]["fmeasure"], 2) for name in ("rouge1", "rouge2", "rougeL")}


def evaluate(hypotheses, sources, references):
    model_scores = _f_measures(rouge(hypotheses, references))
    words = typical_length([reference for group in references for reference in group])
    lead_scores = _f_measures(rouge(lead_baseline(sources, max_words=words), references))
    return {**model_scores, "lead_baseline": {**lead_scores, "max_words": words}}


def headline(metrics):
    lead = metrics["lead_baseline"]
    return (
        f"held-out ROUGE-1/2/L {metrics['rouge1']:.1f} / {metrics['rouge2']:.1f} / {metrics['rougeL']:.1f}"
        f"   (lead baseline, {lead['max_words']} words: "
        f"{lead['rouge1']:.1f} / {lead['rouge2']:.1f} / {lead['rougeL']:.1f})"
    )


TASK = Task(
    name="summarize",
    evaluate=evaluate,
    headline=headline,
    # --smoke trains the tiny preset from scratch (seconds); --smoke --init DIR a checkpoint.
    smoke_overrides=dict(source_length=64, init=None, freeze="none"),
    truncate_sources=True,
)


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.summarize")
    return run(cfg, TASK)


if __name__ == "__main__":
    run_main(main)
