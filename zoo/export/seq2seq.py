"""Export endpoints of `Seq2SeqLM`: a string-to-string SavedModel and on-device TFLite generation.

SavedModel `serving_default`: source strings `text` `(B,)` ->
`generated_text` `(B,)` and `token_ids` `(B, T)`, the whole greedy decoding
loop (with the KV cache) inside the graph, so TF Serving clients send and
receive text.

TFLite variants (`zoo.export.tflite_variants(model)`):

- `generate` (`model.tflite`): the same single call as the SavedModel, the
  loop inside (`WHILE`): text in (tensorflow-text custom ops), `token_ids`
  out, plus `generated_text` for WordPiece targets (see
  `tflite_has_text_output`).
- `encode_decode` (`model_encode_decode.tflite`): two signatures an app
  loops over, for control over each step (streaming, custom sampling):
  - `encode`: source `text` `(B,)` -> `cross_caches` `(B, L, 2, S, H, Dh)`
    (every decoder layer's cross-attention keys/values, computed once) and
    `encoder_padding_mask` `(B, S)`.
  - `decode`: `token_ids` `(B, 1)` (the token at `index`), `index` (int32
    scalar), `self_caches` `(B, L, 2, T, H, Dh)` (zeros at the start),
    `cross_caches`, `encoder_padding_mask` -> `logits` `(B, V)` and
    `next_token` `(B,)` (the greedy choice) for position `index + 1`, and
    the updated `self_caches`.
- `encode_decode_ids` (`model_encode_decode_ids.tflite`): the same, but
  `encode` takes `token_ids`/`padding_mask` `(B, S)` (no custom ops; the
  app tokenizes with the run's vocabulary).

`tflite_generate` runs `zoo.export.runtime.greedy_loop` (the one app loop)
over `encode`/`decode`; the export check requires it to reproduce Keras
greedy decoding token for token.
"""

import numpy as np
import tensorflow as tf

from zoo.export import runtime
from zoo.export.endpoint import LOGIT_TOLERANCES, Endpoint, checked_shape, constant_weights
from zoo.export.parity import compare_greedy
from zoo.export.registry import register_endpoint
from zoo.export.runtime import as_bytes, as_strings, greedy_loop
from zoo.generation.samplers import argmax
from zoo.models import Seq2SeqLM

# Parity samples: ordinary sentences, placeholders, an empty string, and a
# source far longer than the model's source length (truncated).
SAMPLE_TEXTS = [
    "How are you?",
    "Could not open file %s: %s",
    "",
    "Ça a été très, très BIEN ! 😀",
    "word " * 2_000,
]


def _sample_texts():
    return {"text": np.array(SAMPLE_TEXTS, dtype=object)}


def require_preprocessors(model):
    if model.source_preprocessor is None or model.target_preprocessor is None:
        raise ValueError(
            f"a string-in export needs a {type(model).__name__} with source and target preprocessors; "
            "build it with from_preset(..., source_preprocessor=..., target_preprocessor=...)"
        )


def _greedy_ids(model, token_ids, padding_mask):
    return model.generate({"encoder_token_ids": token_ids, "encoder_padding_mask": padding_mask})


def generated_text(model, token_ids, strip=True):
    """The target preprocessor's `generate_postprocess` with the model's special ids."""
    return model.target_preprocessor.generate_postprocess(token_ids, model.end_token_id, model.pad_token_id, strip)


@register_endpoint(Seq2SeqLM)
def saved_model_endpoint(model):
    """`serving_default`: strings `(B,)` -> `generated_text` strings and greedy `token_ids` `(B, T)`."""
    require_preprocessors(model)

    def serve(text):
        source = model.source_preprocessor(checked_shape(text, [None], "text"))
        token_ids = model.generate_ids(source["token_ids"], source["padding_mask"])
        return {"generated_text": generated_text(model, token_ids), "token_ids": token_ids}

    def reference(inputs):
        source = model.source_preprocessor(as_strings(inputs["text"]))
        token_ids = _greedy_ids(model, source["token_ids"], source["padding_mask"])
        return {"generated_text": as_bytes(model.detokenize(token_ids)), "token_ids": token_ids}

    return Endpoint(
        function=serve,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=reference,
        sample_inputs=_sample_texts(),
        tolerances={},  # token ids and strings must match exactly
    )


def _cache_shapes(model):
    heads = model.num_heads
    head_dim = model.hidden_dim // heads
    layers = model.num_decoder_layers
    return (
        (layers, 2, model.target_length, heads, head_dim),  # self-attention
        (layers, 2, model.source_length, heads, head_dim),  # cross-attention
    )


