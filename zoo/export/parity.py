"""Compare an export's outputs with the Keras model's; fail loudly over tolerance."""

import dataclasses

import numpy as np

from zoo.errors import ZooUserError


class ExportParityError(RuntimeError, ZooUserError):
    """An exported model's outputs differ from the Keras model's beyond tolerance."""


@dataclasses.dataclass
class ParityReport:
    """What a parity check measured.

    Attributes:
        max_abs_diff: dict output name -> largest absolute difference seen.
        top1_agreement: fraction of examples whose argmax agrees (for
            2-D float outputs such as probabilities), else `None`.
        batch_sizes: the batch sizes that were checked.
        extra: dict of further measurements (see `Endpoint.check`).
    """

    max_abs_diff: dict
    top1_agreement: float | None
    batch_sizes: list
    extra: dict = dataclasses.field(default_factory=dict)


def compare_outputs(actual, expected, tolerances, what, free=()):
    """Check `actual` against `expected` (dicts of arrays); return per-output max diffs.

    Outputs named in `tolerances` are compared numerically; outputs in
    `free` only need the right shape; other outputs present in both are
    compared exactly (labels, ids). Raises `ExportParityError` naming the
    output, the difference and the tolerance.
    """
    diffs = {}
    for name, want in expected.items():
        if name not in actual:
            raise ExportParityError(f"{what}: output {name!r} is missing; got {sorted(actual)}")
        got = np.asarray(actual[name])
        want = np.asarray(want)
        if got.shape != want.shape:
            raise ExportParityError(f"{what}: output {name!r} has shape {got.shape}; expected {want.shape}")
        if name in free:
            continue
        if name in tolerances:
            diff = float(np.max(np.abs(got.astype("float64") - want.astype("float64")))) if got.size else 0.0
            diffs[name] = diff
            if not diff <= tolerances[name]:
                raise ExportParityError(
                    f"{what}: output {name!r} differs from Keras by {diff:.3g} "
                    f"(max abs); tolerance is {tolerances[name]:.3g}"
                )
        elif not np.array_equal(got, want):
            mismatches = int(np.sum(got != want))
            raise ExportParityError(f"{what}: output {name!r} differs from Keras in {mismatches} entries")
    return diffs


def top1_agreement(actual, expected):
    """Fraction of rows where the argmax of two `(B, K)` arrays agrees."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.ndim != 2 or actual.shape != expected.shape:
        return None
    return float(np.mean(actual.argmax(-1) == expected.argmax(-1)))


def compare_greedy(got, expected, strict, generated_from=None, end_token_id=None):
    """How many rows / tokens of an export's greedy ids `got` equal Keras greedy ids `expected`.

    Args:
        got, expected: int arrays `(B, T)`.
        strict: raise on any differing row (float exports).
        generated_from: optional int, the first generated position (a
            causal LM's prompt length): tokens are then counted over the
            generated positions only, up to Keras's end token, and the
            share of generated tokens before the first difference is added.
        end_token_id: with `generated_from`, where Keras's rows end.

    Returns:
        `{"greedy_sequences_equal", "greedy_tokens_equal"}`: fractions of equal
        rows (the whole continuation) and of equal entries (generated ones
        with `generated_from`); with `generated_from` also
        `"greedy_prefix_equal"`, the share of Keras's generated tokens that the
        export reproduced before its first difference.

    Raises:
        ExportParityError: `strict` and some row differs (naming the rows).
    """
    got, expected = np.asarray(got), np.asarray(expected)
    equal = (got == expected).all(axis=1)
    if strict and not equal.all():
        rows = np.flatnonzero(~equal).tolist()
        raise ExportParityError(
            f"the TFLite decoding loop differs from Keras greedy generation in rows {rows}: "
            f"{got[rows].tolist()} vs {expected[rows].tolist()}"
        )
    if generated_from is None:
        return {
            "greedy_sequences_equal": float(equal.mean()),
            "greedy_tokens_equal": float((got == expected).mean()),
        }
    counted = generated_positions(expected, generated_from, end_token_id)  # (B, T) Keras's generated tokens
    same = (got == expected) & counted
    before_first_difference = np.cumprod(same | ~counted, axis=1).astype(bool) & counted
    total = max(int(counted.sum()), 1)
    return {
        "greedy_sequences_equal": float(equal.mean()),
        "greedy_tokens_equal": float(same.sum() / total),
        "greedy_prefix_equal": float(before_first_difference.sum() / total),
    }


def generated_positions(token_ids, generated_from, end_token_id=None):
    """Bool `(B, T)`: positions from `generated_from` up to and including each row's first `end_token_id`."""
    token_ids = np.asarray(token_ids)
    positions = np.arange(token_ids.shape[1])[None, :]
    generated = positions >= generated_from
    if end_token_id is None:
        return np.broadcast_to(generated, token_ids.shape)
    ended = generated & (token_ids == end_token_id)
    # Positions after a row's first end token are padding: the cumulative count of ends before them is > 0.
    ends_before = np.cumsum(ended, axis=1) - ended
    return generated & (ends_before == 0)


def batch_variants(inputs):
    """The inputs as given and their first example alone (a second batch size)."""
    variants = [inputs]
    # 0-d inputs (e.g. a decode step's position) are shared by the whole batch.
    first = {name: value if np.ndim(value) == 0 else value[:1] for name, value in inputs.items()}
    if len(next(iter(inputs.values()))) > 1:
        variants.append(first)
    return variants


def select_inputs(endpoint, inputs):
    """The entries of `inputs` that `endpoint` takes, or its own samples if some are missing.

    One dict can thus serve several variants, e.g. `{"text", "token_ids",
    "padding_mask"}` for a text model's string-in and token-id exports.
    """
    names = list(endpoint.input_signature)
    if inputs is None or not set(names) <= set(inputs):
        return endpoint.sample_inputs
    return {name: inputs[name] for name in names}


def check_parity(run, endpoint, sample_inputs, tolerances, what, free=()):
    """Compare `run(batch)` with the Keras reference on the sample batch and a batch of one.

    Args:
        run: takes a dict of NumPy inputs, returns a dict of NumPy outputs
            (the reloaded export).
        endpoint: the `Endpoint` that was exported (reference, samples).
        sample_inputs: dict of NumPy inputs (see `select_inputs`), or None
            for the endpoint's own.
        tolerances: dict output name -> max abs difference.
        what: names the export in error messages.
        free: outputs whose agreement is measured, not required (see
            `Endpoint.quantized_free`).

    Returns:
        A `ParityReport`. Raises `ExportParityError` over tolerance.
    """
    inputs = select_inputs(endpoint, sample_inputs)
    diffs, agreement, sizes, extra = {}, None, [], {}
    for batch in batch_variants(inputs):
        outputs = run(batch)
        expected = endpoint.reference(batch)
        for name, diff in compare_outputs(outputs, expected, tolerances, what, free).items():
            diffs[name] = max(diff, diffs.get(name, 0.0))
        sizes.append(len(next(iter(batch.values()))))
        if agreement is None and "probabilities" in expected:
            agreement = top1_agreement(outputs["probabilities"], expected["probabilities"])
        for name in free:
            if f"{name}_equal" not in extra and name in expected:
                extra[f"{name}_equal"] = float(np.mean(np.asarray(outputs[name]) == np.asarray(expected[name])))
    return ParityReport(max_abs_diff=diffs, top1_agreement=agreement, batch_sizes=sizes, extra=extra)
