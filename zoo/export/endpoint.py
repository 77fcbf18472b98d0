"""`Endpoint`: one function to export, with what it takes and how to check it.

Part of the export core: it imports no model. The per-task modules
(`zoo.export.text_classifier`, ...) build `Endpoint`s from a model.
"""

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

# Float files: 1e-3. Dynamic-range files: logits span about +-20 after training and
# int8 weights move them by up to ~0.2 (Tiny Shakespeare, 4x256: 0.185), so 1.0
# still catches a broken file; greedy agreement is measured separately (the loop checks).
LOGIT_TOLERANCES = {None: 1e-3, "dynamic": 1.0, "float16": 0.1}


@dataclasses.dataclass
class Endpoint:
    """A function to export plus how to check it against the Keras model.

    Attributes:
        function: takes the named input tensors, returns a dict of tensors.
        input_signature: dict name -> `tf.TensorSpec`.
        reference: takes a dict of NumPy inputs, returns the Keras model's
            expected outputs (dict name -> NumPy array).
        sample_inputs: dict of NumPy inputs used when the caller gives none.
        tolerances: dict output name -> max abs difference allowed (float
            outputs); other compared outputs must match exactly.
        custom_ops: whether TFLite conversion needs tensorflow-text's custom
            ops (string inputs).
        extra_signatures: more signatures, name -> `Endpoint` (e.g.
            `"preprocess"`, or a decode step next to an encoder), written
            into the same SavedModel / TFLite file and parity-checked too.
        name: the signature name of `function` (`"serving_default"`, or
            e.g. `"encode"` in a multi-signature TFLite file).
        quantized_tolerances: quantization -> max abs difference, overriding
            the generic TFLite tolerances (e.g. for logits, which are less
            bounded than probabilities).
        check: optional whole-model check run after the per-signature ones:
            `check(run, strict)` where `run(signature, inputs) -> outputs`
            runs the export; returns a dict of measurements (e.g. token
            agreement of a decoding loop) and raises `ExportParityError`
            when `strict` (float exports) and the export disagrees.
        quantized_free: outputs (generated token ids or text) that a
            quantized export need not reproduce exactly: once one greedy
            choice flips, the rest of the sequence differs. For quantized
            files their agreement with Keras is measured instead
            (`ParityReport.extra["<name>_equal"]`, fraction of equal entries).
    """

    function: Callable
    input_signature: dict
    reference: Callable
    sample_inputs: dict
    tolerances: dict
    custom_ops: bool = False
    extra_signatures: dict = dataclasses.field(default_factory=dict)
    name: str = "serving_default"
    quantized_tolerances: dict = dataclasses.field(default_factory=dict)
    check: Callable | None = None
    quantized_free: tuple = ()


def signature_endpoints(endpoint):
    """Signature name -> `Endpoint`: the main one first, then its extra signatures."""
    return {endpoint.name: endpoint, **endpoint.extra_signatures}


def constant_weights(model):
    """A scope in which `model`'s variables read as constants holding their current values.

    The TFLite converter freezes variables read in the main graph but not
    those read inside a `while` loop's body (the interpreter then fails with
    "READ_VARIABLE failed"); tracing under this scope makes every weight a
    constant, so the whole decoding loop converts.
    """
    values = [variable.numpy() for variable in model.variables]

    def scope():
        mapping = [(variable, tf.constant(value)) for variable, value in zip(model.variables, values)]
        return keras.StatelessScope(state_mapping=mapping)

    return scope


def checked_shape(tensor, shape, name):
    """`tensor`, with a run-time check that its shape matches `shape` (`None` for any size).

    A loaded signature does not check the shapes of what it is called with:
    a scalar string sent to a `(B,)` signature crashed the whole process
    inside the tokenizer, and a `(1, 2)` batch was silently read as one row.
    `tf.ensure_shape` turns both into an `InvalidArgumentError` naming the
    input and the expected shape.
    """
    return tf.ensure_shape(tensor, shape, name=f"check_{name}_shape")
