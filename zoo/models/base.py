"""`Task`: the base class of every zoo task model; its config is its constructor's arguments."""

import inspect

import keras

from zoo import lora, quantization
from zoo.models.task import RANK_ARGUMENTS, upgrade_rank_arguments


def constructor_arguments(cls):
    """The names of `cls.__init__`'s named arguments, in order (not `self`, `*args`, `**kwargs`)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return tuple(p.name for p in parameters if p.name != "self" and p.kind not in variadic)


class Task(keras.Model):
    """A zoo task model: a functional `keras.Model` whose config is written once, here.

    A subclass declares its config by its constructor: every named argument
    of `__init__` (not `**kwargs`) is a config field, stored by `__init__`
    under the same name and returned by `get_config`. Arguments listed in
    `layer_arguments` hold Keras layers (the preprocessors, which carry the
    tokenizer into `.keras` files and exports); `get_config` serializes them
    and `from_config` rebuilds them. Nothing else is needed to round-trip a
    task model through `get_config` / `from_config` and `.keras` files.

    Subclasses build their functional graph in `__init__` and call
    `super().__init__(inputs=..., outputs=..., **kwargs)` before setting
    the config attributes (Keras tracks attributes set before that call as
    layers of the model).

    Example:
    >>> @keras.saving.register_keras_serializable(package="zoo")
    ... class Tagger(Task):
    ...     layer_arguments = ("preprocessor",)
    ...     def __init__(self, vocabulary_size, num_tags, preprocessor=None, **kwargs):
    ...         ...  # build the graph, then super().__init__(inputs=..., outputs=..., **kwargs)
    ...         self.vocabulary_size, self.num_tags = vocabulary_size, num_tags
    ...         self.preprocessor = preprocessor
    """

    layer_arguments = ()
    config_attributes = {}
    # A task on a backbone names its class, and the flat constructor arguments that described the
    # backbone before there were backbones (issue 20); old files and `from_preset` still pass them.
    backbone_class = None
    flat_arguments = None
    old_rank_arguments = RANK_ARGUMENTS

    @classmethod
    def pop_flat_arguments(cls, kwargs):
        """The flat backbone arguments (and the old rank arguments) taken out of `kwargs`."""
        names = set(cls.flat_arguments or ()) | set(cls.old_rank_arguments)
        return {name: kwargs.pop(name) for name in list(kwargs) if name in names}

    @classmethod
    def checked_backbone(cls, backbone, flat, build):
        """`backbone`, or `build(flat)` when flat arguments were given; always a `backbone_class`.

        Raises:
            ValueError: both a backbone and flat arguments, or a backbone of
                another class.
        """
        if flat:
            if backbone is not None:
                raise ValueError(f"pass a backbone or its arguments, not both. Received: backbone and {sorted(flat)}")
            backbone = build(flat)
        if not isinstance(backbone, cls.backbone_class):
            raise ValueError(
                f"backbone must be a zoo.models.{cls.backbone_class.__name__}. "
                f"Received: backbone of type {type(backbone).__name__}"
            )
        return backbone

    @classmethod
    def config_arguments(cls):
        """The names of the constructor's arguments, in order: the fields of `get_config`."""
        return constructor_arguments(cls)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        for name in self.config_arguments():
            value = getattr(self, self.config_attributes.get(name, name))
            if name in self.layer_arguments and value is not None:
                value = keras.layers.serialize(value)
            config[name] = value
        if lora.lora_state(self) is not None:  # the adapters are rebuilt by `from_config`, their weights loaded
            config["lora"] = lora.lora_state(self).config()
        if quantization.quantization_mode(self) is not None:  # re-quantized by `from_config` before loading
            config["quantization"] = quantization.quantization_mode(self)
        return config

    @classmethod
    def from_config(cls, config):
        config = cls.upgrade_config(dict(config))
        lora_config = config.pop("lora", None)
        quantization_mode = config.pop("quantization", None)
        if any(isinstance(config.get(name), dict) for name in cls.layer_arguments):
            # The preprocessors are TensorFlow-only (tensorflow-text), so zoo.models imports them
            # only when a config holds one; importing zoo.tokenizers registers their classes.
            import zoo.checkpoints.seq2seq_tokenizers  # noqa: F401  (BART / Marian checkpoint preprocessors)
            import zoo.tokenizers  # noqa: F401

            for name in cls.layer_arguments:
                if isinstance(config.get(name), dict):
                    config[name] = keras.layers.deserialize(config[name])
        model = cls(**config)
        if lora_config is not None:
            model.enable_lora(**lora_config)
        if quantization_mode is not None:  # the saved int8/int4 variables load into quantized layers
            model.quantize(quantization_mode)
        return model

    @classmethod
    def upgrade_config(cls, config):
        """A config saved by an earlier zoo as today's constructor takes it (subclasses map more).

        Here: the four rank arguments of models before `low_rank` (issue 20).
        """
        if "low_rank" in cls.config_arguments():
            config = upgrade_rank_arguments(config)
        return config

    # === Weight quantization (zoo.quantization): Keras int8 / int4 that round-trips .keras ===

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantize every Dense / EinsumDense / Embedding weight to `"int8"` or `"int4"`, in place.

        The model keeps working as before (generate, predict, export) with
        weights 4x / 8x smaller; `.keras` files of it load quantized. See
        `zoo.quantization`. Keras' custom `config=` and `filters=` are not
        supported (zoo's saved configs record the mode only).
        """
        # Keras wraps this method and passes the mode's resolved default config.
        if not quantization.is_default_config(config) or filters is not None or kwargs:
            raise ValueError(f"{type(self).__name__}.quantize takes a mode only ('int8' or 'int4')")
        quantization.quantize(self, mode)

    # === LoRA (zoo.lora): low-rank updates on the frozen projections, found by path ===

    def enable_lora(self, rank, targets=lora.DEFAULT_TARGETS, alpha=None, train_head=True):
        """Freeze the model and add trainable `A`, `B` (B = 0) to each target projection; see `zoo.lora.enable`.

        Compile after this call (a model compiled before trains the old variables).

        Example:
        >>> model.enable_lora(rank=8, targets=("query", "value"))  # every query and value projection
        """
        lora.enable(self, rank, targets, alpha=alpha, train_head=train_head)

    def save_lora(self, path):
        """Write the adapter alone (and the trained head) with the base model's identity; see `zoo.lora.save`."""
        return lora.save(self, path)

    def load_lora(self, path):
        """Put a saved adapter onto this (base) model; refuses another base. See `zoo.lora.load`."""
        lora.load(self, path)

    def merge_lora(self):
        """Write the updates into the kernels and drop the adapters: a plain model again. See `zoo.lora.merge`."""
        lora.merge(self)

    @property
    def lora_enabled(self):
        return lora.lora_state(self) is not None
