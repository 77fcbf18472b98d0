"""What the encoder-decoder task models share (`Seq2SeqLM`, `LSTMSeq2Seq`).

Presets sized by the preprocessors, checked special ids, decoding from BOS
with `zoo.generation`'s loops, strings in and out, and a config round trip
that carries the preprocessors.
"""

from keras import ops

from zoo.generation import beam_search, get_sampler, sample_loop
from zoo.models.generative import check_generate_settings, is_text_batch
from zoo.models.task import check_token_inputs, checked_texts, preset_config


class EncoderDecoderGeneration:
    """`generate`, `detokenize` and `from_config` of an encoder-decoder `keras.Model` (a mixin).

    The model has `source_preprocessor`, `target_preprocessor`,
    `target_length`, `bos_token_id`, `end_token_id`, `pad_token_id`,
    `_generators = CompiledGenerators(self._make_generate_run)`, and
    `generate_ids(encoder_token_ids, encoder_padding_mask, max_length,
    sampler, num_beams, length_penalty)`, which builds its decoding state
    and calls `decode_from_bos`.
    """

    def generate(self, inputs, max_length=None, sampler="greedy", num_beams=4, length_penalty=0.0, seed=None, **sampler_args):
        """Generate target text (or ids) for source strings (or `{encoder_token_ids, encoder_padding_mask}`).

        Args:
            inputs: a string, a list of strings, or a dict of source ids.
            max_length: positions of the output incl. BOS (default `target_length`).
            sampler: `"greedy"`, `"beam"`, `"top_k"`, `"top_p"`, `"random"` or a `Sampler`.
            num_beams, length_penalty: beam search settings.
            seed: int, for reproducible random samplers.
            **sampler_args: e.g. `k=`, `p=`, `temperature=`.

        Returns:
            A list of strings for string inputs (special tokens removed,
            cut at EOS), else token ids `(B, max_length)`.
        """
        strings = is_text_batch(inputs)
        check_generate_settings(max_length, sampler, num_beams)
        max_length = self.checked_max_length(max_length)
        if strings:
            if self.source_preprocessor is None or self.target_preprocessor is None:
                raise ValueError("generate() on strings needs a model built with source and target preprocessors")
            # An empty source is allowed, as in the SavedModel (which must answer every row of a request).
            source = self.source_preprocessor(checked_texts(inputs, "translate or summarize", allow_empty=True))
            token_ids, padding_mask = source["token_ids"], source["padding_mask"]
        else:
            token_ids, padding_mask = check_token_inputs(
                inputs, "encoder_token_ids", "encoder_padding_mask", self.source_vocabulary_size, self.source_length
            )
        run = self._generators.get(max_length, sampler, num_beams, length_penalty, seed, sampler_args)
        generated = ops.convert_to_numpy(run(token_ids, padding_mask))
        return self.detokenize(generated) if strings else generated

    def _make_generate_run(self, max_length, sampler, num_beams, length_penalty):
        def run(encoder_token_ids, encoder_padding_mask):
            return self.generate_ids(encoder_token_ids, encoder_padding_mask, max_length, sampler, num_beams, length_penalty)

        return run

    def checked_max_length(self, max_length):
        """`max_length` (default `target_length`), checked to lie in `[2, target_length]`."""
        max_length = self.target_length if max_length is None else max_length
        if not 2 <= max_length <= self.target_length:
            raise ValueError(f"max_length must be in [2, {self.target_length}]. Received: max_length={max_length}")
        return max_length

    def start_tokens(self, batch_size, length):
        """`(B, length)` int32: BOS, then padding."""
        return ops.concatenate(
            [ops.full((batch_size, 1), self.bos_token_id, "int32"), ops.full((batch_size, length - 1), self.pad_token_id, "int32")],
            axis=1,
        )

    def decode_from_bos(self, next_fn, cache, batch_size, max_length, sampler, num_beams, length_penalty):
        """Token ids `(B, max_length)` from BOS: `zoo.generation`'s `beam_search` or `sample_loop` over `next_fn`."""
        token_ids = self.start_tokens(batch_size, max_length)
        prompt_mask = ops.arange(max_length)[None, :] < ops.ones((batch_size, 1), "int32")
        if sampler == "beam":
            token_ids, _ = beam_search(
                next_fn, token_ids, prompt_mask, cache, num_beams, self.end_token_id, self.pad_token_id, length_penalty
            )
            return token_ids
        sampler = get_sampler(sampler) if isinstance(sampler, str) else sampler
        token_ids, _ = sample_loop(next_fn, token_ids, prompt_mask, cache, sampler, self.end_token_id, self.pad_token_id)
        return token_ids

    def detokenize(self, token_ids):
        """Target ids `(B, T)` -> strings, cut at the first EOS, special tokens removed."""
        if self.target_preprocessor is None:
            raise ValueError("detokenize needs a model built with a target preprocessor")
        texts = self.target_preprocessor.generate_postprocess(
            token_ids, self.end_token_id, self.pad_token_id
        )
        return [text.decode("utf-8", "replace") for text in ops.convert_to_numpy(texts)]


def encoder_decoder_config(model_class, family, name, source_preprocessor, target_preprocessor, overrides):
    """Preset `name` of `family` with `overrides`; vocabulary sizes and lengths follow the preprocessors when given."""
    config = preset_config(model_class, family, name, overrides)
    if source_preprocessor is not None:
        config.setdefault("source_vocabulary_size", source_preprocessor.vocabulary_size)
        config["source_length"] = source_preprocessor.sequence_length
    if target_preprocessor is not None:
        config.setdefault("target_vocabulary_size", target_preprocessor.vocabulary_size)
        config["target_length"] = target_preprocessor.sequence_length - 1
    missing = [key for key in ("source_vocabulary_size", "target_vocabulary_size") if key not in config]
    if missing:
        raise ValueError(f"{model_class.__name__}.from_preset needs preprocessors or {missing}")
    return config


def special_token_ids(
    source_preprocessor, target_preprocessor, source_vocabulary_size, target_vocabulary_size, source_length,
    target_length, bos_token_id, end_token_id, pad_token_id,
):
    """Check the preprocessors against the model's sizes; `(bos, end, pad)` ids, the target preprocessor's when given."""
    if target_preprocessor is not None:
        check_preprocessor("target", target_preprocessor, target_vocabulary_size, target_length + 1)
        bos_token_id, end_token_id = target_preprocessor.cls_id, target_preprocessor.sep_id
        pad_token_id = target_preprocessor.pad_id
    if source_preprocessor is not None:
        check_preprocessor("source", source_preprocessor, source_vocabulary_size, source_length)
    return bos_token_id, end_token_id, pad_token_id


def check_preprocessor(side, preprocessor, vocabulary_size, sequence_length):
    if preprocessor.vocabulary_size != vocabulary_size or preprocessor.sequence_length != sequence_length:
        raise ValueError(
            f"the {side} preprocessor does not match the model: vocabulary_size "
            f"{preprocessor.vocabulary_size} vs {vocabulary_size}, sequence_length "
            f"{preprocessor.sequence_length} vs {sequence_length}"
        )
