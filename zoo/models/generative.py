"""`GenerativeTask`: the one `generate()` of the generative task models, and what it needs.

`generate` checks its inputs and settings, turns strings into ids (the
model's `generate_preprocess`), runs a compiled function per settings
(`CompiledGenerators`) over the model's `generate_ids`, and turns ids back
into strings (`detokenize`). Decoder-only (`CausalLM`) and encoder-decoder
models (`Seq2SeqLM`, `LSTMSeq2Seq`) differ only in those hooks.
"""

import keras
import numpy as np
from keras import ops

from zoo.generation import get_sampler
from zoo.models.base import Task
from zoo.models.task import check_integer, check_token_inputs, checked_texts


class CompiledGenerators:
    """Generation functions per (max_length, sampler, ...) settings, compiled once on TensorFlow.

    Kept outside Keras/TensorFlow tracking (a plain holder), so exports of
    the model ignore these functions.

    Args:
        make_run: `(max_length, sampler, num_beams, length_penalty) -> run`,
            where `sampler` is `"beam"` or a `Sampler` object and `run`
            takes the model's id inputs and returns generated ids.
    """

    def __init__(self, make_run):
        self._make_run = make_run
        self._functions = {}

    def get(self, max_length, sampler, num_beams, length_penalty, seed, sampler_args):
        """The function for these settings; a random sampler's seed is reset to `seed` on every call."""
        key = (
            max_length,
            sampler if isinstance(sampler, str) else id(sampler),
            num_beams,
            length_penalty,
            tuple(sorted(sampler_args.items())),
        )
        if key not in self._functions:
            if sampler == "beam":
                chosen = "beam"
            else:
                chosen = get_sampler(sampler, seed=seed, **sampler_args) if isinstance(sampler, str) else sampler
            run = self._make_run(max_length, chosen, num_beams, length_penalty)
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                run = tf.function(run, reduce_retracing=True)
            self._functions[key] = (run, chosen)
        run, chosen = self._functions[key]
        if chosen != "beam":
            chosen.reset(seed)
        return run


def is_text_batch(inputs):
    """Whether `inputs` is text (a string, a list/tuple or a 1-D array of them) rather than a dict of ids.

    Raises a `ValueError` for an empty batch and for anything else (e.g.
    `None`, a number, a 2-D array); `zoo.models.task.checked_texts` then
    checks each text.
    """
    if isinstance(inputs, dict):
        return False
    if isinstance(inputs, (str, bytes)):
        return True
    if isinstance(inputs, (list, tuple)) or (isinstance(inputs, np.ndarray) and inputs.ndim == 1):
        if len(inputs) == 0:
            raise ValueError("generate() got an empty list of inputs; expected strings")
        return True
    shape = f" of shape {inputs.shape}" if isinstance(inputs, np.ndarray) else ""
    raise ValueError(
        "generate() takes a string, a list of strings or a dict of token ids; "
        f"received a {type(inputs).__name__}{shape}"
    )


def check_generate_settings(max_length, sampler, num_beams):
    """Clear errors for settings that would otherwise fail inside the compiled loop."""
    if max_length is not None:
        check_integer("max_length", max_length, minimum=2)
    if sampler == "beam":
        check_integer("num_beams", num_beams)


