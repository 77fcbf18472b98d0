"""Field types of config dataclasses: classify annotations, convert values.

`parse_config` turns each dataclass field into a command-line flag; this module
decides what a field may hold (`FieldType`), parses command-line text into it
(`cli_converter`) and checks values read from JSON (`coerce_json_value`).
"""

import argparse
import dataclasses
import types
import typing

_SCALAR_TYPES = (int, float, str, bool)
_NONE_WORDS = ("none", "null")


@dataclasses.dataclass(frozen=True)
class FieldType:
    """What a field holds: `scalar` (or `literal` choices), in a container or not."""

    scalar: type
    optional: bool = False
    container: type | None = None  # tuple or list
    length: int | None = None  # fixed tuple length; None means any length
    choices: tuple | None = None  # Literal[...] values

    def describe(self):
        if self.choices is not None:
            text = "one of " + ", ".join(repr(choice) for choice in self.choices)
        else:
            text = self.scalar.__name__
        if self.container is not None:
            size = "" if self.length is None else f" of length {self.length}"
            text = f"{self.container.__name__}{size} of {text}"
        return text + (" or null" if self.optional else "")


def _field_type(config_cls, field, annotation):
    """Classify a field's annotation, or raise TypeError for unsupported ones."""
    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        non_none = [arg for arg in args if arg is not type(None)]
        if len(non_none) != 1 or len(args) != 2:
            _unsupported(config_cls, field, annotation)
        optional, annotation = True, non_none[0]
        args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        scalars = {type(arg) for arg in args}
        if len(scalars) != 1 or not scalars <= set(_SCALAR_TYPES):
            _unsupported(config_cls, field, annotation)
        return FieldType(scalars.pop(), optional, choices=args)
    if origin in (tuple, list):
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            length, element_types = None, {args[0]}
        elif origin is tuple:
            length, element_types = len(args), set(args)
        else:
            length, element_types = None, set(args)
        if len(element_types) != 1 or not element_types <= set(_SCALAR_TYPES):
            _unsupported(config_cls, field, annotation)
        return FieldType(element_types.pop(), optional, origin, length)
    if annotation in _SCALAR_TYPES:
        return FieldType(annotation, optional)
    _unsupported(config_cls, field, annotation)


def _unsupported(config_cls, field, annotation):
    raise TypeError(
        f"{config_cls.__name__}.{field.name} has unsupported type {annotation!r}; "
        "expected int, float, str, bool, Literal[...], Optional[X], "
        "tuple[X, ...] or list[X]"
    )


def field_types(config_cls):
    """Map each init field name of `config_cls` to its `FieldType`."""
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)):
        raise TypeError(f"expected a dataclass type; received {config_cls!r}")
    hints = typing.get_type_hints(config_cls, include_extras=False)
    return {
        field.name: _field_type(config_cls, field, hints[field.name])
        for field in dataclasses.fields(config_cls)
        if field.init
    }


def _convert_scalar(text, field_type):
    """Parse one command-line token as `field_type.scalar`."""
    if field_type.scalar is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(text)
    value = field_type.scalar(text.strip())
    if field_type.choices is not None and value not in field_type.choices:
        raise ValueError(text)
    return value


def cli_converter(field_type):
    """An argparse `type=` callable producing the field's value from a string."""

    def convert(text):
        if field_type.optional and text.strip().lower() in _NONE_WORDS:
            return None
        try:
            if field_type.container is None:
                return _convert_scalar(text, field_type)
            parts = [part for part in text.split(",") if part.strip()]
            values = [_convert_scalar(part, field_type) for part in parts]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {field_type.describe()}; received {text!r}") from None
        if field_type.length is not None and len(values) != field_type.length:
            raise argparse.ArgumentTypeError(f"expected {field_type.length} comma-separated values; received {text!r}")
        return field_type.container(values)

    return convert


def _json_scalar_ok(value, field_type):
    if field_type.choices is not None:
        return value in field_type.choices and type(value) is field_type.scalar
    if field_type.scalar is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if field_type.scalar is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, field_type.scalar)


def coerce_json_value(key, value, field_type):
    """Check a JSON value against the field type; return it in the field's form."""
    if value is None and field_type.optional:
        return None
    if field_type.container is None:
        ok = _json_scalar_ok(value, field_type)
        coerced = float(value) if ok and field_type.scalar is float else value
    else:
        ok = isinstance(value, list) and all(_json_scalar_ok(item, field_type) for item in value)
        ok = ok and (field_type.length is None or len(value) == field_type.length)
        coerced = None
        if ok:
            cast = float if field_type.scalar is float else (lambda item: item)
            coerced = field_type.container(cast(item) for item in value)
    if not ok:
        raise ValueError(
            f"config key {key!r} must be {field_type.describe()}; received {value!r} ({type(value).__name__})"
        )
    return coerced
