"""Turn a config dataclass into a command line, and save/load it as JSON.

A recipe declares its settings once, as a dataclass:

    @dataclasses.dataclass
    class Config:
        epochs: int = field(default=3, metadata={"help": "passes over the data"})
        hidden_dims: tuple[int, ...] = (64, 32)
        max_steps: int | None = None
        smoke: bool = False

and gets `--epochs 5 --hidden-dims 128,64 --max-steps 100 --smoke/--no-smoke`
plus `--config FILE.json`. Values are resolved with the precedence
dataclass default < JSON file < explicit command-line flag.

A dataclass may inherit settings from a base dataclass (e.g. the seed and run
folder every recipe has): its own fields come first in `--help` and in saved
JSON, then those of each base in turn (`ordered_fields`).

Supported field types: `int`, `float`, `str`, `bool`, `Literal[...]`,
`Optional[X]` / `X | None` (the word `none` on the command line gives None),
and `tuple[X, ...]`, `tuple[X, Y]`, `list[X]` of the scalar types (given
comma-separated on the command line, as a JSON list in a file).
"""

import argparse
import dataclasses
import inspect
import json

from zoo.io import atomic_write_json
from zoo.training.config_fields import cli_converter, coerce_json_value, field_types


def _values_from_mapping(config_cls, mapping, source):
    """Validate a {field_name: JSON value} mapping; raise ValueError on bad input."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{source} must hold a JSON object; received {type(mapping).__name__}")
    types_by_name = field_types(config_cls)
    unknown = sorted(set(mapping) - set(types_by_name))
    if unknown:
        raise ValueError(
            f"{source} has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys for {config_cls.__name__}: {', '.join(types_by_name)}"
        )
    return {key: coerce_json_value(key, value, types_by_name[key]) for key, value in mapping.items()}


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise ValueError(f"cannot read config file {str(path)!r}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"config file {str(path)!r} is not valid JSON: {error}") from None


def _instantiate(config_cls, values):
    """Build the dataclass; missing fields and __post_init__ errors -> ValueError."""
    missing = [
        field.name
        for field in dataclasses.fields(config_cls)
        if field.init
        and field.name not in values
        and field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    ]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise ValueError(f"missing required setting(s): {flags} (give on the command line or in --config)")
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"invalid {config_cls.__name__}: {error}") from None


def ordered_fields(config_cls):
    """The init fields of `config_cls`: its own first, then those of each base, nearest first.

    A field belongs to the most basic dataclass that declares it, so one
    redeclared to change its default stays with its base's fields. Within
    a class, fields keep their declaration order.
    """
    if not isinstance(config_cls, type):
        config_cls = type(config_cls)
    mro = config_cls.__mro__

    def owner(field):
        return max(i for i, cls in enumerate(mro) if field.name in inspect.get_annotations(cls))

    fields = [field for field in dataclasses.fields(config_cls) if field.init]
    return sorted(fields, key=owner)


# ------------------------------------------------------------------ parser


def _default_text(field):
    if field.default is not dataclasses.MISSING:
        return _display(field.default)
    if field.default_factory is not dataclasses.MISSING:
        return _display(field.default_factory())
    return "required"


def _display(value):
    if isinstance(value, (tuple, list)):
        return ",".join(str(item) for item in value)
    return str(value)


def build_parser(config_cls, *, description=None, prog=None):
    """An `argparse.ArgumentParser` with one `--flag` per field plus `--config`.

    Every flag defaults to `argparse.SUPPRESS`, so the parsed namespace holds
    only the flags given explicitly; this is how CLI values override JSON.
    """
    types_by_name = field_types(config_cls)
    if "config" in types_by_name:
        raise TypeError(f"{config_cls.__name__} may not have a field named 'config'; it is reserved for --config")
    if description is None and config_cls.__doc__:
        description = config_cls.__doc__.strip().splitlines()[0]
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--config",
        metavar="FILE.json",
        default=argparse.SUPPRESS,
        help="JSON object of settings (field names as keys); flags override it",
    )
    for field in ordered_fields(config_cls):
        _add_field_argument(parser, field, types_by_name[field.name])
    return parser


def _add_field_argument(parser, field, field_type):
    help_text = field.metadata.get("help", "").replace("%", "%%")
    help_text = f"{help_text} (default: {_default_text(field)})".strip()
    flag = "--" + field.name.replace("_", "-")
    common = dict(dest=field.name, default=argparse.SUPPRESS, help=help_text)
    if field_type.scalar is bool and field_type.container is None and not field_type.optional:
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        return
    metavar = field.name.upper()
    if field_type.choices is not None and field_type.container is None:
        metavar = "{" + ",".join(map(str, field_type.choices)) + "}"
    elif field_type.container is not None:
        metavar = f"{field_type.scalar.__name__.upper()},..."
    parser.add_argument(flag, type=cli_converter(field_type), metavar=metavar, **common)


def parse_config(config_cls, argv=None, *, description=None, prog=None):
    """Parse command-line arguments into an instance of the dataclass `config_cls`.

    Args:
        config_cls: a dataclass type; each init field becomes `--field-name`.
        argv: list of argument strings; `None` reads `sys.argv[1:]`.
        description: parser description (default: first line of the class docstring).
        prog: program name shown in usage and error lines.

    Returns:
        A `config_cls` instance: dataclass defaults, overridden by `--config`
        JSON values, overridden by explicit flags.

    Bad input (unknown JSON key, wrong type, a `__post_init__` ValueError)
    exits through `parser.error`: one error line on stderr, exit status 2.
    """
    parser = build_parser(config_cls, description=description, prog=prog)
    namespace = vars(parser.parse_args(argv))
    config_path = namespace.pop("config", None)
    try:
        values = {}
        if config_path is not None:
            values.update(_values_from_mapping(config_cls, _read_json(config_path), config_path))
        values.update(namespace)
        return _instantiate(config_cls, values)
    except ValueError as error:
        parser.error(str(error))


def config_to_dict(cfg):
    """A JSON-serializable dict of a config's init fields (tuples become lists)."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"expected a dataclass instance; received {cfg!r}")
    return {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in ordered_fields(cfg)
        for value in [getattr(cfg, field.name)]
    }


def save_config(cfg, path):
    """Write `config_to_dict(cfg)` to `path` as JSON, atomically."""
    atomic_write_json(path, config_to_dict(cfg))


def load_config(config_cls, path):
    """Read a JSON file written by `save_config` back into `config_cls`.

    Missing keys take the dataclass defaults. Unknown keys, wrong types and
    `__post_init__` failures raise `ValueError` naming the key and value.
    """
    return _instantiate(config_cls, _values_from_mapping(config_cls, _read_json(path), str(path)))


def as_flags(cfg, names):
    """`--name value` text of the fields `names` of `cfg`, as typed on a command line (e.g. to log them)."""
    return " ".join(f"--{name.replace('_', '-')} {_display(getattr(cfg, name))}" for name in names)


def replace_defaults(cfg, **overrides):
    """A copy of `cfg` with `overrides` applied only to fields still at their default.

    Used for `--smoke`: it picks a tiny preset and few epochs, yet an
    explicit `--epochs 4 --smoke` keeps the user's 4.
    """
    fields = {field.name: field for field in dataclasses.fields(cfg)}
    changes = {}
    for name, value in overrides.items():
        field = fields[name]
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            continue
        if getattr(cfg, name) == default:
            changes[name] = value
    return dataclasses.replace(cfg, **changes)
