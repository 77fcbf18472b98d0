"""Position encodings: learned, sinusoidal (Vaswani et al. 2017) and rotary (RoPE)."""

import math

import keras
from keras import ops

SINUSOIDAL_LAYOUTS = ("interleaved", "concatenated")
# rope_scaling types RotaryEmbedding implements, with the keys each needs (Hugging Face's names).
ROPE_SCALING_KEYS = {
    "linear": ("factor",),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
}


def _validate_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="zoo")
class PositionEmbedding(keras.layers.Layer):
    """Learned position embedding: one trainable vector per position.

    Args:
        sequence_length: int, the largest number of positions.
        initializer: initializer for the `(offset + sequence_length, D)`
            table.
        offset: int >= 0, rows at the start of the table that no position
            uses: position `p` reads row `offset + p`. BART's and RoBERTa's
            tables start at row 2 (`offset=2`, a `1026`-row table for 1024
            positions).

    Call arguments:
        inputs: `(B, T, D)` tensor; only its shape is used.
        start_index: int or scalar tensor, position of the first step
            (the cache index when decoding step by step). Default 0.

    Returns:
        `(B, T, D)` position embeddings for positions
        `start_index ... start_index + T - 1`, to be added to `inputs`.

    Raises:
        ValueError: for a non-positive `sequence_length` or a negative
            `offset`; at call time, for a sequence longer than
            `sequence_length`.

    Example:
    >>> x = keras.random.normal((2, 10, 16))
    >>> x = x + PositionEmbedding(sequence_length=32)(x)
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", offset=0, **kwargs):
        super().__init__(**kwargs)
        _validate_positive_int("sequence_length", sequence_length)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(f"offset must be a non-negative integer. Received: offset={offset!r}")
        self.sequence_length = sequence_length
        self.initializer = keras.initializers.get(initializer)
        self.offset = offset

    def build(self, inputs_shape):
        feature_size = inputs_shape[-1]
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.offset + self.sequence_length, feature_size),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        length, feature_size = shape[-2], shape[-1]
        static_length = inputs.shape[-2]
        if static_length is not None and static_length > self.sequence_length:
            raise ValueError(
                f"PositionEmbedding got a sequence of length {static_length}, "
                f"longer than sequence_length={self.sequence_length}"
            )
        table = ops.convert_to_tensor(self.position_embeddings)
        positions = ops.slice(table, (start_index + self.offset, 0), (length, feature_size))
        positions = ops.cast(positions, self.compute_dtype)
        return ops.broadcast_to(positions, shape)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
                "offset": self.offset,
            }
        )
        return config


def sinusoidal_encoding(positions, feature_size, max_wavelength=10000.0, layout="interleaved"):
    """Sinusoidal table `(T, feature_size)` for float `positions` of shape `(T,)`.

    With `layout="interleaved"`, feature `2i` is `sin(pos /
    max_wavelength**(2i / D))` and feature `2i+1` is `cos` of the same
    angle, as in "Attention Is All You Need" (3.5). With
    `layout="concatenated"` (Marian, tensor2tensor) the `D/2` sines come
    first and the `D/2` cosines of the same angles after them.
    """
    if layout == "concatenated":
        half = feature_size // 2
        exponents = ops.arange(half, dtype="float32") * (2.0 / float(feature_size))
        inverse_timescales = ops.power(float(max_wavelength), -exponents)
        angles = ops.expand_dims(positions, 1) * ops.expand_dims(inverse_timescales, 0)
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
    feature_index = ops.arange(feature_size, dtype="float32")
    pair_index = feature_index - ops.mod(feature_index, 2.0)  # 2i for both 2i and 2i+1
    inverse_timescales = ops.power(float(max_wavelength), -pair_index / float(feature_size))
    angles = ops.expand_dims(positions, 1) * ops.expand_dims(inverse_timescales, 0)
    is_even = ops.equal(ops.mod(feature_index, 2.0), 0.0)
    return ops.where(is_even, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="zoo")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Fixed sinusoidal position encoding (Vaswani et al. 2017), no weights.

    Args:
        max_wavelength: float, the longest wavelength (10000 in the paper).
        layout: `"interleaved"` (the paper: sines at even features, cosines
            at odd ones) or `"concatenated"` (all sines, then all cosines:
            Marian); see `sinusoidal_encoding`.

    Call arguments:
        inputs: `(B, T, D)` tensor; only its shape is used.
        start_index: int or scalar tensor, position of the first step.

    Returns:
        `(B, T, D)` encodings to be added to `inputs`.

    Raises:
        ValueError: for `max_wavelength <= 1` or an unknown `layout`; at
            call time, for an odd `D` with the concatenated layout.

    Example:
    >>> x = keras.random.normal((2, 10, 16))
    >>> x = x + SinusoidalPositionEncoding()(x)
    """

    def __init__(self, max_wavelength=10000.0, layout="interleaved", **kwargs):
        super().__init__(**kwargs)
        if max_wavelength <= 1:
            raise ValueError(f"max_wavelength must be greater than 1. Received: max_wavelength={max_wavelength}")
        if layout not in SINUSOIDAL_LAYOUTS:
            raise ValueError(f"layout must be one of {SINUSOIDAL_LAYOUTS}. Received: layout={layout!r}")
        self.max_wavelength = max_wavelength
        self.layout = layout
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        length, feature_size = shape[-2], inputs.shape[-1]
        if self.layout == "concatenated" and feature_size % 2:
            raise ValueError(
                "the concatenated sinusoidal layout needs an even feature size; "
                f"received inputs of shape {inputs.shape}"
            )
        positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
        encoding = sinusoidal_encoding(positions, feature_size, self.max_wavelength, self.layout)
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength, "layout": self.layout})
        return config


