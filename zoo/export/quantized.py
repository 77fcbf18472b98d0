"""TFLite exports of Keras-quantized (int8 / int4 weights) models: `tflite_compatible`.

TFLite has no kernel for Keras' int8 x int8 -> int32 matmul (its builtin
ops take int8 only as quantized tensors with scales: "'tfl.fully_connected'
op operand #0 must be tensor of 32-bit float or QI8 type ... but got
'tensor<?x32x16xi8>'"), and its converter refuses the squeeze of the
per-token input scale that Keras' int8 `EinsumDense` traces in a cached
decode step ("'tfl.squeeze' op attribute 'squeeze_dims' failed to satisfy
constraint"). Traced under `tflite_compatible(model)`, a quantized model
computes both in float: integers cast to float32 multiply and add exactly
while a sum stays below 2**24 (127 * 127 * 1,040 terms), and beyond that
round like any float32 matmul; the squeeze is a reshape. The file keeps the
int8 (or packed int4) weight tensors and Keras' per-token input
quantization, so it reproduces the quantized Keras model, not the float one.
"""

import contextlib

import tensorflow as tf

from zoo.quantization import quantization_mode


@contextlib.contextmanager
def tflite_compatible(model):
    """Within: a quantized `model` traces with ops TFLite has (see the module docstring); a float one as is.

    It swaps three functions of Keras' TensorFlow backend
    (`keras.src.backend.tensorflow.numpy`, Keras 3.15, where `keras.ops`
    finds them at call time) and puts them back on exit: `matmul` and
    `einsum` of int8 operands cast them to float32 and return the int32 that
    Keras' own integer op returns; `squeeze` over given axes is a reshape.
    Float operands go to Keras' functions unchanged. Not thread-safe: one
    export at a time.
    """
    if quantization_mode(model) is None:
        yield
        return
    from zoo._keras_compat import tensorflow_backend_numpy

    backend_numpy = tensorflow_backend_numpy()

    originals = {name: getattr(backend_numpy, name) for name in ("matmul", "einsum", "squeeze")}

    def matmul(x1, x2):
        x1, x2 = tf.convert_to_tensor(x1), tf.convert_to_tensor(x2)
        if x1.dtype == tf.int8 and x2.dtype == tf.int8:
            return tf.cast(originals["matmul"](tf.cast(x1, tf.float32), tf.cast(x2, tf.float32)), tf.int32)
        return originals["matmul"](x1, x2)

    def einsum(subscripts, *operands, **kwargs):
        operands = [tf.convert_to_tensor(operand) for operand in operands]
        if all(operand.dtype == tf.int8 for operand in operands):
            floats = [tf.cast(operand, tf.float32) for operand in operands]
            return tf.cast(originals["einsum"](subscripts, *floats, **kwargs), tf.int32)
        return originals["einsum"](subscripts, *operands, **kwargs)

    def squeeze(x, axis=None):
        x = tf.convert_to_tensor(x)
        if axis is None or isinstance(x, tf.SparseTensor):
            return originals["squeeze"](x, axis=axis)
        rank = x.shape.rank
        axes = {a % rank for a in ((axis,) if isinstance(axis, int) else axis)}
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"Cannot squeeze axis={a}, because the dimension is not 1.")
        dims = tf.unstack(tf.shape(x))
        return tf.reshape(x, [dim for index, dim in enumerate(dims) if index not in axes])

    replacements = {"matmul": matmul, "einsum": einsum, "squeeze": squeeze}
    for name, function in replacements.items():
        setattr(backend_numpy, name, function)
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(backend_numpy, name, function)
