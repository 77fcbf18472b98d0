"""zoo.training.config: dataclass -> CLI, JSON config files, precedence."""

import dataclasses
import json
from dataclasses import field
from typing import Literal

import pytest

from zoo.training import config_to_dict, load_config, parse_config, replace_defaults, save_config


@dataclasses.dataclass
class TrainConfig:
    """Train a tiny model."""

    epochs: int = field(default=3, metadata={"help": "passes over the data"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak rate (100% = 1.0)"})
    preset: str = "tiny"
    smoke: bool = False
    shuffle: bool = True
    max_steps: int | None = None
    out: str | None = None
    hidden_dims: tuple[int, ...] = (64, 32)
    image_size: tuple[int, int] = (28, 28)
    labels: list[str] = field(default_factory=lambda: ["neg", "pos"])
    precision: Literal["float32", "bfloat16"] = "float32"

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1; received epochs={self.epochs}")


def _write_json(tmp_path, obj, name="cfg.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def _parse_error(capsys, argv, config_cls=TrainConfig):
    """Run parse_config expecting an argparse error; return the error line."""
    with pytest.raises(SystemExit) as exit_info:
        parse_config(config_cls, argv, prog="train")
    assert exit_info.value.code == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(error_lines) == 1
    return error_lines[0]


def test_no_arguments_gives_dataclass_defaults():
    assert parse_config(TrainConfig, []) == TrainConfig()


def test_flags_of_every_supported_type():
    cfg = parse_config(
        TrainConfig,
        [
            "--epochs",
            "7",
            "--learning-rate",
            "3e-4",
            "--preset",
            "base",
            "--smoke",
            "--no-shuffle",
            "--max-steps",
            "100",
            "--out",
            "runs/a",
            "--hidden-dims",
            "128,64,32",
            "--image-size",
            "32,16",
            "--labels",
            "a,b,c",
            "--precision",
            "bfloat16",
        ],
    )
    assert cfg == TrainConfig(
        epochs=7,
        learning_rate=3e-4,
        preset="base",
        smoke=True,
        shuffle=False,
        max_steps=100,
        out="runs/a",
        hidden_dims=(128, 64, 32),
        image_size=(32, 16),
        labels=["a", "b", "c"],
        precision="bfloat16",
    )
    assert isinstance(cfg.hidden_dims, tuple) and isinstance(cfg.labels, list)


def test_optional_flag_accepts_none_word():
    cfg = parse_config(TrainConfig, ["--max-steps", "none"])
    assert cfg.max_steps is None


def test_precedence_default_then_json_then_cli(tmp_path):
    config_file = _write_json(tmp_path, {"epochs": 5, "preset": "small", "hidden_dims": [8, 4]})
    from_json = parse_config(TrainConfig, ["--config", config_file])
    assert (from_json.epochs, from_json.preset, from_json.hidden_dims) == (5, "small", (8, 4))
    assert from_json.learning_rate == 1e-3  # untouched default
    # An explicit flag wins over the file, wherever it appears on the line.
    cli = parse_config(TrainConfig, ["--epochs", "9", "--config", config_file])
    assert (cli.epochs, cli.preset) == (9, "small")


def test_explicit_flag_equal_to_default_still_overrides_json(tmp_path):
    config_file = _write_json(tmp_path, {"epochs": 5, "smoke": True})
    cfg = parse_config(TrainConfig, ["--config", config_file, "--epochs", "3", "--no-smoke"])
    assert (cfg.epochs, cfg.smoke) == (3, False)


def test_unknown_json_key_lists_valid_keys(tmp_path, capsys):
    config_file = _write_json(tmp_path, {"epochz": 5})
    line = _parse_error(capsys, ["--config", config_file])
    assert "'epochz'" in line and "valid keys" in line
    assert "epochs" in line and "learning_rate" in line


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("epochs", "5", "int"),
        ("epochs", 2.5, "int"),
        ("smoke", 1, "bool"),
        ("learning_rate", "fast", "float"),
        ("hidden_dims", "64,32", "tuple of int"),
        ("image_size", [1, 2, 3], "tuple of length 2 of int"),
        ("precision", "float16", "one of 'float32', 'bfloat16'"),
        ("preset", None, "str"),
    ],
)
def test_json_wrong_type_names_key_value_and_type(tmp_path, capsys, key, value, expected):
    config_file = _write_json(tmp_path, {key: value})
    line = _parse_error(capsys, ["--config", config_file])
    assert repr(key) in line and repr(value) in line and f"must be {expected}" in line


def test_json_int_is_accepted_for_float_field(tmp_path):
    cfg = parse_config(TrainConfig, ["--config", _write_json(tmp_path, {"learning_rate": 1})])
    assert cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float)


