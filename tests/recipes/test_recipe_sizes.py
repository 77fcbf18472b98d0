"""Issue 20: each recipe module reads top to bottom in at most 200 lines (shared steps live in recipes/common/)."""

import pathlib

import pytest

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"
MAX_LINES = 200
MODULES = sorted([*RECIPES.glob("*.py"), *(RECIPES / "common").glob("*.py")])


def test_the_recipe_modules_are_found():
    names = {path.name for path in MODULES}
    assert {"sentiment.py", "vit.py", "generate.py", "lifecycle.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(RECIPES)))
def test_module_is_at_most_200_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(RECIPES.parent)} has {lines} lines; the limit is {MAX_LINES}"
