"""Which `Endpoint` builders export which model classes, registered by a decorator.

Part of the export core: it imports no model. A task module registers its
two builders for the model classes it serves:

    @register_endpoint(TextClassifier, LSTMClassifier, CNNClassifier)
    def saved_model_endpoint(model): ...  # -> Endpoint

    @register_endpoint(TextClassifier, LSTMClassifier, CNNClassifier, kind="tflite")
    def tflite_endpoints(model): ...  # -> {variant: Endpoint}, the default first

Lookups follow the model's MRO, so a subclass of a registered model uses
its parent's builders unless it registers its own. `zoo.export.signatures`
imports every builder zoo ships.
"""

KINDS = {"saved_model": "SavedModel", "tflite": "TFLite"}

_BUILDERS = {kind: {} for kind in KINDS}  # kind -> model class -> builder


def register_endpoint(*model_classes, kind="saved_model"):
    """Decorator: the function builds the `kind` export of instances of `model_classes`.

    Args:
        *model_classes: the model classes (subclasses included) the builder serves.
        kind: `"saved_model"` (the builder returns the `serving_default`
            `Endpoint`) or `"tflite"` (it returns variant name -> `Endpoint`,
            the default variant first).

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: an unknown `kind`, no model class, or a class that
            already has a different builder of this kind.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}. Received: kind={kind!r}")
    if not model_classes or not all(isinstance(cls, type) for cls in model_classes):
        raise ValueError(f"register_endpoint needs model classes. Received: {model_classes!r}")

    def register(builder):
        builders = _BUILDERS[kind]
        for cls in model_classes:
            known = builders.get(cls)
            if known is not None and known is not builder:
                raise ValueError(
                    f"{cls.__name__} already has a {KINDS[kind]} builder "
                    f"({known.__module__}.{known.__qualname__}). "
                    f"Received: {builder.__module__}.{builder.__qualname__}"
                )
            builders[cls] = builder
        return builder

    return register


def builder_for(model, kind):
    """The registered `kind` builder of `model`'s class or its nearest registered base class.

    Raises:
        TypeError: no class in `type(model).__mro__` is registered; the message
            names the model's class and the registered ones.
    """
    builders = _BUILDERS[kind]
    for cls in type(model).__mro__:
        if cls in builders:
            return builders[cls]
    supported = ", ".join(sorted(cls.__name__ for cls in builders)) or "none"
    raise TypeError(
        f"no {KINDS[kind]} export for {type(model).__name__}; supported models: {supported} "
        f"(register one with zoo.export.registry.register_endpoint). "
        f"Received: model of class {type(model).__module__}.{type(model).__qualname__}"
    )


def registered_classes(kind="saved_model"):
    """The model classes with a registered `kind` builder, in registration order."""
    return list(_BUILDERS[kind])


def saved_model_endpoint(model):
    """The `serving_default` `Endpoint` of `model` (with any extra signatures)."""
    return builder_for(model, "saved_model")(model)


def tflite_endpoints(model):
    """The TFLite variants of `model`: name -> `Endpoint`, default first."""
    return builder_for(model, "tflite")(model)