def test_bad_cli_value_is_a_one_line_argparse_error(capsys):
    line = _parse_error(capsys, ["--epochs", "three"])
    assert "--epochs" in line and "'three'" in line and "int" in line
    line = _parse_error(capsys, ["--image-size", "1,2,3"])
    assert "2 comma-separated values" in line


def test_post_init_value_error_becomes_argparse_error(capsys):
    line = _parse_error(capsys, ["--epochs", "0"])
    assert "epochs must be >= 1; received epochs=0" in line


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_unreadable_config_file_is_an_argparse_error(tmp_path, capsys, content):
    path = tmp_path / "cfg.json"
    path.write_text(content)
    line = _parse_error(capsys, ["--config", str(path)])
    assert str(path) in line


def test_missing_config_file_is_an_argparse_error(tmp_path, capsys):
    line = _parse_error(capsys, ["--config", str(tmp_path / "absent.json")])
    assert "cannot read config file" in line


def test_required_field_may_come_from_json(tmp_path, capsys):
    @dataclasses.dataclass
    class NeedsData:
        data: str
        epochs: int = 1

    assert parse_config(NeedsData, ["--data", "builtin:digits"]).data == "builtin:digits"
    config_file = _write_json(tmp_path, {"data": "tsv:x.tsv"})
    assert parse_config(NeedsData, ["--config", config_file]).data == "tsv:x.tsv"
    line = _parse_error(capsys, [], config_cls=NeedsData)
    assert "--data" in line


def test_help_shows_help_text_and_defaults(capsys):
    with pytest.raises(SystemExit):
        parse_config(TrainConfig, ["--help"], prog="train")
    out = " ".join(capsys.readouterr().out.split())  # undo argparse line wrapping
    assert "Train a tiny model." in out
    assert "passes over the data (default: 3)" in out
    assert "peak rate (100% = 1.0) (default: 0.001)" in out
    assert "--smoke, --no-smoke" in out
    assert "(default: 64,32)" in out


def test_unsupported_field_type_is_rejected_when_building_parser():
    @dataclasses.dataclass
    class Bad:
        mapping: dict = field(default_factory=dict)

    with pytest.raises(TypeError, match="Bad.mapping has unsupported type"):
        parse_config(Bad, [])


def test_save_and_load_round_trip(tmp_path):
    cfg = TrainConfig(epochs=4, hidden_dims=(16,), max_steps=10, labels=["x"])
    path = tmp_path / "config.json"
    save_config(cfg, path)
    assert json.loads(path.read_text())["hidden_dims"] == [16]
    assert load_config(TrainConfig, path) == cfg


def test_config_to_dict_is_json_serializable():
    as_dict = config_to_dict(TrainConfig())
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["image_size"] == [28, 28]


def test_saved_config_feeds_back_through_cli(tmp_path):
    cfg = TrainConfig(epochs=6, smoke=True, precision="bfloat16")
    save_config(cfg, tmp_path / "config.json")
    assert parse_config(TrainConfig, ["--config", str(tmp_path / "config.json")]) == cfg


def test_load_config_errors_are_value_errors(tmp_path):
    path = _write_json(tmp_path, {"epochs": 0})
    with pytest.raises(ValueError, match="received epochs=0"):
        load_config(TrainConfig, path)
    path = _write_json(tmp_path, {"bogus": 1}, name="b.json")
    with pytest.raises(ValueError, match="unknown key"):
        load_config(TrainConfig, path)


def test_replace_defaults_keeps_explicit_values():
    # --smoke picks small settings but an explicit --epochs wins.
    smoke = {"epochs": 1, "preset": "micro", "labels": ["a"]}
    cfg = replace_defaults(parse_config(TrainConfig, ["--smoke"]), **smoke)
    assert (cfg.epochs, cfg.preset, cfg.labels) == (1, "micro", ["a"])
    cfg = replace_defaults(parse_config(TrainConfig, ["--smoke", "--epochs", "5", "--labels", "x,y"]), **smoke)
    assert (cfg.epochs, cfg.preset, cfg.labels) == (5, "micro", ["x", "y"])
