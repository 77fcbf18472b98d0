"""Train a translator (Transformer or LSTM encoder-decoder), report BLEU/chrF, export text-to-text models.

    python -m recipes.translate                                  # English -> Spanish, gettext catalogs
    python -m recipes.translate --data builtin:gettext-fr        # any installed gettext language
    python -m recipes.translate --data parallel:../shared/data/multi30k/train \\
        --test-data parallel:../shared/data/multi30k/val \\
        --source-language de --target-language en               # Multi30k German -> English
    python -m recipes.translate --data tsv:../shared/data/spa-eng/spa-eng.tsv.gz   # en -> es (--reverse: es -> en)
    python -m recipes.translate --data tfds:ted_hrlr_translate/pt_to_en   # online
    python -m recipes.translate --architecture lstm               # LSTM encoder-decoder with attention
    python -m recipes.translate --smoke --out /tmp/translate-smoke

The default data are the human translations of software messages that ship
in the machine's gettext catalogs (/usr/share/locale/es*/LC_MESSAGES/*.mo).
Learns one SentencePiece model per language on the training split, drops
training pairs longer than the sequence lengths, trains a Seq2SeqLM with
label smoothing, then translates every distinct held-out source (greedy, or
beam search with --num-beams) and reports sacreBLEU and chrF against all of
its references, and how many of the held-out sources with format
placeholders (`%s`, `%(name)s`, `{0}`), markup or accelerators (`_File`)
get them back exactly (`zoo.metrics.placeholders`). Writes into --out: config.json, source.model/target.model
(+ *_vocabulary.txt), history.csv/png, metrics.json (scores, samples,
exports), model.keras, generation.json (special ids for apps),
saved_model/1/ (strings in, translations out, the decoding loop inside),
model.tflite (the same single call on device), model_encode_decode.tflite
and model_encode_decode_ids.tflite (encoder + cached decode-step signatures
an app loops over), each checked against Keras. With `--architecture lstm`
(an `LSTMSeq2Seq`, presets tiny/small) the data, tokenizers, training,
evaluation and exports are the same, except that there is no
model_encode_decode_ids.tflite and the encode/decode pair passes LSTM
states instead of a KV cache.
"""

import dataclasses

from recipes.seq2seq_common import Seq2SeqConfig, Task, run
from zoo.metrics import bleu
from zoo.metrics.placeholders import exactness
from zoo.training import parse_config
from zoo.training.cli import run_main


@dataclasses.dataclass
class Config(Seq2SeqConfig):
    out: str = dataclasses.field(default="saved_models/translate", metadata={"help": "run folder"})


def evaluate(hypotheses, sources, references):
    scores = bleu(hypotheses, references)
    metrics = {key: scores[key] for key in ("bleu", "chrf", "bleu_signature", "chrf_signature", "brevity_penalty")}
    return {**metrics, "exactness": exactness(sources, hypotheses)}


def headline(metrics):
    """BLEU, chrF, and the share of held-out messages whose placeholders / markup / accelerators came back exactly."""
    kept = []
    for kind, entry in metrics.get("exactness", {}).items():
        if kind != "lost_placeholders" and entry["messages"]:
            kept.append(f"{kind} {entry['share']:.1f}% of {entry['messages']}")
    exact = f"  exact: {', '.join(kept)}" if kept else ""
    return f"held-out BLEU {metrics['bleu']:.1f}  chrF {metrics['chrf']:.1f}{exact}"


TASK = Task(name="translate", evaluate=evaluate, headline=headline)


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.translate")
    return run(cfg, TASK)


if __name__ == "__main__":
    run_main(main)
