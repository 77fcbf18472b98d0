"""Translation, summarization and language-modelling metrics.

Scores come from the field's reference implementations, never from code of
our own: `sacrebleu` for BLEU and chrF, Google's `rouge-score` for ROUGE.
Every function returns plain, JSON-serializable Python values.
"""

import math
import re
import statistics

_ROUGE_TYPE = re.compile(r"rouge[1-9]|rougeL|rougeLsum")
# A sentence ends at `.`, `!` or `?` followed by whitespace (the punctuation
# stays with the sentence), or at a newline.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")


def _check_texts(texts, name):
    """Returns `texts` as a list of strings, or raises a ValueError."""
    if isinstance(texts, str):
        raise ValueError(f"{name} must be a list of strings, not one string; received {texts!r:.60}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{name} must hold strings; received {type(text).__name__} at index {i}: {text!r:.60}")
    return texts


def _check_pairs(hypotheses, references, hypotheses_name):
    """Returns `hypotheses, references` with one list of references per hypothesis.

    `references` is either a list of strings (one reference per hypothesis)
    or a list of lists of strings (one or more references per hypothesis).
    """
    hypotheses = _check_texts(hypotheses, hypotheses_name)
    if isinstance(references, str):
        raise ValueError(
            f"references must be a list of strings or of lists of strings, not one string; received {references!r:.60}"
        )
    references = list(references)
    if not hypotheses or len(hypotheses) != len(references):
        raise ValueError(
            f"{hypotheses_name} and references must be non-empty and of equal length; "
            f"received {len(hypotheses)} {hypotheses_name} and {len(references)} references"
        )
    multiple = isinstance(references[0], (list, tuple))
    paired = []
    for i, item in enumerate(references):
        if not isinstance(item, (str, list, tuple)):
            raise ValueError(
                f"references[{i}] must be a string or a list of strings; received {type(item).__name__}: {item!r:.60}"
            )
        if multiple != isinstance(item, (list, tuple)):
            raise ValueError(
                "references must be all strings (one per hypothesis) or all lists of strings "
                f"(several per hypothesis); received a mix, e.g. {item!r:.60} at index {i}"
            )
        item = _check_texts(item, f"references[{i}]") if multiple else [item]
        if not item:
            raise ValueError(f"every hypothesis needs at least one reference; references[{i}] is empty")
        paired.append(item)
    return hypotheses, paired


def bleu(hypotheses, references, *, lowercase=False, tokenize="13a"):
    """Corpus BLEU and chrF, computed by `sacrebleu`.

    Both scores are on sacrebleu's 0..100 scale, with sacrebleu's defaults
    (BLEU: 4-grams, `exp` smoothing; chrF: character 6-grams, beta=2). Report
    the signatures with the scores: they pin the options and the sacrebleu
    version, so numbers from different runs or papers can be compared.

    Args:
        hypotheses: detokenized system outputs, one string per sentence.
        references: detokenized references, either one string per hypothesis
            or one list of strings per hypothesis (several references; the
            lists may differ in length). `references[i]` always belongs to
            `hypotheses[i]`.
        lowercase: score case-insensitively (BLEU and chrF).
        tokenize: the sacrebleu BLEU tokenizer, e.g. `"13a"` (default for
            WMT), `"intl"`, `"zh"`, `"char"`, `"none"`.

    Returns:
        A dict: `bleu`, `chrf`, `bleu_signature`, `chrf_signature`,
        `precisions` (the four n-gram precisions, 0..100), `brevity_penalty`
        (0..1), `hypothesis_length` and `reference_length` (token counts
        behind the brevity penalty) and `num_sentences`.

    Raises:
        ValueError: the inputs are empty, differ in length, hold something
            other than strings, or `tokenize` is not a sacrebleu tokenizer.
    """
    from sacrebleu.metrics import BLEU, CHRF

    hypotheses, references = _check_pairs(hypotheses, references, "hypotheses")
    if tokenize not in BLEU.TOKENIZERS:
        raise ValueError(f"tokenize must be one of {sorted(BLEU.TOKENIZERS)}; received tokenize={tokenize!r}")
    # sacrebleu wants reference streams: streams[k][i] is the k-th reference
    # of sentence i, with None where sentence i has fewer than k + 1.
    num_streams = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(num_streams)]
    bleu_metric = BLEU(lowercase=lowercase, tokenize=tokenize)
    chrf_metric = CHRF(lowercase=lowercase)
    bleu_score = bleu_metric.corpus_score(hypotheses, streams)
    chrf_score = chrf_metric.corpus_score(hypotheses, streams)
    return {
        "bleu": float(bleu_score.score),
        "chrf": float(chrf_score.score),
        "bleu_signature": str(bleu_metric.get_signature()),
        "chrf_signature": str(chrf_metric.get_signature()),
        "precisions": [float(p) for p in bleu_score.precisions],
        "brevity_penalty": float(bleu_score.bp),
        "hypothesis_length": int(bleu_score.sys_len),
        "reference_length": int(bleu_score.ref_len),
        "num_sentences": len(hypotheses),
    }


