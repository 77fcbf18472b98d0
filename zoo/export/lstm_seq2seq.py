"""Export endpoints of `LSTMSeq2Seq`: the same string-to-string files as `Seq2SeqLM`'s.

SavedModel `serving_default`: source strings `text` `(B,)` ->
`generated_text` `(B,)` and greedy `token_ids` `(B, T)`, the decoding loop
inside the graph (`zoo.export.seq2seq.saved_model_endpoint`, which needs
only the encoder-decoder generation API both models share).

TFLite variants (`zoo.export.tflite_variants(model)`):

- `generate` (`model.tflite`): the same single call, the loop inside
  (`zoo.export.seq2seq.single_call_endpoint`).
- `encode_decode` (`model_encode_decode.tflite`): two signatures an app
  loops over:
  - `encode`: source `text` `(B,)` -> `states` `(B, L, 2, U)` (the initial
    `h`, `c` of every decoder layer), `memory` `(B, 2, S, U)` (encoder
    outputs and their attention keys, computed once) and
    `encoder_padding_mask` `(B, S)`.
  - `decode`: `token_ids` `(B, 1)` (the last token), `states`, `memory`,
    `encoder_padding_mask` -> `logits` `(B, V)` and `next_token` `(B,)`
    (the greedy choice) for the next position, and the updated `states`.
  Unlike the Transformer's decode step there is no position index and no
  cache that grows with the output: the state has a fixed size.

`tflite_generate` runs `zoo.export.runtime.greedy_loop` (the one app loop)
over `encode`/`decode`; the export check requires it to reproduce Keras
greedy decoding token for token.
"""

import numpy as np
import tensorflow as tf

from zoo.export import runtime
from zoo.export.endpoint import LOGIT_TOLERANCES, Endpoint
from zoo.export.registry import register_endpoint
from zoo.export.runtime import as_strings
from zoo.export.seq2seq import (
    SAMPLE_TEXTS,
    encoder_decoder_check,
    require_preprocessors,
    saved_model_endpoint,
    single_call_endpoint,
)
from zoo.generation.samplers import argmax
from zoo.models import LSTMSeq2Seq

__all__ = ["saved_model_endpoint", "tflite_endpoints", "tflite_generate"]

# The string-to-string SavedModel needs only the generation API both encoder-decoders share.
register_endpoint(LSTMSeq2Seq)(saved_model_endpoint)


def _encoded_state(model, token_ids, padding_mask):
    encoded, states = model.encode(token_ids, padding_mask)
    return {"states": states, "memory": model.attention_memory(encoded), "encoder_padding_mask": padding_mask}


def _greedy_ids(model, texts):
    packed = model.source_preprocessor(as_strings(texts))
    return model.generate({"encoder_token_ids": packed["token_ids"], "encoder_padding_mask": packed["padding_mask"]})


def _decode_endpoint(model):
    layers, units, length = model.num_decoder_layers, model.lstm_units, model.source_length

    def decode(token_ids, states, memory, encoder_padding_mask):
        logits, states = model.decode_step(token_ids, 0, states, memory, encoder_padding_mask)
        return {"logits": logits, "next_token": argmax(logits), "states": states}

    def reference(inputs):
        logits, states = model.decode_step(
            tf.constant(inputs["token_ids"]),
            0,
            tf.constant(inputs["states"]),
            tf.constant(inputs["memory"]),
            tf.constant(inputs["encoder_padding_mask"]),
        )
        return {"logits": logits.numpy(), "states": states.numpy()}

    rng = np.random.default_rng(0)
    batch = 3
    lengths = np.array([length, 2, length // 2])
    return Endpoint(
        function=decode,
        input_signature={
            "token_ids": tf.TensorSpec((None, 1), tf.int32, name="token_ids"),
            "states": tf.TensorSpec((None, layers, 2, units), tf.float32, name="states"),
            "memory": tf.TensorSpec((None, 2, length, units), tf.float32, name="memory"),
            "encoder_padding_mask": tf.TensorSpec((None, length), tf.int32, name="encoder_padding_mask"),
        },
        reference=reference,
        sample_inputs={
            "token_ids": rng.integers(4, model.target_vocabulary_size, size=(batch, 1)).astype("int32"),
            "states": rng.normal(size=(batch, layers, 2, units)).astype("float32"),
            "memory": rng.normal(size=(batch, 2, length, units)).astype("float32"),
            "encoder_padding_mask": (np.arange(length)[None, :] < lengths[:, None]).astype("int32"),
        },
        tolerances={"logits": 1e-3, "states": 1e-4},
        quantized_tolerances=LOGIT_TOLERANCES,
        quantized_free=("next_token",),
    )


@register_endpoint(LSTMSeq2Seq, kind="tflite")
def tflite_endpoints(model):
    """`generate` (one call, loop inside) and `encode_decode` (text in, an app's loop over decode steps)."""
    require_preprocessors(model)
    texts = np.array(SAMPLE_TEXTS, dtype=object)

    def encode(text):
        packed = model.source_preprocessor(text)
        return _encoded_state(model, packed["token_ids"], packed["padding_mask"])

    def reference(inputs):
        packed = model.source_preprocessor(as_strings(inputs["text"]))
        state = _encoded_state(model, packed["token_ids"], packed["padding_mask"])
        return {name: np.asarray(value) for name, value in state.items()}

    decode = _decode_endpoint(model)
    encode_decode = Endpoint(
        function=encode,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=reference,
        sample_inputs={"text": texts},
        tolerances={"states": 1e-4, "memory": 1e-4},
        custom_ops=True,
        extra_signatures={"decode": decode},
        name="encode",
        quantized_tolerances=LOGIT_TOLERANCES,
        check=encoder_decoder_check(model, {"text": texts}, decode, lambda: _greedy_ids(model, texts)),
    )
    return {"generate": single_call_endpoint(model), "encode_decode": encode_decode}


def tflite_generate(model_content, texts, *, bos_token_id, end_token_id, pad_token_id, max_length):
    """Greedy generation with an `encode_decode` TFLite file of an `LSTMSeq2Seq`, the way an app runs it.

    `zoo.export.runtime.tflite_generate` for an `LSTMSeq2Seq` file.

    Args:
        model_content: the `.tflite` file's bytes (or its path).
        texts: source strings.
        bos_token_id, end_token_id, pad_token_id: the target special ids
            (written to the run's `generation.json`).
        max_length: output positions including BOS (`generation.json`'s `max_length`).

    Returns:
        int32 token ids `(B, max_length)`, like `LSTMSeq2Seq.generate` with
        `sampler="greedy"`; `model.detokenize` turns them into text.

    Raises:
        ValueError: not an `LSTMSeq2Seq` `encode_decode` file.
    """
    interpreter = runtime.tflite_interpreter(model_content)
    signatures = interpreter.get_signature_list()
    if set(signatures) != {"encode", "decode"} or "index" in signatures["decode"]["inputs"]:
        raise ValueError(f"expected an LSTMSeq2Seq TFLite file with 'encode' and 'decode' signatures; got {signatures}")
    return runtime.tflite_generate(
        interpreter,
        {"text": texts},
        bos_token_id=bos_token_id,
        end_token_id=end_token_id,
        pad_token_id=pad_token_id,
        max_length=max_length,
    )
