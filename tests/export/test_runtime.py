"""The one greedy app loop (`zoo.export.runtime.greedy_loop`) and the bytes <-> str helpers."""

import numpy as np
import pytest

from zoo.export.runtime import as_bytes, as_strings, checked_length, greedy_loop, initial_state

END, PAD = 9, 0


class FakeExport:
    """A decode step whose next token is `token + step`, with a state that counts calls.

    It records every call, so the tests see what the loop sends.
    """

    def __init__(self, step=1, with_index=True):
        self.step, self.with_index, self.calls = step, with_index, []

    def __call__(self, signature, inputs):
        assert signature == "decode"
        assert ("index" in inputs) == self.with_index
        self.calls.append({name: np.array(value) for name, value in inputs.items()})
        token = inputs["token_ids"][:, 0]
        return {
            "next_token": (token + self.step) % 10,
            "logits": np.zeros((len(token), 10)),
            "cache": inputs["cache"] + 1,  # updated state
        }


def test_causal_layout_starts_from_the_prefill_token_and_stops_at_end():
    run = FakeExport()
    prompts = np.array([[2, 5], [2, 3]])
    start = {"next_token": np.array([6, 7]), "cache": np.zeros((2, 3))}
    shapes = {"token_ids": (None, 1), "index": (), "cache": (None, 3)}
    got = greedy_loop(run, prompts, 6, start=start, decode_shapes=shapes, end_token_id=END, pad_token_id=PAD)
    # Row 0: 6 (prefill), 7, 8, 9 (end). Row 1: 7, 8, 9 (end), then padding.
    np.testing.assert_array_equal(got, [[2, 5, 6, 7, 8, 9], [2, 3, 7, 8, 9, PAD]])
    assert got.dtype == np.int32
    # Each decode call takes the token at `index` and the state the previous call returned.
    assert [int(call["index"]) for call in run.calls] == [2, 3, 4]
    assert [call["token_ids"][:, 0].tolist() for call in run.calls] == [[6, 7], [7, 8], [8, 9]]
    assert [float(call["cache"][0, 0]) for call in run.calls] == [0.0, 1.0, 2.0]


def test_the_loop_stops_calling_once_every_row_ended():
    run = FakeExport(step=0)  # repeats its token
    start = {"next_token": np.array([END, END])}
    got = greedy_loop(
        run,
        np.array([[2], [2]]),
        5,
        start=start,
        decode_shapes={"token_ids": (None, 1), "cache": (None, 1)},
        end_token_id=END,
        pad_token_id=PAD,
    )
    np.testing.assert_array_equal(got, [[2, END, PAD, PAD, PAD]] * 2)
    assert run.calls == []


def test_encoder_decoder_layout_decodes_from_bos_with_zero_caches_and_fixed_inputs():
    run = FakeExport(with_index=False)  # e.g. LSTMSeq2Seq: no position index
    memory = np.arange(6.0).reshape(2, 3)
    start = {"memory": memory, "encoder_padding_mask": np.ones((2, 3), "int32")}
    shapes = {"token_ids": (-1, 1), "cache": (-1, 4), "memory": (-1, 3), "encoder_padding_mask": (-1, 3)}
    got = greedy_loop(
        run,
        np.full((2, 1), 4),
        4,
        start=start,
        decode_shapes=shapes,
        end_token_id=END,
        pad_token_id=PAD,
    )
    np.testing.assert_array_equal(got, [[4, 5, 6, 7]] * 2)
    first = run.calls[0]
    np.testing.assert_array_equal(first["cache"], np.zeros((2, 4)))  # not returned by encode: zeros
    for call in run.calls:  # inputs the step does not return stay as encode gave them
        np.testing.assert_array_equal(call["memory"], memory)
    assert len(run.calls) == 3


def test_initial_state_takes_start_outputs_and_zeros_for_the_rest():
    state = initial_state(
        {"cross": np.ones((2, 5)), "next_token": np.array([1, 2])},
        {"token_ids": (None, 1), "index": (), "cross": (None, 5), "self": (None, 2, 3)},
        batch_size=2,
    )
    assert sorted(state) == ["cross", "self"]
    assert state["self"].shape == (2, 2, 3) and state["self"].dtype == np.float32
    assert not state["self"].any()


def test_checked_length_defaults_and_bounds():
    assert checked_length(None, 2, 12) == 12
    assert checked_length(5, 2, 12) == 5
    with pytest.raises(ValueError, match=r"must be in \[2, 12\]. Received: max_length=13"):
        checked_length(13, 2, 12)
    with pytest.raises(ValueError, match=r"must be in \(3, 8\] \(prompt length, cache length\)"):
        checked_length(3, 4, 8, "(prompt length, cache length)")


def test_bytes_and_strings_round_trip_with_bad_utf8_replaced():
    texts = ["é", b"caf\xc3\xa9", np.str_("x"), b"\xff"]
    assert as_strings(texts) == ["é", "café", "x", "\ufffd"]
    assert as_strings("one") == ["one"]
    encoded = as_bytes(["é", b"\xff"])
    assert encoded.dtype == object and encoded.tolist() == ["é".encode(), b"\xff"]
