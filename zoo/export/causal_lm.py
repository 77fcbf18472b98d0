"""Export endpoints of `CausalLM`: prompt strings -> text SavedModel, and TFLite prefill/decode.

SavedModel (with a preprocessor):

- `serving_default`: `prompt` strings `(B,)` -> `generated_text` `(B,)`
  (prompt + continuation) and greedy `token_ids` `(B, T)`, the whole
  decoding loop inside the graph.
- `generate`: the same plus `max_length` (int32 scalar, total positions
  incl. the prompt): the length chosen per request; a prompt of
  `max_length` tokens or more comes back unchanged.

TFLite (token ids; an app tokenizes with the run's vocabulary, or with the
checkpoint's tokenizer files that `export_run` ships in `tflite_tokenizer/`:
the byte-level BPE and SentencePiece tokenizers have no TFLite kernels):

- `prefill_decode` (`model.tflite`): two signatures an app loops over.
  - `prefill`: `token_ids` `(B, P)` (prompts of one length P, as the
    model's tokenizer packs them: a BOS first when it adds one (Llama,
    Mistral, zoo's own `[CLS]`), none for GPT-2 and Qwen2, whose empty
    prompt is the end-of-text token alone; see `prompt_bos_id`) ->
    `logits` `(B, V)` and `next_token` `(B,)` for position P, and
    `cache` `(B, L, 2, T, H_kv, D_head)` (every layer's keys/values of the
    prompt; fixed shape).
  - `decode`: `token_ids` `(B, 1)` (the token at `index`), `index` (int32
    scalar), `cache` -> `logits`, `next_token` for `index + 1`, and the
    updated `cache`.
- `generate` (`model_generate.tflite`): `token_ids`/`padding_mask`
  `(B, T - 1)` prompts (right-padded) -> greedy `token_ids` `(B, T)`, the
  loop inside one call.

`tflite_generate` runs `zoo.export.runtime.greedy_loop` (the one app loop)
over `prefill`/`decode`. The rule of the checks:

- float32 files: logits within 1e-3 and the loop reproduces Keras greedy
  generation token for token, or the export is refused;
- quantized files (`"dynamic"`: int8 weights, float activations;
  `"float16"`): logits within `LOGIT_TOLERANCES[quantize]` (absolute) on
  the parity samples; greedy agreement is measured and reported, never
  required (one flipped argmax sends the rest of a sequence elsewhere).

Either way the report (`ParityReport.extra`, hence `export_run`'s summary)
holds, for the loop over three sample prompts: `greedy_sequences_equal`
(share of rows whose whole continuation equals Keras's),
`greedy_tokens_equal` (share of Keras's generated tokens, up to its end
token, that the file reproduced at the same position),
`greedy_prefix_equal` (share reproduced before the first difference), and
the logit error along Keras's greedy path (teacher-forced: both are fed
Keras's tokens): `path_logits_max_abs_error`, `path_logits_range` (Keras's
max - min) and `path_logits_relative_error` (their ratio).
"""

import numpy as np
import tensorflow as tf

from zoo.export import runtime
from zoo.export.endpoint import LOGIT_TOLERANCES, Endpoint, checked_shape, constant_weights
from zoo.export.parity import compare_greedy, generated_positions
from zoo.export.registry import register_endpoint
from zoo.export.runtime import as_bytes, as_strings, greedy_loop
from zoo.generation.samplers import argmax
from zoo.models import CausalLM

SAMPLE_PROMPTS = ["To be, or not", "", "Ça a été très BIEN ! 😀", "word " * 2_000]


