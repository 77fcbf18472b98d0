"""Placeholder protection: format directives become numbered sentinels before tokenization, and come back after.

    masked, kept = mask_placeholders("Could not open %s: %(reason)s")
    # masked == "Could not open ⟦0⟧: ⟦1⟧", kept == ["%s", "%(reason)s"]
    restore_placeholders("No se pudo abrir ⟦0⟧: ⟦1⟧", kept)  # ("No se pudo abrir %s: %(reason)s", True)

A translator trained on masked pairs only has to copy `⟦k⟧` tokens, and the
restoring step puts back the source's own directive text, byte for byte:
whatever the model does to a sentinel, it can never emit a changed `%d` or
`{name}`. Restoring reports whether the output used every sentinel exactly
once, and the directives that are taken in order (`%s`, `{}`) in their
order (`zoo.metrics.placeholders`' rule); when not, the caller says so
instead of shipping a broken string.

The same masking runs in Python (`mask_placeholders`, for training pairs)
and in the TensorFlow graph (`mask_placeholders_graph` /
`restore_placeholders_graph`, for the SavedModel and TFLite signatures). The
graph uses core TensorFlow string ops only (RegexReplace, StringSplit,
ReduceJoin), so it runs wherever the model's string ops run. `%%`, `{{` and
`}}` are literal characters and stay as they are.
"""

import re

from zoo.metrics.placeholders import BRACE, PRINTF

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧: NFKC-stable, absent from software messages
MAX_SENTINELS = 16  # sentinels ⟦0⟧..⟦15⟧ (a tokenizer can hold each as one piece)
SENTINELS = tuple(f"{OPEN}{index}{CLOSE}" for index in range(MAX_SENTINELS))
# Literals first: at "%%s" the leftmost-first match is the literal "%%", as printf reads it.
_LITERAL = r"%%|\{\{|\}\}"
DIRECTIVE = f"{_LITERAL}|{PRINTF.pattern}|{BRACE.pattern}"
_DIRECTIVE = re.compile(DIRECTIVE)
_UNNAMED = re.compile(r"%[^$(]*|\{(?:[!:][^{}]*)?\}")  # directives that take their argument in order
_SENTINEL = re.compile(f"{OPEN}(\\d+){CLOSE}")
_MARK = "\x01"  # never in text (a control character that tokenizers drop)


def mask_placeholders(text):
    """`(masked text, directives)`: each directive (not `%%`, `{{`, `}}`) replaced by `⟦k⟧`, k counting from 0.

    Directives past the `MAX_SENTINELS`-th stay as they are (the model then has to copy them as text).
    """
    kept = []

    def replace(match):
        token = match.group(0)
        if token in ("%%", "{{", "}}") or len(kept) >= MAX_SENTINELS:
            return token
        kept.append(token)
        return SENTINELS[len(kept) - 1]

    return _DIRECTIVE.sub(replace, text), kept


def mask_pair(source, target):
    """A training pair with the source's directives masked, and the target's equal ones given the same sentinels.

    The target's directives are matched to the source's by text, in order (the first `%s` of the target takes
    the first `%s` sentinel of the source). A target directive the source lacks stays as text.
    """
    masked_source, kept = mask_placeholders(source)
    free = {}
    for index, token in enumerate(kept):
        free.setdefault(token, []).append(index)

    def replace(match):
        token = match.group(0)
        if free.get(token):
            return SENTINELS[free[token].pop(0)]
        return token

    return masked_source, _DIRECTIVE.sub(replace, target)


def restore_placeholders(text, kept):
    """`(text with ⟦k⟧ -> kept[k], ok)`; ok: every sentinel used once, in-order directives in order."""
    used = [int(match.group(1)) for match in _SENTINEL.finditer(text)]
    restored = _SENTINEL.sub(lambda match: kept[int(match.group(1))] if int(match.group(1)) < len(kept) else "", text)
    return restored, _restorable(used, kept)


