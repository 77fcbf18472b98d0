"""What the generative task models share: compiled, cached generation functions per settings."""

import keras

from zoo.generation import get_sampler


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
    """Whether `inputs` is a string or a non-empty list of strings (else: a dict of ids)."""
    if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
        raise ValueError("generate() got an empty list of inputs; expected strings")
    return isinstance(inputs, str) or (
        isinstance(inputs, (list, tuple)) and isinstance(inputs[0], (str, bytes))
    )


def serialize_layer(layer):
    return None if layer is None else keras.layers.serialize(layer)


def detokenize_until_end(preprocessor, token_ids, end_token_id, pad_token_id, strip=True):
    """Ids `(B, T)` -> a `tf.string` tensor `(B,)`: cut at the first `end_token_id`, special tokens dropped.

    `strip=False` keeps surrounding whitespace (TFLite has no StringStrip op).
    """
    import tensorflow as tf

    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    ended = tf.cumsum(tf.cast(token_ids == end_token_id, tf.int32), axis=1) > 0
    texts = preprocessor.detokenize(tf.where(ended, pad_token_id, token_ids))
    return tf.strings.strip(texts) if strip else texts