@keras.saving.register_keras_serializable(package="zoo")
class RotaryEmbedding(keras.layers.Layer):
    """Rotary position embedding (RoPE, Su et al. 2021), no weights.

    Rotates feature pairs `(x[j], x[j + D/2])` by the angle
    `position * max_wavelength**(-2j / D) / scaling_factor` (the "rotate
    half" layout used by GPT-NeoX, LLaMA and keras-hub). Applied to queries
    and keys, it makes `q . k` depend only on their relative position.

    Args:
        max_wavelength: float, the base of the geometric frequency series.
        scaling_factor: float >= 1, divides positions (linear RoPE scaling).
        rope_scaling: `None` or a dict in Hugging Face's layout that rescales
            the frequencies: `{"rope_type": "linear", "factor": f}` divides
            them by `f` (as `scaling_factor`); `{"rope_type": "llama3",
            "factor", "low_freq_factor", "high_freq_factor",
            "original_max_position_embeddings"}` is Llama 3.1's: wavelengths
            longer than `original / low_freq_factor` are divided by `factor`,
            shorter than `original / high_freq_factor` are kept, and those
            between are interpolated (see `scaled_inverse_frequencies`).

    Call arguments:
        inputs: `(B, T, ..., D)` tensor with the sequence on axis 1 and an
            even feature size on the last axis, e.g. `(B, T, H, D)`.
        start_index: int or scalar tensor, position of the first step.

    Example:
    >>> q = keras.random.normal((2, 10, 4, 16))  # (B, T, H, D)
    >>> q = RotaryEmbedding()(q)
    """

    def __init__(self, max_wavelength=10000.0, scaling_factor=1.0, rope_scaling=None, **kwargs):
        super().__init__(**kwargs)
        if max_wavelength <= 1:
            raise ValueError(f"max_wavelength must be greater than 1. Received: max_wavelength={max_wavelength}")
        if scaling_factor < 1:
            raise ValueError(f"scaling_factor must be >= 1. Received: scaling_factor={scaling_factor}")
        self.max_wavelength = max_wavelength
        self.scaling_factor = scaling_factor
        self.rope_scaling = check_rope_scaling(rope_scaling)
        self.built = True

    def call(self, inputs, start_index=0):
        feature_size = inputs.shape[-1]
        if feature_size is None or feature_size % 2:
            raise ValueError(f"RotaryEmbedding needs an even feature size; received inputs of shape {inputs.shape}")
        half = feature_size // 2
        length = ops.shape(inputs)[1]
        positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
        positions = positions / float(self.scaling_factor)
        exponents = ops.arange(half, dtype="float32") * (2.0 / feature_size)
        inverse_frequencies = ops.power(float(self.max_wavelength), -exponents)
        if self.rope_scaling is not None:
            inverse_frequencies = scaled_inverse_frequencies(inverse_frequencies, self.rope_scaling)
        angles = ops.einsum("t,j->tj", positions, inverse_frequencies)  # (T, D/2)
        angles = ops.concatenate([angles, angles], axis=-1)  # (T, D)
        # Broadcast (T, D) over (B, T, ..., D).
        extra_axes = len(inputs.shape) - 3
        angles = ops.reshape(angles, (1, length) + (1,) * extra_axes + (feature_size,))
        cos = ops.cast(ops.cos(angles), inputs.dtype)
        sin = ops.cast(ops.sin(angles), inputs.dtype)
        first, second = inputs[..., :half], inputs[..., half:]
        rotated_half = ops.concatenate([-second, first], axis=-1)
        return inputs * cos + rotated_half * sin

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_wavelength": self.max_wavelength,
                "scaling_factor": self.scaling_factor,
                "rope_scaling": None if self.rope_scaling is None else dict(self.rope_scaling),
            }
        )
        return config