def _restorable(used, kept):
    if sorted(used) != list(range(len(kept))):
        return False
    ordered = [index for index in used if _UNNAMED.fullmatch(kept[index])]
    return ordered == sorted(ordered)


# ------------------------------------------------------------------ in the graph


def _split_marked(texts, pattern, rewrite):
    """Ragged pieces of each text around the matches of `pattern` (odd positions are the matches)."""
    import tensorflow as tf

    marked = tf.strings.regex_replace(texts, pattern, f"{_MARK}{rewrite}{_MARK}")
    return tf.strings.split(marked, _MARK)


def _odd_positions(pieces):
    import tensorflow as tf

    positions = tf.ragged.range(pieces.row_lengths())
    return tf.equal(positions % 2, 1)


def mask_placeholders_graph(texts):
    """`mask_placeholders` over a `(B,)` string tensor: `(masked (B,), directives ragged (B, None))`."""
    import tensorflow as tf

    pieces = _split_marked(texts, DIRECTIVE, r"\0")
    literal = tf.ragged.map_flat_values(lambda flat: tf.strings.regex_full_match(flat, _LITERAL), pieces)
    directive = tf.logical_and(_odd_positions(pieces), tf.logical_not(literal))
    number = tf.cumsum(tf.cast(directive, tf.int64), axis=1) - 1
    directive = tf.logical_and(directive, number < MAX_SENTINELS)
    sentinel = tf.strings.join([OPEN, tf.strings.as_string(number), CLOSE])
    masked = tf.strings.reduce_join(tf.where(directive, sentinel, pieces), axis=1)
    return masked, tf.ragged.boolean_mask(pieces, directive)


def restore_placeholders_graph(texts, kept):
    """`restore_placeholders` over `(B,)` outputs and the ragged directives of their sources: `(restored, ok)`."""
    import tensorflow as tf

    pieces = _split_marked(texts, f"{OPEN}(\\d+){CLOSE}", r"\1")
    odd = _odd_positions(pieces)
    index = tf.where(odd, tf.strings.to_number(tf.where(odd, pieces, "0"), tf.int64), tf.constant(-1, tf.int64))
    counts = tf.cast(kept.row_lengths(), tf.int64)
    valid = tf.logical_and(odd, index < tf.expand_dims(counts, 1))
    missing = tf.size(kept.flat_values, tf.int64)  # the index of the "" appended below
    flat_index = tf.where(valid, tf.expand_dims(kept.row_starts(), 1) + index, missing)
    lookup = tf.gather(tf.concat([kept.flat_values, [""]], 0), flat_index)
    restored = tf.strings.reduce_join(tf.where(odd, lookup, pieces), axis=1)

    # ok: the used sentinels are exactly 0..n-1 once each, and the in-order directives keep their order.
    used = tf.ragged.boolean_mask(index, odd)
    big = tf.int64.max
    width = tf.reduce_max(tf.concat([used.row_lengths(), counts, [0]], 0))
    shape = tf.stack([tf.shape(counts, out_type=tf.int64)[0], width])
    sorted_used = tf.sort(used.to_tensor(default_value=big, shape=shape), axis=1)
    expected = tf.ragged.range(counts).to_tensor(default_value=big, shape=shape)
    permutation = tf.reduce_all(tf.equal(sorted_used, expected), axis=1)
    unnamed = tf.strings.regex_full_match(tf.concat([kept.flat_values, [""]], 0), _UNNAMED.pattern)
    in_range = tf.logical_and(used >= 0, used < tf.expand_dims(counts, 1))
    used_flat = tf.where(in_range, tf.expand_dims(kept.row_starts(), 1) + used, missing)
    ordered = tf.ragged.boolean_mask(used, tf.gather(unnamed, used_flat)).to_tensor(default_value=big)
    increasing = tf.reduce_all(ordered[:, 1:] >= ordered[:, :-1], axis=1)
    return restored, tf.logical_and(permutation, increasing)
