"""Streaming generation: `generate(text, stream=True)` yields text pieces as tokens are decoded.

One prompt (or source) at a time. The model is stepped in Python over its
public step-by-step decoding methods (`CausalLM.empty_cache` /
`call_with_cache`; an encoder-decoder's `decode_step`), one compiled step
function per model and settings, with the same sampler (and seed) as the
compiled `generate` loop, so the pieces join into `generate`'s text.

Pieces are valid text: after each token the whole sequence so far is
detokenized and only the newly completed suffix is yielded; a trailing
U+FFFD (a character whose bytes span tokens, as in byte-level BPE) is held
back until it completes (or until the end, where `generate` keeps it too).
"""

import keras
import numpy as np
from keras import ops

from zoo.generation import get_sampler

REPLACEMENT = "\ufffd"


def checked_stream_text(inputs, sampler):
    """The one string a streamed generation starts from; a `ValueError` for anything else.

    Raises:
        ValueError: beam search (it picks its best sequence only at the end),
            a dict of ids, or a batch of more than one text.
    """
    if sampler == "beam":
        raise ValueError(
            "stream=True needs a per-step sampler (greedy, top_k, top_p, random). Received: sampler='beam'"
        )
    if isinstance(inputs, (str, bytes)):
        return inputs
    if isinstance(inputs, (list, tuple)) or (isinstance(inputs, np.ndarray) and inputs.ndim == 1):
        if len(inputs) != 1:
            raise ValueError(
                f"stream=True generates for one text at a time (a string or a list of one). "
                f"Received: a batch of {len(inputs)}"
            )
        return inputs[0]
    raise ValueError(f"stream=True takes a string (it yields text). Received: a {type(inputs).__name__}")


class _Stepper:
    """The decoding state of one sequence: `start(...)` -> given ids and state; `step` -> next token."""

    def __init__(self, model, sampler):
        self.model = model
        self.sampler = sampler
        step = self._step
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            step = tf.function(step, reduce_retracing=True)
        self.step = step

    def _step(self, token, state, memory, index):
        logits, state = self.next_logits(token, state, memory, index)
        return self.sampler(logits), state


class _CausalStepper(_Stepper):
    def start(self, token_ids, padding_mask, max_length):
        prompt = np.asarray(ops.convert_to_numpy(token_ids))[0, : int(np.sum(ops.convert_to_numpy(padding_mask)[0]))]
        cache = self.model.empty_cache(1, max_length)
        if len(prompt) > 1:  # the compiled loop also reruns the last prompt token as its first step
            _, cache = self.model.call_with_cache(ops.convert_to_tensor(prompt[None, :-1], "int32"), cache, 0)
        return [int(token) for token in prompt], cache, None

    def next_logits(self, token, cache, memory, index):
        logits, cache = self.model.call_with_cache(token, cache, index)
        return logits[:, 0], cache


class _EncoderDecoderStepper(_Stepper):
    def start(self, token_ids, padding_mask, max_length):
        token_ids = ops.convert_to_tensor(token_ids, "int32")
        padding_mask = ops.convert_to_tensor(padding_mask, "int32")
        encoded = self.model.encode(token_ids, padding_mask)
        if hasattr(self.model, "cross_attention_caches"):  # Seq2SeqLM
            state, memory = self.model.empty_caches(1, max_length), self.model.cross_attention_caches(encoded)
        else:  # LSTMSeq2Seq: encode returns (outputs, final states)
            encoded, state = encoded
            memory = self.model.attention_memory(encoded)
        return [int(self.model.bos_token_id)], state, (memory, padding_mask)

    def next_logits(self, token, state, memory, index):
        memory, padding_mask = memory
        return self.model.decode_step(token, index, state, memory, padding_mask)


def stream_pieces(model, text, max_length, sampler, seed, strip_prompt, sampler_args):
    """Yield the text pieces of `model.generate([text], ...)` as they are decoded (see the module docstring)."""
    token_ids, padding_mask = model.generate_preprocess([text])
    token_ids, padding_mask, max_length = model.prepare_generate(token_ids, padding_mask, max_length)
    stepper = _stepper(model, sampler, seed, sampler_args)
    stepper.sampler.reset(seed)
    stepper_class = type(stepper)
    ids, state, memory = stepper.start(token_ids, padding_mask, max_length)
    given = len(ids) if strip_prompt and stepper_class is _CausalStepper else 0
    emitted = ""
    index = len(ids) - 1
    while index < max_length - 1:
        token, state = stepper.step(
            ops.convert_to_tensor([[ids[-1]]], "int32"), state, memory, ops.convert_to_tensor(index, "int32")
        )
        ids.append(int(ops.convert_to_numpy(token)[0]))
        index += 1
        finished = ids[-1] == model.end_token_id
        piece, emitted = _new_text(model, ids, given, emitted, hold_back=not finished and index < max_length - 1)
        if piece:
            yield piece
        if finished:
            break


def _stepper(model, sampler, seed, sampler_args):
    """The model's stepper for these sampler settings, made (and its step compiled) once, as `CompiledGenerators`."""
    steppers = getattr(model, "_zoo_stream_steppers", None)
    if steppers is None:
        steppers = {}
        object.__setattr__(model, "_zoo_stream_steppers", steppers)  # outside Keras tracking
    key = (sampler if isinstance(sampler, str) else id(sampler), tuple(sorted(sampler_args.items())))
    if key not in steppers:
        chosen = get_sampler(sampler, seed=seed, **sampler_args) if isinstance(sampler, str) else sampler
        stepper_class = _CausalStepper if hasattr(model, "call_with_cache") else _EncoderDecoderStepper
        steppers[key] = stepper_class(model, chosen)
    return steppers[key]


def _new_text(model, ids, given, emitted, hold_back):
    """`(piece, emitted)`: the text of `ids` past `emitted` (a trailing U+FFFD held back while `hold_back`)."""
    row = np.asarray(ids, "int32")[None, :]
    if given:
        row[:, :given] = model.pad_token_id
    text = model.detokenize(row)[0]
    if hold_back:
        text = text.rstrip(REPLACEMENT)
    if len(text) <= len(emitted) or not text.startswith(emitted):
        # Nothing new, or a detokenizer that rewrote earlier text: keep what was yielded.
        return "", emitted
    return text[len(emitted) :], text
