"""The zoo-internal import graph has no cycle, counting imports inside functions.

Every module under `zoo/` is parsed with `ast`; each `import zoo.x` or
`from zoo.x import y` (at module level, inside functions, under `if`) is
an edge. `from zoo.x import y` points at the module `zoo.x.y` when that is
a module, else at `zoo.x`; a package's `__init__.py` is the package itself.
A cycle is reported as one path through a strongly connected component.
"""

import ast
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zoo"


def module_name(path):
    """`zoo/export/parity.py` -> `zoo.export.parity`; `zoo/export/__init__.py` -> `zoo.export`."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def zoo_modules():
    """Module name -> path of every module under `zoo/`."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path, name, modules):
    """The zoo modules that the module `name` (at `path`) imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.add(_known_prefix(alias.name, modules))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else _known_prefix(base, modules))
    targets.discard(None)
    targets.discard(name)
    return targets


def _known_prefix(dotted, modules):
    """The longest prefix of `dotted` that is a zoo module (None outside zoo)."""
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph():
    modules = zoo_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def strongly_connected(graph):
    """Tarjan's algorithm: the components of more than one module (import cycles), sorted."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycle_in(graph, component):
    """One closed path through `component`, e.g. `a -> b -> a`."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        following = sorted(graph[path[-1]] & members)
        back = [target for target in following if target in seen]
        if back:
            loop = path[path.index(back[0]) :]
            return " -> ".join(loop + [back[0]])
        step = following[0]
        path.append(step)
        seen.add(step)


def describe_cycles(graph):
    return [cycle_in(graph, component) for component in strongly_connected(graph)]


def test_graph_helpers_find_a_cycle_and_resolve_from_imports(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert describe_cycles(graph) == ["a -> b -> c -> a"]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
    modules = {"zoo": None, "zoo.export": None, "zoo.export.parity": None, "zoo.models": None}
    source = tmp_path / "zoo" / "export" / "tflite.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "import numpy\nfrom zoo.export import parity\nfrom . import parity as p\n"
        "def f():\n    from zoo.models import CausalLM\n"
    )
    imported = imported_modules(source, "zoo.export.tflite", modules)
    assert imported == {"zoo.export.parity", "zoo.models"}


def test_zoo_has_no_import_cycle():
    graph = import_graph()
    assert "zoo.export.parity" in graph and "zoo.models" in graph
    cycles = describe_cycles(graph)
    assert not cycles, f"{len(cycles)} import cycle(s) in zoo/:\n" + "\n".join(cycles)


EXPORT_CORE = ["endpoint", "registry", "parity", "runtime", "archive", "tflite"]


def reachable(graph, start):
    """Every module `start` imports, directly or through others."""
    seen, stack = set(), [start]
    while stack:
        for target in graph[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_the_export_core_imports_no_model_and_no_task_module():
    """Imports run one way: task builders import the core, never the reverse."""
    graph = import_graph()
    core = {f"zoo.export.{name}" for name in EXPORT_CORE}
    for module in sorted(core):
        outside = {
            name
            for name in reachable(graph, module)
            if name.startswith("zoo.export.") and name not in core or name.startswith("zoo.models")
        }
        assert not outside, f"{module} imports {sorted(outside)}"
    builders = {"zoo.export.causal_lm", "zoo.export.text_classifier", "zoo.export.seq2seq"}
    for module in sorted(builders):
        assert "zoo.models" in graph[module] and "zoo.export.registry" in graph[module], module


def test_parity_imports_no_tensorflow():
    """`zoo.export.parity` (NumPy only) loads without TensorFlow, Keras or any model.

    `import zoo` itself imports TensorFlow (it registers every zoo class with
    Keras), so the check loads `zoo.export.parity` with the `__init__` of
    `zoo` and `zoo.export` bypassed; and a plain `import zoo.export.parity`
    must load no export machinery beyond what `import zoo` loads.
    """
    bypassed = (
        "import importlib, json, sys, types\n"
        f"root = {str(PACKAGE)!r}\n"
        "for name, path in (('zoo', root), ('zoo.export', root + '/export')):\n"
        "    package = types.ModuleType(name)\n"
        "    package.__path__ = [path]\n"
        "    sys.modules[name] = package\n"
        "importlib.import_module('zoo.export.parity')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = _modules_after(bypassed)
    heavy = [name for name in HEAVY if name in loaded]
    assert not heavy, f"zoo.export.parity imported {heavy}"
    zoo = [name for name in loaded if name.startswith("zoo.") and name != "zoo.export"]
    assert set(zoo) <= {"zoo.export.parity", "zoo.errors"}, zoo

    plain = (
        "import json, sys\nimport zoo\nbefore = set(sys.modules)\nimport zoo.export.parity\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    added = _modules_after(plain)
    machinery = [name for name in added if name in HEAVY or name.startswith("zoo.export.")]
    assert set(machinery) <= {"zoo.export.parity"}, machinery


HEAVY = ("tensorflow", "keras", "tensorflow_text", "ai_edge_litert")


def _modules_after(script):
    """The JSON list that `script`, run in a fresh Python, prints last."""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
