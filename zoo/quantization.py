"""Weight quantization of zoo task models (Keras' int8 / int4) that survives `.keras` save and load.

    model.quantize("int8")          # Task.quantize: every Dense / EinsumDense / Embedding, zoo's layers included
    model.save("model.keras")
    keras.saving.load_model("model.keras")   # quantized again, same outputs

Keras quantizes the leaf `Dense`, `EinsumDense` and `Embedding` layers in
place (int8: per-output-channel abs-max weights, inputs quantized per token
at call time; int4: the same with 4-bit weights packed two per byte). zoo's
blocks build those layers in their constructors, so a plain Keras reload
builds them in float and cannot take the saved int8 variables (keras#21378).
zoo's task configs therefore record the mode, and `Task.from_config`
quantizes the fresh model before Keras loads the variables into it.

A tied output projection (GPT-2, Llama-style tied tables) reads the token
table outside the Embedding's call; `dequantized_embeddings` gives that
table back in float through Keras' own dequantizing lookup.

Exports: the SavedModel runs Keras' integer ops as they are; a TFLite file
is traced through `zoo.export.quantized.tflite_compatible` (it keeps the
int8 / packed int4 weights, see there).
"""

import warnings

import keras
from keras import ops

from zoo._keras_compat import default_quantization_config, sublayers

MODES = ("int8", "int4")


def quantization_mode(model):
    """The mode a zoo model was quantized with (`"int8"`, `"int4"`) or None."""
    return getattr(model, "_zoo_quantization_mode", None)


def quantized_layers(model):
    """`{layer path: mode}` of the quantized leaf layers of a model."""
    found = {}
    for layer in sublayers(model):
        mode = getattr(layer, "quantization_mode", None)
        if mode is not None:
            found[layer.path] = mode
    return found


def quantize(model, mode):
    """Quantize a built zoo task model's weights in place (see the module docstring).

    Args:
        model: a zoo `Task` (built).
        mode: `"int8"` or `"int4"`.

    Raises:
        ValueError: an unknown mode, a model already quantized, or a model
            with LoRA adapters (merge them first: `merge_lora()`).
    """
    if mode not in MODES:
        raise ValueError(f"quantize mode must be one of {MODES}. Received: mode={mode!r}")
    current = quantization_mode(model)
    if current is not None:
        raise ValueError(f"{model.name} is already quantized ({current}); quantize a float model")
    if getattr(model, "lora_enabled", False):
        raise ValueError(f"{model.name} has LoRA adapters; call merge_lora() before quantize({mode!r})")
    if not model.built:
        raise ValueError(f"{model.name} is not built; call it on a batch (or build it) before quantize({mode!r})")
    with warnings.catch_warnings():  # one per layer without weights to quantize (norms, dropout, ...)
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method implemented")
        keras.Model.quantize(model, mode)
    if not quantized_layers(model):
        raise ValueError(f"{model.name} has no Dense, EinsumDense or Embedding layer to quantize")
    model._zoo_quantization_mode = mode
    for compiled in ("_compiled_generators", "predict_function"):
        if getattr(model, compiled, None) is not None:
            setattr(model, compiled, None)  # traced with the float weights


def is_default_config(config):
    """Whether a Keras QuantizationConfig is its mode's default (what `model.quantize(mode)` resolves to)."""
    if config is None:
        return True
    return config.get_config() == default_quantization_config(config.mode).get_config()


def dequantized_embeddings(embedding):
    """An `Embedding`'s table `(V, D)` in float: its variable, or Keras' own dequantizing lookup of every row.

    The lookup covers every layout Keras quantizes to (int8 per row, int4
    packed in blocks with zero points); it costs one gather of the table.
    """
    if getattr(embedding, "quantization_mode", None) is None:
        return embedding.embeddings
    return embedding(ops.arange(embedding.input_dim, dtype="int32"))


def float_kernel(dense):
    """A `Dense` layer's float kernel; a quantized one is refused (a factorized tied table, not supported quantized)."""
    mode = getattr(dense, "quantization_mode", None)
    if mode is not None:
        raise ValueError(f"{dense.name}: a tied projection cannot read a {mode!r}-quantized {type(dense).__name__}")
    return dense.kernel
