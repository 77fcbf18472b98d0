"""Run what the exports wrote: SavedModels, LiteRT interpreters, and the greedy app loop.

Part of the export core: it imports no model. Everything here is what a
user (or an app) does with the files, and what the parity checks do:

- `load_saved_model(path)`: `tf.saved_model.load` with tensorflow-text's
  ops registered first (string-in SavedModels need them).
- `tflite_interpreter(content)` / `run_signature(interpreter, ...)` /
  `run_tflite(content, inputs)`: LiteRT with tensorflow-text's custom ops,
  quantized inputs and outputs converted to the Keras model's units.
- `greedy_loop(...)`: the one NumPy greedy decoding loop over a
  generative export's `decode` signature, and `tflite_generate(...)`, the
  loop on a generative TFLite file the way an app drives it.
- `as_strings` / `as_bytes`: the one bytes <-> str conversion.
"""

import pathlib

import numpy as np
import tensorflow as tf

from zoo.quiet import native_stderr_captured

# Decode inputs that the loop itself feeds; every other decode input is loop state.
LOOP_INPUTS = ("token_ids", "index")


def as_strings(texts):
    """Texts (str, bytes, a list or array of them) as a flat list of `str`, bad UTF-8 replaced."""
    return [
        text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        for text in np.asarray(texts, dtype=object).reshape(-1)
    ]


def as_bytes(texts):
    """Texts as a flat object array of UTF-8 `bytes`, as TensorFlow returns string tensors."""
    return np.array(
        [
            text if isinstance(text, bytes) else str(text).encode("utf-8")
            for text in np.asarray(texts, dtype=object).reshape(-1)
        ],
        dtype=object,
    )


def load_saved_model(path):
    """`tf.saved_model.load(path)` with tensorflow-text's ops registered (string-in exports)."""
    import tensorflow_text  # noqa: F401  (registers FastBertNormalize, FastWordpiece..., in TF)

    return tf.saved_model.load(str(path))


def saved_model_runner(loaded, signature):
    """`run(inputs) -> outputs` over NumPy dicts for one signature of a loaded SavedModel."""
    function = loaded.signatures[signature]

    def run(inputs):
        outputs = function(**{name: tf.constant(value) for name, value in inputs.items()})
        return {name: value.numpy() for name, value in outputs.items()}

    return run


def read_model(model_content):
    """The bytes of a TFLite model given as bytes or as a path."""
    if isinstance(model_content, (str, pathlib.Path)):
        return pathlib.Path(model_content).read_bytes()
    return model_content


def tflite_interpreter(model_content, num_threads=None):
    """An allocated LiteRT interpreter for `model_content` (bytes or a path), with text ops.

    An interpreter passed in is returned as it is (callers may reuse one).
    `num_threads`: the interpreter's CPU threads (None: LiteRT's default).
    """
    if hasattr(model_content, "get_signature_runner"):
        return model_content
    import tensorflow_text as tf_text
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    with native_stderr_captured():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
        interpreter = InterpreterWithCustomOps(
            model_content=read_model(model_content),
            custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS,  # string-in models
            num_threads=num_threads,
        )
        interpreter.allocate_tensors()
    return interpreter


def run_tflite(model_content, inputs, signature="serving_default"):
    """Run a TFLite model (bytes) on a dict of NumPy inputs; returns float outputs.

    Integer-quantized inputs are quantized with the model's own scale and
    zero point, and integer outputs are dequantized, so callers always deal
    in the same units as the Keras model (raw pixels in, probabilities out).
    String inputs (lists or object arrays of str/bytes) are passed as bytes;
    tensorflow-text's custom ops are registered.
    """
    return run_signature(tflite_interpreter(model_content), signature, inputs)