def rouge(predictions, references, *, metrics=("rouge1", "rouge2", "rougeL"), use_stemmer=True):
    """Mean ROUGE precision, recall and F-measure, computed by `rouge-score`.

    Scores are percentages (0..100), on the same scale as BLEU; divide by 100
    for the 0..1 scale that `rouge-score` itself reports. `rouge-score`
    lowercases and keeps only `[a-z0-9]` tokens, so it suits English text
    only; `use_stemmer` applies its Porter stemmer. `rougeLsum` treats
    newlines as sentence boundaries. With several references per prediction
    each metric takes the reference with the best F-measure
    (`RougeScorer.score_multi`).

    Args:
        predictions: generated summaries, one string each.
        references: one reference string per prediction, or one list of
            reference strings per prediction.
        metrics: names among `rouge1` .. `rouge9`, `rougeL`, `rougeLsum`.
        use_stemmer: stem words before matching them.

    Returns:
        A dict `metric -> {"precision", "recall", "fmeasure"}`, each the mean
        over predictions in percent, plus `num_examples`.

    Raises:
        ValueError: the inputs are empty, differ in length or hold something
            other than strings, or `metrics` names an unknown ROUGE variant.
    """
    from rouge_score import rouge_scorer

    if isinstance(metrics, str) or not metrics:
        raise ValueError(f"metrics must be a non-empty list of ROUGE names; received metrics={metrics!r}")
    metrics = list(metrics)
    for name in metrics:
        if not isinstance(name, str) or not _ROUGE_TYPE.fullmatch(name):
            raise ValueError(f"metrics must name rouge1 .. rouge9, rougeL or rougeLsum; received {name!r}")
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"metrics must not repeat a name; received metrics={metrics!r}")
    predictions, references = _check_pairs(predictions, references, "predictions")
    scorer = rouge_scorer.RougeScorer(metrics, use_stemmer=use_stemmer)
    # rouge-score takes the reference (target) first.
    scores = [scorer.score_multi(refs, prediction) for prediction, refs in zip(predictions, references)]
    report = {
        name: {
            field: 100.0 * float(statistics.fmean(getattr(score[name], field) for score in scores))
            for field in ("precision", "recall", "fmeasure")
        }
        for name in metrics
    }
    report["num_examples"] = len(predictions)
    return report


def lead_baseline(documents, *, max_words=None):
    """The first sentence of each document: the standard summarization baseline.

    A sentence ends at `.`, `!` or `?` followed by whitespace (the mark is
    kept), or at a newline. No abbreviation list is used, so "Dr. Smith"
    ends a sentence after "Dr.". Whitespace inside the sentence collapses to
    single spaces.

    Args:
        documents: source documents, one string each.
        max_words: if given, keep at most this many whitespace-separated
            words of each first sentence (see `typical_length`).

    Returns:
        A list with one summary string per document ("" for a blank one).

    Raises:
        ValueError: `documents` holds something other than strings, or
            `max_words` is not a positive integer.
    """
    documents = _check_texts(documents, "documents")
    if max_words is not None and (isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1):
        raise ValueError(f"max_words must be None or a positive integer; received max_words={max_words!r}")
    summaries = []
    for document in documents:
        first = _SENTENCE_END.split(document.strip(), maxsplit=1)[0]
        words = first.split()
        if max_words is not None:
            words = words[:max_words]
        summaries.append(" ".join(words))
    return summaries


def typical_length(texts):
    """The median number of whitespace-separated words in `texts`.

    An even count takes the mean of the middle two, rounded half up, e.g.
    lengths 3 and 4 give 4. Use it on reference summaries to choose the
    `max_words` of `lead_baseline`.

    Raises:
        ValueError: `texts` is empty or holds something other than strings.
    """
    texts = _check_texts(texts, "texts")
    if not texts:
        raise ValueError("texts must be non-empty to take a median length; received 0 texts")
    median = statistics.median(len(text.split()) for text in texts)
    return math.floor(median + 0.5)


def perplexity(mean_negative_log_likelihood):
    """Perplexity `exp(nll)` of a mean negative log-likelihood per token.

    The input is in nats per token: the mean of Keras'
    `SparseCategoricalCrossentropy` over real (unpadded) tokens. For bits per
    token use `2 ** bits` instead.

    Returns:
        A float >= 1.0; `inf` when `exp` overflows (nll above ~709.78).

    Raises:
        ValueError: the input is not a number, is negative or is NaN.
    """
    try:
        nll = float(mean_negative_log_likelihood)
    except (TypeError, ValueError):
        raise ValueError(
            f"mean_negative_log_likelihood must be a number; received {mean_negative_log_likelihood!r:.60}"
        ) from None
    if math.isnan(nll) or nll < 0:
        raise ValueError(f"mean_negative_log_likelihood must be a non-negative number of nats; received {nll}")
    try:
        return math.exp(nll)
    except OverflowError:
        return math.inf
