"""Synthetic long-range dependency tasks with the distance under control.

Two kinds, both `[CLS]` followed by random symbols (values `0 .. num_symbols-1`)
of which one or two are *marked* (a marked symbol is a separate token id
carrying the same value):

`"copy"` (copy-the-marked-token): one marked symbol sits exactly `distance`
positions before the end of the sequence (after `margin` random symbols),
and the label is its value:

    [CLS] 3 1 0 *2 0 3 1 ... (distance symbols) ... 2 1      label 2

A left-to-right recurrent reader must carry the value across `distance`
steps to its last state; attention reads it in one step; a convolution with
max-over-time pooling finds the marked token anywhere.

`"pair_sum"`: exactly two symbols are marked, `distance` positions apart at
a random offset. The label is the sum of the
two marked values modulo `num_symbols`:

    [CLS] 3 1 0 2 *1 0 3 ... (distance - 1 symbols) ... 2 *2 1 0 3      label (1 + 2) % 4 = 3

The label depends on two tokens exactly `distance` apart and on nothing
else. Unmarked symbols are drawn from the same values, so the presence of a
value says nothing on its own, and neither marked token alone says anything
about the label: gradient descent gets no first-order signal, and Transformers
and LSTMs learn it slowly (measured: a 2-block d64 Transformer needs
~1,500 steps of 32 at distance 32 to reach 88%, against a few hundred for
`"copy"`). A recurrent model has to carry the first value across `distance`
steps; self-attention connects the two in one step. A Kim-style CNN (one
convolution, max over time) needs neither: the sum is a symmetric function
of the two marked tokens, which max-pooled features of each can express
whatever the distance (measured: 100% at distance 8 after 1,000 steps,
where the Transformer and the LSTMs were still at chance).

    from zoo.data.long_range import long_range_task
    task = long_range_task(2048, distance=128, kind="copy", seed=0)
    task.token_ids.shape, task.labels[:4]     # (2048, 146), e.g. [3 0 1 1]
"""

import dataclasses

import numpy as np

PAD, CLS = 0, 1
FIRST_SYMBOL = 2  # symbol v (0 <= v < num_symbols) is id FIRST_SYMBOL + v; its marked form adds num_symbols


@dataclasses.dataclass
class LongRangeTask:
    """Arrays of one long-range data set (NumPy, int32).

    Attributes:
        token_ids: `(N, length)`, `[CLS]` first, no padding.
        padding_mask: `(N, length)`, all ones (every position is real).
        labels: `(N,)` in `[0, num_symbols)`.
        positions: `(N, 1)` (`"copy"`) or `(N, 2)` (`"pair_sum"`), where the marked symbols are.
        distance, num_symbols, kind: the task's settings.
        vocabulary_size: token ids are in `[0, vocabulary_size)`.
    """

    token_ids: np.ndarray
    padding_mask: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    distance: int
    num_symbols: int
    kind: str = "pair_sum"

    @property
    def vocabulary_size(self):
        return FIRST_SYMBOL + 2 * self.num_symbols

    @property
    def length(self):
        return self.token_ids.shape[1]

    def inputs(self):
        """The model inputs `{"token_ids", "padding_mask"}`."""
        return {"token_ids": self.token_ids, "padding_mask": self.padding_mask}


KINDS = ("copy", "pair_sum")


def task_length(distance, margin=16):
    """Sequence length for `distance`: `[CLS]` + `margin` + the `distance + 1` positions of the span."""
    return 1 + margin + 1 + distance


def long_range_task(num_examples, distance, *, kind="copy", num_symbols=4, margin=16, seed=0):
    """`num_examples` sequences whose label needs a token `distance` positions away.

    Args:
        num_examples: int >= 1.
        distance: int >= 1: for `"copy"`, positions from the marked symbol
            to the last one; for `"pair_sum"`, between the two marked symbols.
        kind: `"copy"` or `"pair_sum"` (see the module docstring).
        num_symbols: int >= 2, symbol values (and classes).
        margin: int >= 0, extra random symbols (`"copy"`: before the marked
            one; `"pair_sum"`: around the marked span, which starts at a
            random offset).
        seed: int; the same arguments always give the same data.

    Returns:
        A `LongRangeTask` of length `task_length(distance, margin)`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}. Received: kind={kind!r}")
    for name, value, least in (
        ("num_examples", num_examples, 1),
        ("distance", distance, 1),
        ("num_symbols", num_symbols, 2),
        ("margin", margin, 0),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}. Received: {name}={value!r}")
    length = task_length(distance, margin)
    rng = np.random.default_rng([seed, distance, num_symbols, margin, KINDS.index(kind)])
    values = rng.integers(0, num_symbols, size=(num_examples, length))
    token_ids = (FIRST_SYMBOL + values).astype("int32")
    token_ids[:, 0] = CLS
    rows = np.arange(num_examples)[:, None]
    if kind == "copy":
        positions = np.full((num_examples, 1), length - 1 - distance)
    else:
        first = rng.integers(1, length - distance, size=num_examples)  # the span [first, first + distance] fits
        positions = np.stack([first, first + distance], axis=1)
    token_ids[rows, positions] += num_symbols  # mark them
    labels = values[rows, positions].sum(axis=1) % num_symbols
    return LongRangeTask(
        token_ids=token_ids,
        padding_mask=np.ones_like(token_ids),
        labels=labels.astype("int32"),
        positions=positions.astype("int32"),
        distance=distance,
        num_symbols=num_symbols,
        kind=kind,
    )


def label_of(token_ids, num_symbols, kind="pair_sum"):
    """The label of one sequence, read from its tokens alone (an independent check of the generator).

    Raises:
        ValueError: the sequence does not hold exactly the marked symbols `kind` has.
    """
    token_ids = np.asarray(token_ids)
    marked = np.flatnonzero(token_ids >= FIRST_SYMBOL + num_symbols)
    expected = 1 if kind == "copy" else 2
    if len(marked) != expected:
        raise ValueError(
            f"expected exactly {expected} marked symbols; found {len(marked)} at positions {marked.tolist()}"
        )
    values = token_ids[marked] - FIRST_SYMBOL - num_symbols
    return int(values.sum() % num_symbols)