def run_signature(interpreter, signature, inputs):
    """`run_tflite` on an existing interpreter (reuse it across calls, e.g. in a decoding loop)."""
    runner = interpreter.get_signature_runner(signature)
    input_details = runner.get_input_details()
    feed = {}
    for name, value in inputs.items():
        detail = input_details[name]
        scale, zero_point = detail["quantization"]
        if detail["dtype"] in (np.bytes_, np.object_, np.str_):
            feed[name] = as_bytes(value)
            continue
        value = np.asarray(value)
        if np.issubdtype(detail["dtype"], np.integer) and scale:
            info = np.iinfo(detail["dtype"])
            value = np.round(value.astype("float32") / scale + zero_point)
            value = np.clip(value, info.min, info.max)
        feed[name] = value.astype(detail["dtype"])
    outputs = runner(**feed)
    output_details = runner.get_output_details()
    result = {}
    for name, value in outputs.items():
        scale, zero_point = output_details[name]["quantization"]
        if np.issubdtype(value.dtype, np.integer) and scale:
            value = (value.astype("float32") - zero_point) * scale
        result[name] = value
    return result


def greedy_loop(run, token_ids, max_length, *, start, decode_shapes, end_token_id, pad_token_id):
    """Greedy decoding over an export's `decode` signature; mirrors `zoo.generation.sample_loop`.

    One loop for every generative export: a causal LM's `prefill`/`decode`
    and an encoder-decoder's `encode`/`decode` (Transformer caches or LSTM
    states). Each `decode` call takes the token at position `index`
    (`token_ids` `(B, 1)`, and `index` when the signature has one) plus
    the loop state, and returns `next_token` `(B,)` for position
    `index + 1` and the updated state.

    Args:
        run: `run(signature, inputs) -> outputs` (NumPy dicts), one call of
            the export.
        token_ids: int `(B, P)`, the positions given before the loop: a
            causal LM's prompts, or an encoder-decoder's BOS column.
        max_length: int, positions of the output incl. `token_ids`.
        start: what the first signature (`prefill` or `encode`) returned:
            its `next_token` (if any) is the token at position `P`; its
            outputs named like `decode` inputs seed the loop state.
        decode_shapes: `decode`'s input names -> shapes (batch first);
            state inputs `start` lacks (e.g. self-attention caches) start
            as zeros.
        end_token_id, pad_token_id: ints; a row stops at `end_token_id` and
            is padded after it.

    Returns:
        int32 ids `(B, max_length)`, `token_ids` first.
    """
    token_ids = np.asarray(token_ids, "int32")
    batch_size, given = token_ids.shape
    state = initial_state(start, decode_shapes, batch_size)
    output = np.full((batch_size, max_length), pad_token_id, "int32")
    output[:, :given] = token_ids
    next_token = start.get("next_token")
    finished = np.zeros(batch_size, bool)
    for position in range(given, max_length):
        if next_token is None:
            inputs = {"token_ids": output[:, position - 1 : position], **state}
            if "index" in decode_shapes:
                inputs["index"] = np.array(position - 1, "int32")
            outputs = run("decode", inputs)
            state = {name: outputs.get(name, value) for name, value in state.items()}
            next_token = outputs["next_token"]
        token = np.where(finished, pad_token_id, np.asarray(next_token).astype("int32"))
        output[:, position] = token
        finished |= token == end_token_id
        next_token = None
        if finished.all():
            break
    return output


def initial_state(start, decode_shapes, batch_size):
    """The loop state of the first `decode` call: `start`'s outputs, zeros for what it lacks."""
    state = {}
    for name, shape in decode_shapes.items():
        if name in LOOP_INPUTS:
            continue
        if name in start:
            state[name] = np.asarray(start[name])
        else:
            sizes = [int(size) for size in list(shape)[1:]]
            state[name] = np.zeros((batch_size, *sizes), "float32")
    return state


