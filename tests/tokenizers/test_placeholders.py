"""Placeholder protection: Python and in-graph masking agree, restoring gives the source's directives back exactly."""

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.metrics.placeholders import placeholders_exact
from zoo.tokenizers.placeholders import (
    MAX_SENTINELS,
    mask_pair,
    mask_placeholders,
    mask_placeholders_graph,
    restore_placeholders,
    restore_placeholders_graph,
)

TRICKY = [
    "Could not open %s: %(reason)s",
    "100%% done, %d of %d",
    "%%s is literal, {{0}} too, {} and {name!r:>10} are not",
    "%1$s owns %2$d files",
    "",
    "no directives at all",
    "%s%s%s",
    "{0}{1}{0}",
    "⟦0⟧ already looks like a sentinel",
    "Ünïcödé %-5.2f → %lu bytes, ½ %c",
    "%" + "s" * 3 + " " + "%s " * 20,  # more directives than sentinels
]


mask_graph = tf.function(mask_placeholders_graph)
restore_graph = tf.function(restore_placeholders_graph)


def graph_mask(texts):
    masked, kept = mask_graph(tf.constant(texts, dtype=tf.string))
    return [text.decode() for text in masked.numpy()], [[item.decode() for item in row] for row in kept.to_list()]


def test_python_masking_numbers_directives_and_leaves_literals():
    assert mask_placeholders("Could not open %s: %(reason)s") == ("Could not open ⟦0⟧: ⟦1⟧", ["%s", "%(reason)s"])
    assert mask_placeholders("100%% of {0} and %%s {{x}}") == ("100%% of ⟦0⟧ and %%s {{x}}", ["{0}"])
    masked, kept = mask_placeholders("%s " * (MAX_SENTINELS + 2))
    assert len(kept) == MAX_SENTINELS and masked.endswith("⟦15⟧ %s %s ")


def test_pairs_share_sentinels_by_directive_text():
    assert mask_pair("%s of %d files", "%d de %s archivos") == ("⟦0⟧ of ⟦1⟧ files", "⟦1⟧ de ⟦0⟧ archivos")
    assert mask_pair("%s: %s", "%s : %s") == ("⟦0⟧: ⟦1⟧", "⟦0⟧ : ⟦1⟧")
    assert mask_pair("Open %s", "Abrir %d") == ("Open ⟦0⟧", "Abrir %d")  # a directive the source lacks stays


@pytest.mark.parametrize(
    "output, restored, ok",
    [
        ("No se pudo abrir ⟦0⟧: ⟦1⟧", "No se pudo abrir %s: %(reason)s", True),
        ("⟦1⟧ — ⟦0⟧", "%(reason)s — %s", True),  # a named directive may move
        ("No se pudo abrir ⟦0⟧", "No se pudo abrir %s", False),  # lost one
        ("⟦0⟧ ⟦0⟧ ⟦1⟧", "%s %s %(reason)s", False),  # duplicated one
        ("⟦0⟧ ⟦1⟧ ⟦7⟧", "%s %(reason)s ", False),  # one the source does not have
    ],
)
def test_restore_puts_the_source_text_back_and_says_when_it_cannot(output, restored, ok):
    kept = ["%s", "%(reason)s"]
    assert restore_placeholders(output, kept) == (restored, ok)
    texts, oks = restore_graph(tf.constant([output]), tf.ragged.constant([kept], dtype=tf.string))
    assert (texts.numpy()[0].decode(), bool(oks.numpy()[0])) == (restored, ok)


def test_in_order_directives_must_keep_their_order():
    kept = ["%s", "%d"]
    assert restore_placeholders("⟦1⟧ ⟦0⟧", kept) == ("%d %s", False)
    assert restore_placeholders("⟦1⟧ ⟦0⟧", ["%1$s", "%2$d"]) == ("%2$d %1$s", True)
    texts, oks = restore_graph(
        tf.constant(["⟦1⟧ ⟦0⟧", "⟦1⟧ ⟦0⟧", "sin nada", ""]),
        tf.ragged.constant([kept, ["%1$s", "%2$d"], [], []], dtype=tf.string),
    )
    assert oks.numpy().tolist() == [False, True, True, True]


def test_graph_masking_equals_python_on_tricky_and_catalog_messages():
    from zoo.data.gettext_catalogs import catalog_paths, read_gettext_pairs

    texts = list(TRICKY)
    if catalog_paths("es"):
        pairs, _ = read_gettext_pairs("es")
        texts += [source for source, _ in pairs[:2000]]
    masked, kept = graph_mask(texts)
    expected = [mask_placeholders(text) for text in texts]
    assert masked == [pair[0] for pair in expected] and kept == [pair[1] for pair in expected]
    # Restoring the masked text itself gives the source back, exactly, with ok; except a source that already
    # holds a sentinel-like "⟦0⟧", which cannot be told from a sentinel: it is flagged, not passed as fine.
    restored, ok = restore_graph(tf.constant(masked), tf.ragged.constant(kept, dtype=tf.string))
    clean = ["⟦" not in text for text in texts]
    assert [text.decode() for text, keep in zip(restored.numpy(), clean) if keep] == [t for t in texts if "⟦" not in t]
    assert ok.numpy().tolist() == clean


FRAGMENTS = ["%s", "%d", "%(n)s", "%1$s", "%%", "{}", "{0}", "{x}", "{{", "}}", "%", "{", "}", "é", " ", "a"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12), st.randoms(use_true_random=False))
def test_graph_restore_equals_python_on_shuffled_sentinels(parts, random):
    text = "".join(parts)
    masked, kept = mask_placeholders(text)
    assert graph_mask([text]) == ([masked], [kept])
    sentinels = [f"⟦{index}⟧" for index in range(len(kept) + 1)]
    output = " ".join(random.choice(sentinels + ["x"]) for _ in range(random.randint(0, 6)))
    expected = restore_placeholders(output, kept)
    got, ok = restore_graph(tf.constant([output]), tf.ragged.constant([kept], dtype=tf.string))
    assert (got.numpy()[0].decode(), bool(ok.numpy()[0])) == expected
    if expected[1]:  # a restorable output keeps the source's directives exactly
        assert placeholders_exact(text, expected[0])
