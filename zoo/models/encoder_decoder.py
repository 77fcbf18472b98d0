"""What the encoder-decoder task models share (`Seq2SeqLM`, `LSTMSeq2Seq`).

Presets sized by the preprocessors, checked special ids, decoding from BOS
with `zoo.generation`'s loops, strings in and out, and a config round trip
that carries the preprocessors.
"""

from keras import ops

from zoo.generation import beam_search, get_sampler, sample_loop
from zoo.models.generative import GenerativeTask
from zoo.models.task import preset_config


class EncoderDecoderTask(GenerativeTask):
    """The base of encoder-decoder task models: `GenerativeTask`'s hooks for source -> target generation.

    The model has `source_preprocessor`, `target_preprocessor`,
    `source_vocabulary_size`, `source_length`, `target_length`,
    `bos_token_id`, `end_token_id`, `pad_token_id`, and
    `generate_ids(encoder_token_ids, encoder_padding_mask, max_length,
    sampler, num_beams, length_penalty)`, which builds its decoding state
    and calls `decode_from_bos`.
    """

    # === GenerativeTask hooks (see zoo.models.generative) ===

    generate_verb = "translate or summarize"
    generate_id_names = ("encoder_token_ids", "encoder_padding_mask")

    @property
    def generate_id_limits(self):
        return self.source_vocabulary_size, self.source_length

    def generate_preprocess(self, texts):
        if self.source_preprocessor is None or self.target_preprocessor is None:
            raise ValueError("generate() on strings needs a model built with source and target preprocessors")
        source = self.source_preprocessor(texts)
        return source["token_ids"], source["padding_mask"]

    def prepare_generate(self, token_ids, padding_mask, max_length):
        return token_ids, padding_mask, self.checked_max_length(max_length)

    def checked_max_length(self, max_length):
        """`max_length` (default `target_length`), checked to lie in `[2, target_length]`."""
        max_length = self.target_length if max_length is None else max_length
        if not 2 <= max_length <= self.target_length:
            raise ValueError(f"max_length must be in [2, {self.target_length}]. Received: max_length={max_length}")
        return max_length

    def start_tokens(self, batch_size, length):
        """`(B, length)` int32: BOS, then padding."""
        return ops.concatenate(
            [
                ops.full((batch_size, 1), self.bos_token_id, "int32"),
                ops.full((batch_size, length - 1), self.pad_token_id, "int32"),
            ],
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
        token_ids, _ = sample_loop(
            next_fn, token_ids, prompt_mask, cache, sampler, self.end_token_id, self.pad_token_id
        )
        return token_ids

    def detokenize(self, token_ids):
        """Target ids `(B, T)` -> strings, cut at the first EOS, special tokens removed."""
        if self.target_preprocessor is None:
            raise ValueError("detokenize needs a model built with a target preprocessor")
        texts = self.target_preprocessor.generate_postprocess(token_ids, self.end_token_id, self.pad_token_id)
        return [text.decode("utf-8", "replace") for text in ops.convert_to_numpy(texts)]


def encoder_decoder_config(model_class, family, name, source_preprocessor, target_preprocessor, overrides):
    """Preset `name` of `family` with `overrides`; vocabulary sizes and lengths follow the preprocessors when given."""
    config = preset_config(model_class, family, name, overrides)
    config = sized_by_preprocessors(config, source_preprocessor, target_preprocessor)
    missing = [key for key in ("source_vocabulary_size", "target_vocabulary_size") if key not in config]
    if missing:
        raise ValueError(f"{model_class.__name__}.from_preset needs preprocessors or {missing}")
    return config


def sized_by_preprocessors(config, source_preprocessor, target_preprocessor):
    """`config` with the sizes the preprocessors give: vocabulary sizes unless set, lengths always.

    The target preprocessor packs `target_length + 1` tokens (decoder inputs and labels).
    """
    config = dict(config)
    if source_preprocessor is not None:
        config.setdefault("source_vocabulary_size", source_preprocessor.vocabulary_size)
        config["source_length"] = source_preprocessor.sequence_length
    if target_preprocessor is not None:
        config.setdefault("target_vocabulary_size", target_preprocessor.vocabulary_size)
        config["target_length"] = target_preprocessor.sequence_length - 1
    return config


def special_token_ids(
    source_preprocessor,
    target_preprocessor,
    source_vocabulary_size,
    target_vocabulary_size,
    source_length,
    target_length,
    bos_token_id,
    end_token_id,
    pad_token_id,
):
    """Check the preprocessors against the model's sizes; `(bos, end, pad)`, the target preprocessor's if given."""
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
