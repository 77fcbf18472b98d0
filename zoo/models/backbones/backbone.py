"""The base of the backbones: presets, a config made from the constructor, the tied token table."""

import keras
from keras import ops

from zoo.models.base import constructor_arguments
from zoo.models.presets import get_preset
from zoo.quantization import dequantized_embeddings, float_kernel


@keras.saving.register_keras_serializable(package="zoo")
class Backbone(keras.Model):
    """A functional stack of `zoo.layers` that maps named inputs to final hidden states.

    A subclass stores every constructor argument under its own name, so
    `get_config` is written once here (from the constructor's signature),
    and names its family in `zoo.models.presets.PRESETS` in
    `preset_family`. It has no head: a task puts one on the hidden states,
    and with `tie_word_embeddings` projects them with `logits` onto the
    transposed input table.

    Subclasses: `TransformerEncoderBackbone`, `TransformerDecoderBackbone`,
    `EncoderDecoderBackbone`, `ViTBackbone`.
    """

    preset_family = None

    @classmethod
    def from_preset(cls, preset, /, **overrides):
        """Build from preset `preset` of `cls.preset_family`, with constructor `overrides`.

        Args:
            preset: str, a preset of `zoo.models.presets.PRESETS[cls.preset_family]`.
            **overrides: constructor arguments replacing the preset's, or
                the Keras model's `name` or `trainable`.

        Returns:
            A new backbone with randomly initialized weights.

        Raises:
            ValueError: for an unknown preset or an override that is not a
                constructor argument.
        """
        config = get_preset(cls.preset_family, preset)
        allowed = set(constructor_arguments(cls)) | {"name", "trainable"}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} arguments {unknown}; expected some of {sorted(allowed)}")
        config.update(overrides)
        return cls(**config)

    @property
    def token_embedding(self):
        """The `keras.layers.Embedding` whose table a tied output projection uses."""
        if isinstance(self.embedding, keras.layers.Embedding):  # a plain rotary table
            return self.embedding
        return self.embedding.token_embedding

    def logits(self, hidden_states):
        """`hidden_states @ table^T`: scores `(B, T, vocabulary_size)` against the token table.

        Args:
            hidden_states: `(B, T, hidden_dim)`, e.g. the backbone's output.

        Returns:
            `(B, T, vocabulary_size)` logits.

        Raises:
            ValueError: when the backbone was built with
                `tie_word_embeddings=False` (its task has its own head).
        """
        if not self.tie_word_embeddings:
            raise ValueError(
                f"{type(self).__name__}.logits projects onto the input table, but this backbone "
                "has tie_word_embeddings=False; its task needs its own output layer"
            )
        # The variables themselves go into the einsums: a functional task graph then reads their
        # values at every call (a cast of a variable would freeze today's value into the graph).
        table = dequantized_embeddings(self.token_embedding)  # (V, D) or (V, E); float after quantize()
        dtype = hidden_states.dtype
        hidden_states = ops.cast(hidden_states, table.dtype)
        projection = self._token_projection()
        if projection is not None:  # a factorized table: transpose its E -> D projection too
            hidden_states = ops.einsum("btd,ed->bte", hidden_states, float_kernel(projection))  # (E, D)
        return ops.cast(ops.einsum("btd,vd->btv", hidden_states, table), dtype)

    def _token_projection(self):
        """The `E -> D` projection after a factorized token table, or `None`."""
        return getattr(self.embedding, "token_projection", None)  # a plain rotary table has none

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        for name in constructor_arguments(type(self)):
            value = getattr(self, name)
            config[name] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