def tflite_generate(model_content, inputs, *, end_token_id, pad_token_id, bos_token_id=None, max_length=None):
    """Greedy generation with a generative TFLite file, the way an app runs it.

    Two file layouts (`zoo.export.tflite_variants`):

    - a causal LM's `prefill_decode`: `inputs` are prompt ids `(B, P)` of one
      length, packed as the model's tokenizer does (a BOS first only when it
      adds one; see `tflite_tokenizer/tokenization.json` of a loaded
      checkpoint's run) (or `{"token_ids": ...}`); `max_length`
      defaults to the cache length.
    - an encoder-decoder's `encode_decode` (`Seq2SeqLM`, `LSTMSeq2Seq`):
      `inputs` are source strings (or `{"text": [...]}`), or
      `{"token_ids", "padding_mask"}` `(B, S)` for `encode_decode_ids`; the
      output starts with `bos_token_id`. `max_length` defaults to the
      self-attention cache length; a file without one (LSTM) needs it.

    Args:
        model_content: the `.tflite` file's bytes, its path, or an interpreter.
        inputs: see above.
        end_token_id, pad_token_id, bos_token_id: the special ids (the
            run's `generation.json`).
        max_length: output positions incl. the prompt or BOS.

    Returns:
        int32 ids `(B, max_length)`, like the model's `generate` with
        `sampler="greedy"`.

    Raises:
        ValueError: the file has neither layout, `max_length` is out of
            range, or an encoder-decoder file gets no `bos_token_id`.
    """
    interpreter = tflite_interpreter(model_content)
    signatures = interpreter.get_signature_list()
    if set(signatures) not in ({"prefill", "decode"}, {"encode", "decode"}):
        raise ValueError(
            "expected a generative TFLite file with 'prefill' and 'decode' (causal LM) or 'encode' "
            f"and 'decode' (encoder-decoder) signatures; got {sorted(signatures)}"
        )
    details = interpreter.get_signature_runner("decode").get_input_details()
    decode_shapes = {name: detail["shape_signature"] for name, detail in details.items()}

    def run(signature, batch):
        return run_signature(interpreter, signature, batch)

    if "prefill" in signatures:
        prompts = np.asarray(inputs["token_ids"] if isinstance(inputs, dict) else inputs, "int32")
        cache_length = int(decode_shapes["cache"][3])
        max_length = checked_length(max_length, prompts.shape[1] + 1, cache_length, "(prompt length, cache length)")
        return greedy_loop(
            run,
            prompts,
            max_length,
            start=run("prefill", {"token_ids": prompts}),
            decode_shapes=decode_shapes,
            end_token_id=end_token_id,
            pad_token_id=pad_token_id,
        )
    if bos_token_id is None:
        raise ValueError("an encoder-decoder TFLite file needs bos_token_id. Received: bos_token_id=None")
    if not isinstance(inputs, dict):
        inputs = {"text": inputs}
    if "text" in inputs:
        inputs = {"text": np.asarray(inputs["text"], dtype=object).reshape(-1)}
    cache_length = int(decode_shapes["self_caches"][3]) if "self_caches" in decode_shapes else None
    if cache_length is None and max_length is None:
        raise ValueError("this TFLite file has no output cache; pass max_length. Received: max_length=None")
    if cache_length is not None:
        max_length = checked_length(max_length, 2, cache_length)
    start = run("encode", inputs)
    batch_size = len(next(iter(start.values())))
    return greedy_loop(
        run,
        np.full((batch_size, 1), bos_token_id, "int32"),
        max_length,
        start=start,
        decode_shapes=decode_shapes,
        end_token_id=end_token_id,
        pad_token_id=pad_token_id,
    )


def checked_length(max_length, low, high, bounds_note=None):
    """`max_length` (default `high`), checked to lie in `[low, high]`.

    With a `bounds_note` (what the bounds are), the error writes the range
    as `(low - 1, high] note`, e.g. `(3, 8] (prompt length, cache length)`.
    """
    max_length = high if max_length is None else max_length
    if not low <= max_length <= high:
        bounds = f"[{low}, {high}]" if bounds_note is None else f"({low - 1}, {high}] {bounds_note}"
        raise ValueError(f"max_length must be in {bounds}. Received: max_length={max_length}")
    return max_length
