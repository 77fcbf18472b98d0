"""Export endpoints of `CausalLM`: prompt strings -> text SavedModel, and TFLite prefill/decode.

SavedModel (with a preprocessor):

- `serving_default`: `prompt` strings `(B,)` -> `generated_text` `(B,)`
  (prompt + continuation) and greedy `token_ids` `(B, T)`, the whole
  decoding loop inside the graph.
- `generate`: the same plus `max_length` (int32 scalar, total positions
  incl. the prompt): the length chosen per request; a prompt of
  `max_length` tokens or more comes back unchanged.

TFLite (token ids; an app tokenizes with the run's vocabulary):

- `prefill_decode` (`model.tflite`): two signatures an app loops over.
  - `prefill`: `token_ids` `(B, P)` (prompts of one length P, starting with
    BOS) -> `logits` `(B, V)` and `next_token` `(B,)` for position P, and
    `cache` `(B, L, 2, T, H_kv, D_head)` (every layer's keys/values of the
    prompt; fixed shape).
  - `decode`: `token_ids` `(B, 1)` (the token at `index`), `index` (int32
    scalar), `cache` -> `logits`, `next_token` for `index + 1`, and the
    updated `cache`.
- `generate` (`model_generate.tflite`): `token_ids`/`padding_mask`
  `(B, T - 1)` prompts (right-padded) -> greedy `token_ids` `(B, T)`, the
  loop inside one call.

`tflite_generate` is the reference loop over `prefill`/`decode`; exports are
refused unless it reproduces Keras greedy generation token for token.
"""

import pathlib

import numpy as np
import tensorflow as tf

from zoo.export.endpoint import LOGIT_TOLERANCES, Endpoint, checked_shape, constant_weights
from zoo.export.parity import ExportParityError
from zoo.generation.samplers import argmax

SAMPLE_PROMPTS = ["To be, or not", "", "Ça a été très BIEN ! 😀", "word " * 2_000]


def _as_strings(texts):
    return [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in np.asarray(texts).reshape(-1)]


def _encoded(texts):
    return np.array([text.encode("utf-8") for text in texts], dtype=object)


def saved_model_endpoint(model):
    """`serving_default`: prompts -> generated text and ids; `generate`: the same with `max_length`."""
    if model.preprocessor is None:
        raise ValueError("a string-in export needs a CausalLM with a preprocessor; build it with from_preset(..., preprocessor=...)")
    width = model.sequence_length - 1

    def serve(prompt, max_length=None):
        prompt = checked_shape(prompt, [None], "prompt")
        if max_length is not None:
            max_length = checked_shape(max_length, [], "max_length")
        token_ids, padding_mask = model.pack_prompts_tensor(prompt, width)
        generated = model.generate_ids(token_ids, padding_mask, stop_length=max_length)
        return {"generated_text": model.detokenize_tensor(generated), "token_ids": generated}

    def reference(inputs, max_length=None):
        prompts = _as_strings(inputs["prompt"])
        token_ids, padding_mask = model.pack_prompts(prompts)
        generated = model.generate({"token_ids": token_ids, "padding_mask": padding_mask}, max_length=max_length)
        full = np.full((len(prompts), model.sequence_length), model.pad_token_id, "int32")
        full[:, : generated.shape[1]] = generated
        return {"generated_text": _encoded(model.detokenize(full)), "token_ids": full}

    prompt_spec = tf.TensorSpec((None,), tf.string, name="prompt")
    samples = {"prompt": np.array(SAMPLE_PROMPTS, dtype=object)}
    with_length = Endpoint(
        function=serve,
        input_signature={"prompt": prompt_spec, "max_length": tf.TensorSpec((), tf.int32, name="max_length")},
        reference=lambda inputs: reference(inputs, int(inputs["max_length"])),
        # Prompts shorter than max_length (a longer prompt comes back as it is, cut to the model's length).
        sample_inputs={"prompt": np.array(["To be", ""], dtype=object), "max_length": np.array(min(12, model.sequence_length), "int32")},
        tolerances={},
    )
    return Endpoint(
        function=lambda prompt: serve(prompt),
        input_signature={"prompt": prompt_spec},
        reference=reference,
        sample_inputs=samples,
        tolerances={},  # ids and text must match exactly
        extra_signatures={"generate": with_length},
    )


