"""`Endpoint`: one function to export, with what it takes and how to check it."""

import dataclasses
from typing import Callable


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
        extra_signatures: more SavedModel signatures, name -> `Endpoint`
            (e.g. `"preprocess"`), each parity-checked too.
    """

    function: Callable
    input_signature: dict
    reference: Callable
    sample_inputs: dict
    tolerances: dict
    custom_ops: bool = False
    extra_signatures: dict = dataclasses.field(default_factory=dict)
