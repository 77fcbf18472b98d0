"""Tests for zoo.metrics BLEU/chrF, ROUGE, lead baseline and perplexity."""

import json
import math

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import CHRF

from zoo.metrics import bleu, lead_baseline, perplexity, rouge, typical_length

HYPOTHESIS = "the cat sat on the mat"
REFERENCE = "the cat sat on a mat"
# Clipped n-gram matches / hypothesis n-grams (13a leaves these words as is):
#   1-grams: the (clipped to 1 of 2), cat, sat, on, mat  -> 5 / 6
#   2-grams: the cat, cat sat, sat on  (not "on the", "the mat") -> 3 / 5
#   3-grams: the cat sat, cat sat on     -> 2 / 4
#   4-grams: the cat sat on              -> 1 / 3
PRECISIONS = [100 * 5 / 6, 100 * 3 / 5, 100 * 2 / 4, 100 * 1 / 3]
# Equal lengths (6 and 6): brevity penalty 1; BLEU = geometric mean.
BLEU = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** (1 / 4)


# --- BLEU and chrF ---------------------------------------------------------


def test_identical_text_scores_100():
    report = bleu(
        [REFERENCE, "a second, longer sentence to score"],
        [REFERENCE, "a second, longer sentence to score"],
    )
    assert report["bleu"] == pytest.approx(100.0)
    assert report["chrf"] == pytest.approx(100.0)
    assert report["precisions"] == pytest.approx([100.0] * 4)
    assert report["brevity_penalty"] == pytest.approx(1.0)
    assert report["num_sentences"] == 2


def test_bleu_matches_hand_computed_precisions():
    report = bleu([HYPOTHESIS], [REFERENCE])
    assert report["precisions"] == pytest.approx(PRECISIONS)
    assert report["brevity_penalty"] == pytest.approx(1.0)
    assert report["bleu"] == pytest.approx(BLEU)
    assert 0 < report["chrf"] < 100


def test_brevity_penalty_is_hand_computed():
    # 5 hypothesis tokens, 6 reference tokens: all n-grams match, BP = exp(1 - 6/5).
    report = bleu(["the cat sat on the"], ["the cat sat on the mat"])
    assert report["precisions"] == pytest.approx([100.0] * 4)
    assert report["brevity_penalty"] == pytest.approx(math.exp(-0.2))
    assert report["bleu"] == pytest.approx(100 * math.exp(-0.2))
    assert (report["hypothesis_length"], report["reference_length"]) == (5, 6)


@pytest.mark.parametrize(
    "lowercase, tokenize",
    [(False, "13a"), (True, "13a"), (False, "char"), (True, "intl")],
)
def test_bleu_passes_options_through_to_sacrebleu(lowercase, tokenize):
    hypotheses = ["The Cat sat on the mat.", "It rained, all day long!"]
    references = ["the cat sat on a mat.", "It rained all day."]
    report = bleu(hypotheses, references, lowercase=lowercase, tokenize=tokenize)
    expected_bleu = sacrebleu.corpus_bleu(hypotheses, [references], lowercase=lowercase, tokenize=tokenize)
    expected_chrf = CHRF(lowercase=lowercase).corpus_score(hypotheses, [references])
    assert report["bleu"] == pytest.approx(expected_bleu.score)
    assert report["precisions"] == pytest.approx(expected_bleu.precisions)
    assert report["chrf"] == pytest.approx(expected_chrf.score)
    assert f"tok:{tokenize}" in report["bleu_signature"]
    assert ("case:lc" if lowercase else "case:mixed") in report["bleu_signature"]
    assert ("case:lc" if lowercase else "case:mixed") in report["chrf_signature"]


def test_lowercase_ignores_case_only_when_asked():
    hypotheses = ["The Cat Sat On The Mat"]
    assert bleu(hypotheses, [HYPOTHESIS], lowercase=True)["bleu"] == pytest.approx(100.0)
    assert bleu(hypotheses, [HYPOTHESIS], lowercase=True)["chrf"] == pytest.approx(100.0)
    assert bleu(hypotheses, [HYPOTHESIS])["bleu"] < 50.0
    assert bleu(hypotheses, [HYPOTHESIS])["chrf"] < 100.0