def _cache_shape(model):
    layer = model.decoder_layers[0].self_attention
    return (model.num_layers, 2, model.sequence_length, layer.num_key_value_heads, layer.key_dim)


def _prompt_samples(model, batch=3, length=5):
    token_ids = np.random.default_rng(0).integers(4, model.vocabulary_size, size=(batch, length)).astype("int32")
    token_ids[:, 0] = model.bos_token_id
    return token_ids


def tflite_endpoints(model):
    """`prefill_decode` (cached steps an app drives) and `generate` (one call, the loop inside)."""
    cache_shape = _cache_shape(model)

    def prefill(token_ids):
        batch_size = tf.shape(token_ids)[0]
        logits, cache = model.call_with_cache(token_ids, model.empty_cache(batch_size, model.sequence_length), 0)
        last = logits[:, -1]
        return {"logits": last, "next_token": argmax(last), "cache": cache}

    def decode(token_ids, index, cache):
        logits, cache = model.call_with_cache(token_ids, cache, index)
        return {"logits": logits[:, 0], "next_token": argmax(logits[:, 0]), "cache": cache}

    def prefill_reference(inputs):
        token_ids = inputs["token_ids"]
        logits, cache = model.call_with_cache(
            tf.constant(token_ids), model.empty_cache(len(token_ids), model.sequence_length), 0
        )
        return {"logits": logits.numpy()[:, -1], "cache": cache.numpy()}

    def decode_reference(inputs):
        logits, cache = model.call_with_cache(
            tf.constant(inputs["token_ids"]), tf.constant(inputs["cache"]), tf.constant(inputs["index"])
        )
        return {"logits": logits.numpy()[:, 0], "cache": cache.numpy()}

    prompts = _prompt_samples(model)
    rng = np.random.default_rng(1)
    index = min(5, model.sequence_length - 1)
    cache = rng.normal(size=(3, *cache_shape)).astype("float32")
    cache[:, :, :, index:] = 0
    decode_endpoint = Endpoint(
        function=decode,
        input_signature={
            "token_ids": tf.TensorSpec((None, 1), tf.int32, name="token_ids"),
            "index": tf.TensorSpec((), tf.int32, name="index"),
            "cache": tf.TensorSpec((None, *cache_shape), tf.float32, name="cache"),
        },
        reference=decode_reference,
        sample_inputs={"token_ids": prompts[:, :1], "index": np.array(index, "int32"), "cache": cache},
        tolerances={"logits": 1e-3, "cache": 1e-4},
        quantized_tolerances=LOGIT_TOLERANCES,
        quantized_free=("next_token",),
    )
    steps = Endpoint(
        function=prefill,
        input_signature={"token_ids": tf.TensorSpec((None, None), tf.int32, name="token_ids")},
        reference=prefill_reference,
        sample_inputs={"token_ids": prompts},
        tolerances={"logits": 1e-3, "cache": 1e-4},
        extra_signatures={"decode": decode_endpoint},
        name="prefill",
        quantized_tolerances=LOGIT_TOLERANCES,
        quantized_free=("next_token",),
        check=_loop_check(model, prompts),
    )
    return {"prefill_decode": steps, "generate": _single_call_endpoint(model)}