def _decode_endpoint(model):
    self_shape, cross_shape = _cache_shapes(model)
    source_length = model.source_length

    def decode(token_ids, index, self_caches, cross_caches, encoder_padding_mask):
        logits, self_caches = model.decode_step(token_ids, index, self_caches, cross_caches, encoder_padding_mask)
        logits = model.apply_generation_rules(logits, index, model.target_length)  # checkpoints' forced tokens
        return {"logits": logits, "next_token": argmax(logits), "self_caches": self_caches}

    def reference(inputs):
        logits, caches = model.decode_step(
            tf.constant(inputs["token_ids"]),
            tf.constant(inputs["index"]),
            tf.constant(inputs["self_caches"]),
            tf.constant(inputs["cross_caches"]),
            tf.constant(inputs["encoder_padding_mask"]),
        )
        logits = model.apply_generation_rules(logits, tf.constant(inputs["index"]), model.target_length)
        return {"logits": logits.numpy(), "self_caches": caches.numpy()}

    rng = np.random.default_rng(0)
    batch = 3
    lengths = np.array([source_length, 2, source_length // 2])
    index = model.target_length // 2
    self_caches = rng.normal(size=(batch, *self_shape)).astype("float32")
    self_caches[:, :, :, index:] = 0  # positions not decoded yet
    return Endpoint(
        function=decode,
        input_signature={
            "token_ids": tf.TensorSpec((None, 1), tf.int32, name="token_ids"),
            "index": tf.TensorSpec((), tf.int32, name="index"),
            "self_caches": tf.TensorSpec((None, *self_shape), tf.float32, name="self_caches"),
            "cross_caches": tf.TensorSpec((None, *cross_shape), tf.float32, name="cross_caches"),
            "encoder_padding_mask": tf.TensorSpec((None, source_length), tf.int32, name="encoder_padding_mask"),
        },
        reference=reference,
        sample_inputs={
            "token_ids": rng.integers(4, model.target_vocabulary_size, size=(batch, 1)).astype("int32"),
            "index": np.array(index, "int32"),
            "self_caches": self_caches,
            "cross_caches": rng.normal(size=(batch, *cross_shape)).astype("float32"),
            "encoder_padding_mask": (np.arange(source_length)[None, :] < lengths[:, None]).astype("int32"),
        },
        tolerances={"logits": 1e-3, "self_caches": 1e-4},
        quantized_tolerances=LOGIT_TOLERANCES,
        quantized_free=("next_token",),
    )


def _encoder_reference(model, token_ids, padding_mask):
    encoded = model.encode(tf.constant(token_ids), tf.constant(padding_mask))
    return {
        "cross_caches": model.cross_attention_caches(encoded).numpy(),
        "encoder_padding_mask": np.asarray(padding_mask),
    }


def encoder_decoder_check(model, encode_inputs, decode_endpoint, expected_ids):
    """`Endpoint.check`: the app loop over `encode`/`decode` reproduces Keras greedy decoding.

    Shared by `Seq2SeqLM` and `LSTMSeq2Seq` (whose decode state differs,
    which `greedy_loop` reads from `decode_endpoint`'s inputs).

    Args:
        model: the encoder-decoder model (special ids, `target_length`).
        encode_inputs: the `encode` signature's sample inputs.
        decode_endpoint: the `decode` `Endpoint`.
        expected_ids: `() -> ids (B, target_length)`, Keras greedy decoding
            of `encode_inputs`.
    """
    decode_shapes = {name: spec.shape for name, spec in decode_endpoint.input_signature.items()}

    def check(run, strict):
        start = run("encode", encode_inputs)
        bos = np.full((len(start["encoder_padding_mask"]), 1), model.bos_token_id, "int32")
        got = greedy_loop(
            run,
            bos,
            model.target_length,
            start=start,
            decode_shapes=decode_shapes,
            end_token_id=model.end_token_id,
            pad_token_id=model.pad_token_id,
        )
        return compare_greedy(got, expected_ids(), strict)

    return check


def _loop_check(model, encode_inputs, decode_endpoint):
    def expected_ids():
        if "text" in encode_inputs:
            source = model.source_preprocessor(as_strings(encode_inputs["text"]))
            token_ids, padding_mask = source["token_ids"].numpy(), source["padding_mask"].numpy()
        else:
            token_ids, padding_mask = encode_inputs["token_ids"], encode_inputs["padding_mask"]
        return _greedy_ids(model, token_ids, padding_mask)

    return encoder_decoder_check(model, encode_inputs, decode_endpoint, expected_ids)


@register_endpoint(Seq2SeqLM, kind="tflite")
def tflite_endpoints(model):
    """`generate` (one call, loop inside), `encode_decode` (text in) and `encode_decode_ids` variants."""
    require_preprocessors(model)
    length = model.source_length
    source = model.source_preprocessor(SAMPLE_TEXTS)
    id_inputs = {"token_ids": source["token_ids"].numpy(), "padding_mask": source["padding_mask"].numpy()}
    endpoints = {"generate": single_call_endpoint(model)}

    def encode_text(text):
        packed = model.source_preprocessor(text)
        encoded = model.encode(packed["token_ids"], packed["padding_mask"])
        return {"cross_caches": model.cross_attention_caches(encoded), "encoder_padding_mask": packed["padding_mask"]}

    def text_reference(inputs):
        packed = model.source_preprocessor(as_strings(inputs["text"]))
        return _encoder_reference(model, packed["token_ids"].numpy(), packed["padding_mask"].numpy())

    def encode_ids(token_ids, padding_mask):
        encoded = model.encode(token_ids, padding_mask)
        return {"cross_caches": model.cross_attention_caches(encoded), "encoder_padding_mask": padding_mask}

    decode = _decode_endpoint(model)
    tolerances = {"cross_caches": 1e-4}
    endpoints["encode_decode"] = Endpoint(
        function=encode_text,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=text_reference,
        sample_inputs=_sample_texts(),
        tolerances=tolerances,
        custom_ops=True,
        extra_signatures={"decode": decode},
        name="encode",
        quantized_tolerances=LOGIT_TOLERANCES,
        check=_loop_check(model, _sample_texts(), decode),
    )
    endpoints["encode_decode_ids"] = Endpoint(
        function=encode_ids,
        input_signature={
            "token_ids": tf.TensorSpec((None, length), tf.int32, name="token_ids"),
            "padding_mask": tf.TensorSpec((None, length), tf.int32, name="padding_mask"),
        },
        reference=lambda inputs: _encoder_reference(model, inputs["token_ids"], inputs["padding_mask"]),
        sample_inputs=id_inputs,
        tolerances=tolerances,
        extra_signatures={"decode": decode},
        name="encode",
        quantized_tolerances=LOGIT_TOLERANCES,
        check=_loop_check(model, id_inputs, decode),
    )
    return endpoints


def tflite_has_text_output(model):
    """Whether the single-call TFLite file also returns `generated_text` (WordPiece targets only).

    tensorflow-text 2.21's TFLite kernel for SentencePiece detokenization
    crashes the interpreter (segmentation fault), so with a SentencePiece
    target the file returns `token_ids` and the app joins the pieces of
    `target_vocabulary.txt` (replacing U+2581 by a space), or runs the
    SentencePiece library on `target.model`.
    """
    return model.target_preprocessor.sentencepiece_model is None


def single_call_endpoint(model):
    """`serving_default`: source strings `(B,)` -> greedy `token_ids` `(B, T)` (+ `generated_text`), loop inside."""
    weights_as_constants = constant_weights(model)
    with_text = tflite_has_text_output(model)

    def generate(text):
        with weights_as_constants():
            packed = model.source_preprocessor(text)
            token_ids = model.generate_ids(packed["token_ids"], packed["padding_mask"])
            outputs = {"token_ids": token_ids}
            if with_text:  # no StringStrip kernel in TFLite; WordPiece output has no surrounding spaces
                outputs["generated_text"] = generated_text(model, token_ids, strip=False)
            return outputs

    def reference(inputs):
        source = model.source_preprocessor(as_strings(inputs["text"]))
        token_ids = _greedy_ids(model, source["token_ids"].numpy(), source["padding_mask"].numpy())
        outputs = {"token_ids": token_ids}
        if with_text:
            outputs["generated_text"] = as_bytes(model.detokenize(token_ids))
        return outputs

    return Endpoint(
        function=generate,
        input_signature={"text": tf.TensorSpec((None,), tf.string, name="text")},
        reference=reference,
        sample_inputs=_sample_texts(),
        tolerances={},  # greedy token ids must match exactly
        quantized_free=("token_ids", "generated_text"),
        custom_ops=True,
    )


def tflite_generate(model_content, inputs, *, bos_token_id, end_token_id, pad_token_id, max_length=None):
    """Greedy generation with an `encode_decode` TFLite file, the way an app runs it.

    `zoo.export.runtime.tflite_generate` for a `Seq2SeqLM` file: `encode`
    once, then `decode` step by step with the KV cache passed in and out,
    until every row produced `end_token_id` or `max_length`.

    Args:
        model_content: the `.tflite` file's bytes (or its path).
        inputs: `{"text": [str, ...]}` for the `encode_decode` variant, or
            `{"token_ids", "padding_mask"}` `(B, S)` for `encode_decode_ids`.
        bos_token_id, end_token_id, pad_token_id: the target special ids
            (`model.bos_token_id`, ...; written to the run's `generation.json`).
        max_length: output positions including BOS (default: the file's
            cache length).

    Returns:
        int32 token ids `(B, max_length)`, like `Seq2SeqLM.generate` with
        `sampler="greedy"`; `model.detokenize` turns them into text.

    Raises:
        ValueError: not an `encode_decode` file, or `max_length` out of range.
    """
    interpreter = runtime.tflite_interpreter(model_content)
    signatures = interpreter.get_signature_list()
    if set(signatures) != {"encode", "decode"}:
        raise ValueError(
            f"expected a seq2seq TFLite file with 'encode' and 'decode' signatures; got {sorted(signatures)}"
        )
    return runtime.tflite_generate(
        interpreter,
        inputs,
        bos_token_id=bos_token_id,
        end_token_id=end_token_id,
        pad_token_id=pad_token_id,
        max_length=max_length,
    )
