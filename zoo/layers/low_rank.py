"""Low-rank (factorized) dense projection, and the rank options of the layers that use it."""

import math

import keras
from keras import ops

from zoo.layers.initializers import clone_initializer


@keras.saving.register_keras_serializable(package="zoo")
class LowRankDense(keras.layers.Layer):
    """Dense layer with a factorized kernel `W ~= U V` (`U`: `D x rank`, `V`: `rank x units`).

    Costs `rank * (D + units)` weights and multiply-adds per token instead of
    `D * units`, so it is smaller whenever `rank < D * units / (D + units)`.
    Use it to train factorized projections from scratch, or to hold a
    truncated SVD of a trained kernel (`zoo.compress.factorize`).

    It can stand in for a multi-head `EinsumDense` projection: `input_axes=2`
    flattens the trailing `(heads, head_dim)` input axes into `D` (the
    attention output projection, `btnh,nhd->btd`), and `output_shape`
    splits the output into trailing axes (`(heads, head_dim)` for the query,
    key and value projections, `btd,dnh->btnh`). The bias then has shape
    `output_shape`, as `EinsumDense`'s.

    Args:
        units: int, output width (the product of `output_shape`). May be
            `None` when `output_shape` is given.
        rank: int, inner dimension of the factorization.
        activation: activation applied to the output (name or callable).
        use_bias: bool.
        kernel_initializer: initializer of both factors.
        bias_initializer: initializer of the bias.
        output_shape: optional tuple of ints, the trailing output axes
            (default `(units,)`).
        input_axes: int >= 1, how many trailing input axes are contracted
            (flattened into `D`).

    Call arguments:
        inputs: `(..., *input_shape[-input_axes:])`.

    Returns:
        `(..., *output_shape)`.

    Raises:
        ValueError: for a non-positive `units`, `rank` or `input_axes`, or an
            `output_shape` whose product is not `units`.

    Example:
    >>> y = LowRankDense(units=256, rank=16)(keras.random.normal((2, 10, 256)))
    >>> heads = LowRankDense(None, rank=8, output_shape=(4, 16))(keras.random.normal((2, 10, 64)))  # (2, 10, 4, 16)
    """

    def __init__(
        self,
        units,
        rank,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        output_shape=None,
        input_axes=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_shape is not None:
            output_shape = tuple(output_shape)
            if not output_shape or not all(isinstance(size, int) and size > 0 for size in output_shape):
                raise ValueError(
                    f"output_shape must be a tuple of positive integers. Received: output_shape={output_shape!r}"
                )
            units = math.prod(output_shape) if units is None else units
        for name, value in (("units", units), ("rank", rank), ("input_axes", input_axes)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        if output_shape is not None and math.prod(output_shape) != units:
            raise ValueError(
                f"output_shape must multiply to units. Received: units={units}, output_shape={output_shape}"
            )
        self.units = units
        self.rank = rank
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.output_shape = output_shape
        self.input_axes = input_axes

    @property
    def _trailing_output_shape(self):
        return (self.units,) if self.output_shape is None else self.output_shape

    def _input_dims(self, inputs_shape):
        if len(inputs_shape) < self.input_axes + 1:
            raise ValueError(
                f"LowRankDense(input_axes={self.input_axes}) needs inputs with more than {self.input_axes} "
                f"axes; received shape {tuple(inputs_shape)}"
            )
        dims = tuple(inputs_shape[-self.input_axes :])
        if any(dim is None for dim in dims):
            raise ValueError(f"the contracted input axes must be known; received shape {tuple(inputs_shape)}")
        return dims

    def build(self, inputs_shape):
        input_dim = math.prod(self._input_dims(inputs_shape))
        self.u_kernel = self.add_weight(
            name="u_kernel", shape=(input_dim, self.rank), initializer=clone_initializer(self.kernel_initializer)
        )
        self.v_kernel = self.add_weight(
            name="v_kernel", shape=(self.rank, self.units), initializer=clone_initializer(self.kernel_initializer)
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=self._trailing_output_shape, initializer=self.bias_initializer
            )
        self.built = True

    def call(self, inputs):
        input_dims = self._input_dims(inputs.shape)
        u_kernel = ops.reshape(ops.cast(self.u_kernel, inputs.dtype), input_dims + (self.rank,))
        v_kernel = ops.reshape(ops.cast(self.v_kernel, inputs.dtype), (self.rank,) + self._trailing_output_shape)
        hidden = ops.tensordot(inputs, u_kernel, axes=self.input_axes)  # (..., rank)
        outputs = ops.tensordot(hidden, v_kernel, axes=1)  # (..., *output_shape)
        if self.bias is not None:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[: len(inputs_shape) - self.input_axes]) + self._trailing_output_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "rank": self.rank,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "output_shape": None if self.output_shape is None else list(self.output_shape),
                "input_axes": self.input_axes,
            }
        )
        return config


def resolve_ranks(rank, names, argument):
    """`rank` (`None`, an int, or a dict over `names`) -> `{name: rank or None}` for every name.

    Args:
        rank: `None` (all dense), a positive int (every projection), or a
            dict from some of `names` to a positive int or `None` (dense).
        names: the projection names the dict may use.
        argument: the constructor argument's name, for error messages.

    Returns:
        dict with one entry per name in `names`.

    Raises:
        ValueError: an unknown key, or a rank that is not a positive int.
    """
    if rank is None or isinstance(rank, dict):
        given = dict(rank or {})
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"unknown {argument} keys {unknown}; expected some of {list(names)}")
    else:
        given = {name: rank for name in names}
    for name, value in given.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ValueError(
                f"{argument} must be None, a positive integer or a dict of them. "
                f"Received: {argument}={rank!r} ({name}: {value!r})"
            )
    return {name: given.get(name) for name in names}


def check_rank_option(rank, names, argument):
    """Validate a rank option (see `resolve_ranks`) and return it unchanged (dicts copied)."""
    resolve_ranks(rank, names, argument)
    return dict(rank) if isinstance(rank, dict) else rank
