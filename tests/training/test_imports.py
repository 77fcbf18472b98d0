"""zoo.training is library code: it imports neither zoo.export nor the recipes, not even in a function."""

import ast
import pathlib

import pytest

from zoo.errors import ZooUserError

TRAINING = pathlib.Path(__file__).resolve().parents[2] / "zoo" / "training"
FORBIDDEN = ("zoo.export", "recipes")


def _imported_modules(path):
    """Every module an `import` or `from ... import` anywhere in the file names."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module
            # `from zoo import export` imports zoo.export too.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_the_scan_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("def f():\n    from zoo import export\n    import recipes.vit\n")
    assert {"zoo.export", "recipes.vit"} <= set(_imported_modules(path))


@pytest.mark.parametrize("path", sorted(TRAINING.glob("*.py")), ids=lambda path: path.name)
def test_no_module_of_zoo_training_imports_export_or_recipes(path):
    bad = [
        name
        for name in _imported_modules(path)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)
    ]
    assert not bad, f"{path.name} imports {bad}"


def test_run_main_prints_an_export_parity_error_as_one_line(capsys):
    from zoo.data import DataError
    from zoo.export import ExportParityError
    from zoo.training import InterruptedRunError
    from zoo.training.cli import run_main
    from zoo.training.distribute import StrategyError

    for error_class in (ExportParityError, DataError, InterruptedRunError, StrategyError):
        assert issubclass(error_class, ZooUserError)

        def main(argv, error_class=error_class):
            raise error_class(f"{error_class.__name__}: the TFLite file differs by 0.3")

        with pytest.raises(SystemExit) as exit_info:
            run_main(main, [])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert err == f"error: {error_class.__name__}: the TFLite file differs by 0.3\n"


def test_zoo_errors_imports_nothing():
    source = (TRAINING.parent / "errors.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