class GenerativeTask(Task):
    """A `Task` that generates token sequences, from strings or from ids.

    Subclasses implement the hooks:
        generate_preprocess(texts) -> (token_ids, padding_mask): the ids
            generation starts from (a prompt, a source), for a list of
            checked strings; raises a `ValueError` when the model has no
            preprocessor for it.
        generate_id_names: the names of the two id inputs `generate` takes
            in a dict (e.g. `("token_ids", "padding_mask")`).
        generate_id_limits -> (vocabulary_size, max_width or None): what
            such ids are checked against.
        prepare_generate(token_ids, padding_mask, max_length) ->
            (token_ids, padding_mask, max_length): the ids and the checked
            length the compiled function runs on.
        generate_ids(token_ids, padding_mask, max_length, sampler,
            num_beams, length_penalty) -> ids `(B, max_length)`.
        detokenize(token_ids) -> a list of strings.
    and may override `strip_prompts(generated, padding_mask)` (identity
    here: an encoder-decoder's output holds no part of its source).
    `generate_verb` words the error for an empty text.
    """

    generate_verb = "continue"

    @property
    def compiled_generators(self):
        """The compiled generation functions of this model (one per settings), made on first use."""
        if getattr(self, "_compiled_generators", None) is None:
            self._compiled_generators = CompiledGenerators(self._make_generate_run)
        return self._compiled_generators

    def generate(
        self,
        inputs,
        max_length=None,
        sampler="greedy",
        num_beams=4,
        length_penalty=0.0,
        seed=None,
        strip_prompt=False,
        stream=False,
        **sampler_args,
    ):
        """Generate text for strings, or ids for a dict of ids.

        Args:
            inputs: a string, a list of strings, or a dict of ids
                (`generate_id_names`): prompts (decoder-only, padding on
                either side) or sources (encoder-decoder).
            max_length: positions of the output: for a decoder-only model
                prompt included (default `sequence_length`), for an
                encoder-decoder BOS included (default `target_length`).
            sampler: `"greedy"`, `"beam"` (decoder-only: prompts of equal
                length), `"top_k"`, `"top_p"`, `"random"` or a `Sampler`.
            num_beams, length_penalty: beam search settings.
            seed: int, for reproducible random samplers.
            strip_prompt: decoder-only models: return only the
                continuation (strings only).
            stream: if True, return a generator of text pieces, yielded as
                tokens are decoded, for one string (or a list of one);
                not with `sampler="beam"`. The pieces join into the
                string `generate` returns for the same settings and seed
                (see `zoo.models.streaming`).
            **sampler_args: e.g. `k=`, `p=`, `temperature=`.

        Returns:
            A list of strings for string inputs (special tokens removed,
            cut at EOS), else token ids `(B, max_length)` (a decoder-only
            model's prompts first, right-aligned to position 0); with
            `stream=True` a generator of strings.

        Raises:
            ValueError: inputs or settings that cannot be generated from,
                named (an empty batch, a non-string, ids out of the
                vocabulary, `max_length` out of range, ...).
        """
        strings = is_text_batch(inputs)
        check_generate_settings(max_length, sampler, num_beams)
        if stream:
            from zoo.models.streaming import checked_stream_text, stream_pieces

            text = checked_stream_text(inputs, sampler)
            text = checked_texts([text], self.generate_verb, allow_empty=True)[0]
            return stream_pieces(self, text, max_length, sampler, seed, strip_prompt, sampler_args)
        if strings:
            # An empty text is allowed (a prompt of BOS alone, an empty source), as in the
            # SavedModel, which must answer every row of a request.
            texts = checked_texts(inputs, self.generate_verb, allow_empty=True)
            token_ids, padding_mask = self.generate_preprocess(texts)
        else:
            ids_name, mask_name = self.generate_id_names
            token_ids, padding_mask = check_token_inputs(inputs, ids_name, mask_name, *self.generate_id_limits)
        token_ids, padding_mask, max_length = self.prepare_generate(token_ids, padding_mask, max_length)
        run = self.compiled_generators.get(max_length, sampler, num_beams, length_penalty, seed, sampler_args)
        generated = ops.convert_to_numpy(run(token_ids, padding_mask))
        if not strings:
            return generated
        if strip_prompt:
            generated = self.strip_prompts(generated, padding_mask)
        return self.detokenize(generated)

    def strip_prompts(self, generated, padding_mask):
        """`generated` with the prompt positions set to padding (identity: no prompt in the output)."""
        return generated

    def _make_generate_run(self, max_length, sampler, num_beams, length_penalty):
        def run(token_ids, padding_mask):
            return self.generate_ids(token_ids, padding_mask, max_length, sampler, num_beams, length_penalty)

        return run