def test_multiple_references_are_paired_with_their_hypothesis():
    # Each hypothesis equals its own *second* reference.
    hypotheses = ["the quick brown fox jumps", "a slow green turtle walks"]
    references = [
        ["completely different words here", "the quick brown fox jumps"],
        ["nothing in common at all", "a slow green turtle walks"],
    ]
    report = bleu(hypotheses, references)
    assert report["bleu"] == pytest.approx(100.0)
    assert report["chrf"] == pytest.approx(100.0)
    assert "nrefs:2" in report["bleu_signature"]
    # The same reference lists given to the wrong hypotheses score far lower.
    assert bleu(hypotheses, references[::-1])["bleu"] < 10.0
    # sacrebleu's own layout (streams[k][i]: k-th reference of sentence i).
    streams = [list(refs) for refs in zip(*references)]
    assert report["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, streams).score)


def test_variable_number_of_references():
    hypotheses = ["the quick brown fox jumps", "a slow green turtle walks"]
    references = [
        ["the quick brown fox jumps"],
        ["nothing in common at all", "x", "a slow green turtle walks"],
    ]
    report = bleu(hypotheses, references)
    assert report["bleu"] == pytest.approx(100.0)
    assert report["chrf"] == pytest.approx(100.0)
    assert "nrefs:var" in report["bleu_signature"]


def test_single_reference_strings_equal_one_element_lists():
    hypotheses = [HYPOTHESIS, "it rained all day"]
    references = [REFERENCE, "it rained for the whole day"]
    assert bleu(hypotheses, references) == bleu(hypotheses, [[ref] for ref in references])


def test_bleu_report_is_plain_json():
    report = bleu([HYPOTHESIS], [REFERENCE])
    assert json.loads(json.dumps(report)) == report
    assert type(report["bleu"]) is float
    assert type(report["num_sentences"]) is int
    assert all(type(p) is float for p in report["precisions"])


@pytest.mark.parametrize(
    "hypotheses, references, message",
    [
        (["a", "b"], ["a"], "2 hypotheses and 1 references"),
        ([], [], "non-empty"),
        ("a b c", ["a b c"], "list of strings, not one string"),
        (["a"], "a", "not one string"),
        ([3], ["a"], "hypotheses must hold strings; received int at index 0"),
        (
            ["a"],
            [None],
            r"references\[0\] must be a string or a list of strings; received None",
        ),
        (
            ["a", "b"],
            [["a"], None],
            r"references\[1\] must be a string or a list of strings",
        ),
        (["a", "b"], ["a", ["b"]], "received a mix"),
        (["a"], [[]], r"references\[0\] is empty"),
        (
            ["a"],
            [["a", 5]],
            r"references\[0\] must hold strings; received int at index 1",
        ),
    ],
)
def test_bleu_rejects_bad_inputs(hypotheses, references, message):
    with pytest.raises(ValueError, match=message):
        bleu(hypotheses, references)


def test_bleu_rejects_unknown_tokenizer():
    with pytest.raises(ValueError, match="tokenize must be one of .*received tokenize='moses'"):
        bleu(["a"], ["a"], tokenize="moses")


# --- ROUGE -----------------------------------------------------------------


def test_rouge1_matches_hand_computed_overlap():
    # Prediction: 6 tokens, reference: 7 tokens ("the cat was sitting on a mat").
    # Clipped unigram overlap: the (1 of 2), cat, on, mat -> 4.
    report = rouge(
        [HYPOTHESIS],
        ["the cat was sitting on a mat"],
        metrics=["rouge1"],
        use_stemmer=False,
    )
    precision, recall = 4 / 6, 4 / 7
    assert report["rouge1"] == pytest.approx(
        {
            "precision": 100 * precision,
            "recall": 100 * recall,
            "fmeasure": 100 * 2 * precision * recall / (precision + recall),
        }
    )
    assert report["num_examples"] == 1


def test_rouge_stemming_matches_inflections():
    # Stemmed: the cat were run / the cat run -> overlap the, cat, run.
    prediction, reference = ["the cats were running"], ["the cat runs"]
    stemmed = rouge(prediction, reference, metrics=["rouge1"], use_stemmer=True)["rouge1"]
    plain = rouge(prediction, reference, metrics=["rouge1"], use_stemmer=False)["rouge1"]
    assert (stemmed["precision"], stemmed["recall"]) == pytest.approx((100 * 3 / 4, 100.0))
    assert (plain["precision"], plain["recall"]) == pytest.approx((100 * 1 / 4, 100 * 1 / 3))


def test_rouge_averages_over_examples_and_reports_each_metric():
    report = rouge(["a b c d", "x y"], ["a b c d", "p q"])
    assert set(report) == {"rouge1", "rouge2", "rougeL", "num_examples"}
    for name in ("rouge1", "rouge2", "rougeL"):
        assert report[name]["fmeasure"] == pytest.approx(50.0)  # (100 + 0) / 2
    assert report["num_examples"] == 2
    assert json.loads(json.dumps(report)) == report


def test_rouge_multiple_references_take_the_best():
    report = rouge(["a b c d"], [["x y", "a b c d"]], metrics=["rouge2"])
    assert report["rouge2"]["fmeasure"] == pytest.approx(100.0)


def test_rouge_lsum_splits_sentences_on_newlines():
    report = rouge(["b c\na d"], ["a d\nb c"], metrics=["rougeL", "rougeLsum"])
    assert report["rougeLsum"]["fmeasure"] == pytest.approx(100.0)
    assert report["rougeL"]["fmeasure"] < 100.0


@pytest.mark.parametrize(
    "metrics, message",
    [
        ("rouge1", "non-empty list of ROUGE names"),
        ((), "non-empty list of ROUGE names"),
        (["rouge1", "rougeW"], "received 'rougeW'"),
        (["rouge0"], "received 'rouge0'"),
        (["rouge1", "rouge1"], "must not repeat"),
    ],
)
def test_rouge_rejects_bad_metric_names(metrics, message):
    with pytest.raises(ValueError, match=message):
        rouge(["a"], ["a"], metrics=metrics)


def test_rouge_rejects_bad_inputs():
    with pytest.raises(ValueError, match="1 predictions and 2 references"):
        rouge(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="predictions must hold strings"):
        rouge([b"a"], ["a"])


# --- lead baseline and lengths ----------------------------------------------


@pytest.mark.parametrize(
    "document, summary",
    [
        ("First sentence here. Second one! Third?", "First sentence here."),
        ("Is it over? Yes, it is.", "Is it over?"),
        ("Stop!\tNow go.", "Stop!"),
        ("Headline without a stop\nBody text. More text.", "Headline without a stop"),
        ("\n\n  Leading blank lines. Then more.", "Leading blank lines."),
        ("Prices rose 3.5 percent. Then fell.", "Prices rose 3.5 percent."),
        ("no punctuation at all", "no punctuation at all"),
        ("  ", ""),
        # No abbreviation list: a period before whitespace always ends a sentence.
        ("Dr. Smith arrived. Then left.", "Dr."),
    ],
)
def test_lead_baseline_takes_first_sentence(document, summary):
    assert lead_baseline([document]) == [summary]


def test_lead_baseline_truncates_to_max_words():
    documents = ["one two three four five. six seven.", "short one. next", "a  b\tc d"]
    assert lead_baseline(documents, max_words=3) == [
        "one two three",
        "short one.",
        "a b c",
    ]
    # Whitespace inside the sentence collapses to single spaces.
    assert lead_baseline(documents, max_words=100) == [
        "one two three four five.",
        "short one.",
        "a b c d",
    ]
    assert lead_baseline(documents) == lead_baseline(documents, max_words=100)
    assert lead_baseline([], max_words=3) == []


@pytest.mark.parametrize("max_words", [0, -1, 2.5, True, "3"])
def test_lead_baseline_rejects_bad_max_words(max_words):
    with pytest.raises(ValueError, match=f"positive integer; received max_words={max_words!r}"):
        lead_baseline(["a b."], max_words=max_words)


def test_lead_baseline_rejects_non_strings():
    with pytest.raises(ValueError, match="documents must hold strings; received NoneType at index 1"):
        lead_baseline(["a.", None])
    with pytest.raises(ValueError, match="not one string"):
        lead_baseline("a. b.")


def test_typical_length_is_the_median_word_count():
    assert typical_length(["a b c", "a", "a b c d e"]) == 3
    assert typical_length(["a b c", "a b c d"]) == 4  # 3.5 rounds half up
    assert typical_length(["a", "a b", "x y z w", "p q r s t u"]) == 3  # median of 1, 2, 4, 6
    assert typical_length(["  spaced \n out\ttext "]) == 3
    with pytest.raises(ValueError, match="received 0 texts"):
        typical_length([])


def test_typical_length_feeds_lead_baseline():
    synopses = ["two words", "three whole words", "four words in all"]
    max_words = typical_length(synopses)
    assert lead_baseline(["one two three four five six. seven."], max_words=max_words) == ["one two three"]


# --- perplexity -------------------------------------------------------------


def test_perplexity_is_exp_of_nats():
    assert perplexity(math.log(2)) == pytest.approx(2.0)
    assert perplexity(0.0) == 1.0
    assert perplexity(np.float32(math.log(50))) == pytest.approx(50.0, rel=1e-6)
    assert type(perplexity(np.float32(1.0))) is float


def test_perplexity_overflows_to_inf():
    assert perplexity(1000.0) == math.inf
    assert perplexity(math.inf) == math.inf


@pytest.mark.parametrize(
    "value, message",
    [
        (-0.1, "non-negative number of nats; received -0.1"),
        (math.nan, "received nan"),
        ("abc", "must be a number; received 'abc'"),
        (None, "must be a number; received None"),
    ],
)
def test_perplexity_rejects_bad_values(value, message):
    with pytest.raises(ValueError, match=message):
        perplexity(value)