def _single_call_endpoint(model):
    width = model.sequence_length - 1
    weights_as_constants = constant_weights(model)

    def generate(token_ids, padding_mask):
        with weights_as_constants():
            return {"token_ids": model.generate_ids(token_ids, padding_mask)}

    def reference(inputs):
        return {"token_ids": model.generate({"token_ids": inputs["token_ids"], "padding_mask": inputs["padding_mask"]})}

    lengths = np.array([1, 4, 2])
    padding_mask = (np.arange(width)[None, :] < lengths[:, None]).astype("int32")
    token_ids = np.random.default_rng(2).integers(4, model.vocabulary_size, size=(3, width)).astype("int32")
    token_ids[:, 0] = model.bos_token_id
    return Endpoint(
        function=generate,
        input_signature={
            "token_ids": tf.TensorSpec((None, width), tf.int32, name="token_ids"),
            "padding_mask": tf.TensorSpec((None, width), tf.int32, name="padding_mask"),
        },
        reference=reference,
        sample_inputs={"token_ids": token_ids * padding_mask, "padding_mask": padding_mask},
        tolerances={},
        quantized_free=("token_ids",),
    )


def _loop_check(model, prompts):
    def check(run, strict):
        expected = model.generate({"token_ids": prompts, "padding_mask": np.ones_like(prompts)})
        got = decode_loop(
            run, prompts, cache_length=model.sequence_length, end_token_id=model.end_token_id,
            pad_token_id=model.pad_token_id,
        )
        equal = (got == expected).all(axis=1)
        if strict and not equal.all():
            rows = np.flatnonzero(~equal).tolist()
            raise ExportParityError(f"the TFLite prefill/decode loop differs from Keras greedy generation in rows {rows}")
        return {"greedy_sequences_equal": float(equal.mean()), "greedy_tokens_equal": float((got == expected).mean())}

    return check


def tflite_generate(model_content, token_ids, *, end_token_id, pad_token_id, max_length=None):
    """Greedy generation with a `prefill_decode` TFLite file, the way an app runs it.

    Args:
        model_content: the `.tflite` file's bytes (or its path).
        token_ids: int `(B, P)` prompts of one length, starting with BOS.
        end_token_id, pad_token_id: special ids (the run's `generation.json`).
        max_length: total positions incl. the prompt (default: the cache length).

    Returns:
        int32 ids `(B, max_length)` like `CausalLM.generate` with `sampler="greedy"`.
    """
    from zoo.export.tflite import run_signature, tflite_interpreter

    if isinstance(model_content, (str, pathlib.Path)):
        model_content = pathlib.Path(model_content).read_bytes()
    interpreter = tflite_interpreter(model_content)
    if set(interpreter.get_signature_list()) != {"prefill", "decode"}:
        raise ValueError(
            f"expected a causal LM TFLite file with 'prefill' and 'decode' signatures; got {sorted(interpreter.get_signature_list())}"
        )
    cache_length = int(interpreter.get_signature_runner("decode").get_input_details()["cache"]["shape"][3])
    token_ids = np.asarray(token_ids, "int32")
    max_length = cache_length if max_length is None else max_length
    if not token_ids.shape[1] < max_length <= cache_length:
        raise ValueError(
            f"max_length must be in ({token_ids.shape[1]}, {cache_length}] (prompt length, cache length). "
            f"Received: max_length={max_length}"
        )
    return decode_loop(
        lambda signature, batch: run_signature(interpreter, signature, batch),
        token_ids, cache_length=cache_length, end_token_id=end_token_id, pad_token_id=pad_token_id,
        max_length=max_length,
    )


def decode_loop(run, token_ids, *, cache_length, end_token_id, pad_token_id, max_length=None):
    """`prefill` once, then greedy `decode` steps; mirrors `zoo.generation.sample_loop`."""
    max_length = cache_length if max_length is None else max_length
    batch_size, prompt_length = token_ids.shape
    output = np.full((batch_size, max_length), pad_token_id, "int32")
    output[:, :prompt_length] = token_ids
    outputs = run("prefill", {"token_ids": token_ids})
    cache = outputs["cache"]
    finished = np.zeros(batch_size, bool)
    for index in range(prompt_length, max_length):
        token = np.where(finished, pad_token_id, np.asarray(outputs["next_token"]).astype("int32"))
        output[:, index] = token
        finished |= token == end_token_id
        if finished.all() or index == max_length - 1:
            break
        outputs = run("decode", {"token_ids": output[:, index : index + 1], "index": np.array(index, "int32"), "cache": cache})
        cache = outputs["cache"]
    return output