@register_endpoint(CausalLM)
def saved_model_endpoint(model):
    """`serving_default`: prompts -> generated text and ids; `generate`: the same with `max_length`."""
    if model.preprocessor is None:
        raise ValueError(
            "a string-in export needs a CausalLM with a preprocessor; build it with from_preset(..., preprocessor=...)"
        )
    width = model.sequence_length - 1

    def serve(prompt, max_length=None):
        prompt = checked_shape(prompt, [None], "prompt")
        if max_length is not None:
            max_length = checked_shape(max_length, [], "max_length")
        token_ids, padding_mask = model.preprocessor.generate_preprocess(prompt, width)
        generated = model.generate_ids(token_ids, padding_mask, stop_length=max_length)
        text = model.preprocessor.generate_postprocess(generated, model.end_token_id, model.pad_token_id)
        return {"generated_text": text, "token_ids": generated}

    def reference(inputs, max_length=None):
        prompts = as_strings(inputs["prompt"])
        token_ids, padding_mask = model.pack_prompts(prompts)
        generated = model.generate({"token_ids": token_ids, "padding_mask": padding_mask}, max_length=max_length)
        full = np.full((len(prompts), model.sequence_length), model.pad_token_id, "int32")
        full[:, : generated.shape[1]] = generated
        return {"generated_text": as_bytes(model.detokenize(full)), "token_ids": full}

    prompt_spec = tf.TensorSpec((None,), tf.string, name="prompt")
    samples = {"prompt": np.array(SAMPLE_PROMPTS, dtype=object)}
    with_length = Endpoint(
        function=serve,
        input_signature={"prompt": prompt_spec, "max_length": tf.TensorSpec((), tf.int32, name="max_length")},
        reference=lambda inputs: reference(inputs, int(inputs["max_length"])),
        # Prompts shorter than max_length (a longer prompt comes back as it is, cut to the model's length).
        sample_inputs={
            "prompt": np.array(["To be", ""], dtype=object),
            "max_length": np.array(min(12, model.sequence_length), "int32"),
        },
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


def prompt_bos_id(model):
    """The id an app puts before a prompt's tokens, or None.

    The tokenizer's BOS when it adds one (`cls_id`: Llama-2/3, Mistral,
    zoo's own `[CLS]`); GPT-2 and Qwen2 tokenizers add none (an empty prompt
    is then the end-of-text token alone). A token-id model (no
    preprocessor): its `bos_token_id`, if any.
    """
    if model.preprocessor is not None:
        return getattr(model.preprocessor, "cls_id", None)
    return model.bos_token_id


def _prompt_samples(model, batch=3, length=5):
    """Random prompts of one length, with the model's BOS first when its prompts start with one."""
    token_ids = np.random.default_rng(0).integers(4, model.vocabulary_size, size=(batch, length)).astype("int32")
    bos = prompt_bos_id(model)
    if bos is not None:
        token_ids[:, 0] = bos
    return token_ids


@register_endpoint(CausalLM, kind="tflite")
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
        check=_loop_check(model, prompts, decode_endpoint),
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
    if prompt_bos_id(model) is not None:
        token_ids[:, 0] = prompt_bos_id(model)
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


def _loop_check(model, prompts, decode_endpoint):
    """`Endpoint.check`: the app loop over `prefill`/`decode` against Keras greedy generation.

    Measures greedy agreement (required when `strict`) and the logit error
    along Keras's greedy path (see the module docstring).
    """
    decode_shapes = {name: spec.shape for name, spec in decode_endpoint.input_signature.items()}

    def check(run, strict):
        expected = model.generate({"token_ids": prompts, "padding_mask": np.ones_like(prompts)})
        got = greedy_loop(
            run,
            prompts,
            model.sequence_length,
            start=run("prefill", {"token_ids": prompts}),
            decode_shapes=decode_shapes,
            end_token_id=model.end_token_id,
            pad_token_id=model.pad_token_id,
        )
        given = prompts.shape[1]
        measured = compare_greedy(got, expected, strict, generated_from=given, end_token_id=model.end_token_id)
        return measured | path_logit_error(run, model, expected, given)

    return check


def path_logit_error(run, model, token_ids, given):
    """The export's logit error along `token_ids` (Keras's greedy ids), both fed the same tokens.

    Args:
        run: `run(signature, inputs) -> outputs` over a `prefill_decode` file.
        model: the `CausalLM`.
        token_ids: int `(B, T)`, prompts of length `given` and their continuation.
        given: int, the prompt length.

    Returns:
        `{"path_logits_max_abs_error", "path_logits_range",
        "path_logits_relative_error"}` over the steps that predict each row's
        generated tokens (up to its end token): max |export - Keras|, Keras's
        max - min, and their ratio.
    """
    token_ids = np.asarray(token_ids, "int32")
    batch_size, length = token_ids.shape
    keras_logits, _ = model.call_with_cache(tf.constant(token_ids), model.empty_cache(batch_size, length), 0)
    want = keras_logits.numpy()[:, given - 1 : length - 1]  # (B, T - P, V): predicting positions P..T-1
    step = run("prefill", {"token_ids": token_ids[:, :given]})
    got, cache = [step["logits"]], step["cache"]
    for position in range(given, length - 1):
        inputs = {"token_ids": token_ids[:, position : position + 1], "index": np.array(position, "int32")}
        step = run("decode", {**inputs, "cache": cache})
        got.append(step["logits"])
        cache = step["cache"]
    got = np.stack(got, axis=1)
    counted = generated_positions(token_ids, given, model.end_token_id)[:, given:]  # (B, T - P)
    error = float(np.abs(got[counted].astype("float64") - want[counted]).max())
    spread = float(want[counted].max() - want[counted].min())
    return {
        "path_logits_max_abs_error": error,
        "path_logits_range": spread,
        "path_logits_relative_error": error / spread if spread else 0.0,
    }


def tflite_generate(model_content, token_ids, *, end_token_id, pad_token_id, max_length=None):
    """Greedy generation with a `prefill_decode` TFLite file, the way an app runs it.

    `zoo.export.runtime.tflite_generate` for a causal LM file.

    Args:
        model_content: the `.tflite` file's bytes (or its path).
        token_ids: int `(B, P)` prompts of one length, as the model's tokenizer
            packs them (a BOS first only when it adds one: `prompt_bos_id`).
        end_token_id, pad_token_id: special ids (the run's `generation.json`).
        max_length: total positions incl. the prompt (default: the cache length).

    Returns:
        int32 ids `(B, max_length)` like `CausalLM.generate` with `sampler="greedy"`.

    Raises:
        ValueError: not a `prefill_decode` file, or `max_length` out of range.
    """
    interpreter = runtime.tflite_interpreter(model_content)
    signatures = interpreter.get_signature_list()
    if set(signatures) != {"prefill", "decode"}:
        raise ValueError(
            f"expected a causal LM TFLite file with 'prefill' and 'decode' signatures; got {sorted(signatures)}"
        )
    return runtime.tflite_generate(
        interpreter,
        token_ids,
        end_token_id=end_token_id,
        pad_token_id=pad_token_id,
        max_length=max_length,
    )
