"""`LoRAAdapter`: a frozen projection plus a trainable low-rank update `(alpha / rank) A B` (see `zoo.lora`)."""

import math

import keras
from keras import ops

from zoo.layers.low_rank import LowRankDense


def _projection_axes(layer):
    """`(input_dims, output_dims)`: the contracted input axes and the trailing output axes of `layer`."""
    if getattr(layer, "quantization_mode", None) is not None:
        raise ValueError(f"LoRA needs float weights; {layer.name} is quantized ({layer.quantization_mode})")
    if isinstance(layer, keras.layers.Embedding):
        return (), (layer.output_dim,)
    if isinstance(layer, LowRankDense):  # its input axes are known from the call only; their product is D_in
        output = tuple(layer.compute_output_shape((1,) * (layer.input_axes + 1)))[1:]
        return (None,) * (layer.input_axes - 1) + (layer.u_kernel.shape[0],), output
    if isinstance(layer, keras.layers.Dense):
        return (layer.kernel.shape[0],), (layer.kernel.shape[1],)
    if isinstance(layer, keras.layers.EinsumDense):
        inputs, rest = layer.equation.split(",")
        kernel, outputs = rest.split("->")
        contracted = "".join(axis for axis in kernel if axis not in outputs)
        kept = "".join(axis for axis in kernel if axis in outputs)
        if kernel != contracted + kept or not inputs.endswith(contracted) or not outputs.endswith(kept):
            raise ValueError(f"LoRA supports EinsumDense equations like 'btd,dnh->btnh'; received {layer.equation!r}")
        shape = tuple(layer.kernel.shape)
        return shape[: len(contracted)], shape[len(contracted) :]
    raise ValueError(f"LoRA supports Dense, EinsumDense, Embedding and LowRankDense; {layer.name} is {type(layer)}")


@keras.saving.register_keras_serializable(package="zoo")
class LoRAAdapter(keras.layers.Layer):
    """`layer(x) + (alpha / rank) * (x A) B`: a frozen projection plus a trainable low-rank update.

    Args:
        layer: the built projection (`Dense`, `EinsumDense`, `LowRankDense`
            or `Embedding`); its kernel is `(D_in, D_out)` once its contracted
            input axes and its output axes are flattened.
        rank: int >= 1, the inner dimension of the update.
        alpha: float, the update is scaled by `alpha / rank`; defaults to `rank`.

    Call arguments:
        inputs: what `layer` takes (token ids for an `Embedding`).

    Returns:
        what `layer` returns, plus the update.
    """

    def __init__(self, layer, rank, alpha=None, **kwargs):
        kwargs.setdefault("dtype", layer.dtype_policy)
        kwargs.setdefault("name", layer.name)
        super().__init__(**kwargs)
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive integer. Received: rank={rank!r}")
        self.layer = layer
        self.rank = rank
        self.alpha = float(rank if alpha is None else alpha)
        self.input_dims, self.output_dims = _projection_axes(layer)
        self.input_is_ids = isinstance(layer, keras.layers.Embedding)

    @property
    def scale(self):
        return self.alpha / self.rank

    def build(self, input_shape=None):
        rows = self.layer.input_dim if self.input_is_ids else math.prod(d for d in self.input_dims if d)
        self.lora_a = self.add_weight(name="lora_a", shape=(rows, self.rank), initializer="he_uniform")
        self.lora_b = self.add_weight(
            name="lora_b", shape=(self.rank, math.prod(self.output_dims)), initializer="zeros"
        )
        self.built = True

    def call(self, inputs):
        outputs = self.layer(inputs)
        lora_a = ops.cast(self.lora_a, outputs.dtype)
        if self.input_is_ids:
            hidden = ops.take(lora_a, inputs, axis=0)  # (..., rank)
        else:
            axes = len(self.input_dims)  # the contracted trailing input axes, e.g. (heads, head_dim)
            lora_a = ops.reshape(lora_a, tuple(inputs.shape[-axes:]) + (self.rank,))
            hidden = ops.tensordot(inputs, lora_a, axes=axes)  # (..., rank)
        lora_b = ops.reshape(ops.cast(self.lora_b, outputs.dtype), (self.rank,) + self.output_dims)
        update = ops.tensordot(hidden, lora_b, axes=1)  # (..., *output_dims)
        return outputs + ops.cast(self.scale, outputs.dtype) * update

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def delta(self):
        """`(alpha / rank) A B` as a NumPy `(D_in, D_out)` float32 matrix."""
        a, b = ops.convert_to_numpy(self.lora_a), ops.convert_to_numpy(self.lora_b)
        return (self.scale * (a.astype("float64") @ b.astype("float64"))).astype("float32")

    def get_config(self):
        config = super().get_config()
        config.update({"layer": keras.layers.serialize(self.layer), "rank": self.rank, "alpha": self.alpha})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = keras.layers.deserialize(config.pop("layer"))
        return cls(layer, **config)