def check_rope_scaling(rope_scaling):
    """`rope_scaling` as a plain dict of floats with `rope_type`, or `None`; a clear error otherwise.

    Accepts Hugging Face's older `"type"` key for `"rope_type"`.

    Raises:
        ValueError: an unsupported type, a missing key or a factor below 1.
    """
    if rope_scaling is None:
        return None
    if not isinstance(rope_scaling, dict):
        raise ValueError(f"rope_scaling must be None or a dict. Received: rope_scaling={rope_scaling!r}")
    rope_type = rope_scaling.get("rope_type", rope_scaling.get("type"))
    if rope_type not in ROPE_SCALING_KEYS:
        raise ValueError(
            f"rope_scaling type must be one of {sorted(ROPE_SCALING_KEYS)}. Received: rope_type={rope_type!r}"
        )
    missing = [key for key in ROPE_SCALING_KEYS[rope_type] if not isinstance(rope_scaling.get(key), (int, float))]
    if missing:
        raise ValueError(f"rope_scaling of type {rope_type!r} needs numbers {missing}. Received: {rope_scaling!r}")
    checked = {"rope_type": rope_type, **{key: float(rope_scaling[key]) for key in ROPE_SCALING_KEYS[rope_type]}}
    if checked["factor"] < 1:
        raise ValueError(f"rope_scaling factor must be >= 1. Received: factor={checked['factor']}")
    if rope_type == "llama3" and checked["high_freq_factor"] <= checked["low_freq_factor"]:
        raise ValueError(f"rope_scaling needs high_freq_factor > low_freq_factor. Received: {rope_scaling!r}")
    return checked


def scaled_inverse_frequencies(inverse_frequencies, rope_scaling):
    """RoPE's `(D/2,)` inverse frequencies rescaled as `rope_scaling` (checked) says.

    Linear: all divided by `factor`. Llama 3 (`_compute_llama3_parameters`
    in transformers): with `L = original_max_position_embeddings` and
    wavelength `w = 2 pi / f`, `f / factor` where `w > L / low_freq_factor`,
    `f` where `w < L / high_freq_factor`, and in between
    `(1 - s) f / factor + s f` with `s = (L / w - low) / (high - low)`.
    """
    factor = rope_scaling["factor"]
    if rope_scaling["rope_type"] == "linear":
        return inverse_frequencies / factor
    low, high = rope_scaling["low_freq_factor"], rope_scaling["high_freq_factor"]
    original = rope_scaling["original_max_position_embeddings"]
    wavelengths = 2.0 * math.pi / inverse_frequencies
    smooth = (original / wavelengths - low) / (high - low)
    interpolated = (1.0 - smooth) * inverse_frequencies / factor + smooth * inverse_frequencies
    scaled = ops.where(wavelengths > original / low, inverse_frequencies / factor, interpolated)
    return ops.where(wavelengths < original / high, inverse_frequencies, scaled)
