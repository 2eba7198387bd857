"""The structure the README's architecture notes describe, checked on the source.

* Layers follow the data flow (graph -> circuit -> target -> oracle -> start -> optimiser
  -> run -> applications -> CLI): a module imports only modules of its own layer or
  below, lazy imports (inside functions) included.
* No import cycles at all: between modules, and between packages (``hybrid.oracles`` and
  ``hybrid.mitigation`` are packages; a top-level module such as ``hybrid.runs`` is its own),
  lazy imports included. The layers alone allow cycles inside one layer; this does not.
* ``backends`` never imports ``hybrid``.
* No ``hasattr`` probes: targets declare capabilities (``backends.capabilities``).
* No source file over ``MAX_LINES`` lines unless its module docstring says why
  (a sentence starting "Longer than"), and no function over ``MAX_FUNCTION_LINES`` lines
  unless its docstring says why the same way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hybrid", "backends")
MAX_LINES = 600
MAX_FUNCTION_LINES = 80

#: Lowest first. A module belongs to the first entry whose name is a prefix of its own. The
#: layers are where the imports put each entry (test_layers_as_they_are checks the bottom one).
LAYERS: tuple[tuple[str, ...], ...] = (
    # import nothing of the project
    ("hybrid.config", "hybrid.outputs", "hybrid.maxcut", "hybrid.ledger", "hybrid.plots", "hybrid.models", "hybrid.selection", "backends"),
    ("hybrid.problems",),
    ("hybrid.families", "hybrid.ansatz", "hybrid.device_graphs"),
    ("hybrid.schedules", "hybrid.oracles"),
    ("hybrid.executors", "hybrid.mitigation"),
    ("hybrid.pauli_oracle",),
    ("hybrid.oracle_factory", "hybrid.meta"),
    ("hybrid.strategies",),
    ("hybrid.solutions",),
    ("hybrid.optimize", "hybrid.usage_plan", "hybrid.qpu_seconds"),
    ("hybrid.validation", "hybrid.paper_benchmark"),
    ("hybrid.runs", "hybrid.benchmark", "hybrid.plan"),
    ("hybrid.evaluate",),
    ("hybrid.compare",),
    ("hybrid.kinds", "hybrid.demo"),
    ("hybrid.cli",),
)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer_of(module: str) -> int:
    if module in ("hybrid", "backends"):
        return {"hybrid": len(LAYERS), "backends": layer_of("backends.base")}[module]
    for i, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return i
    raise AssertionError(f"{module} has no layer in tests/test_architecture.py LAYERS; add it")


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # "from . import meta" names a module, not an attribute
            for alias in node.names:
                candidate = f"{name}.{alias.name}"
                found.append((candidate if candidate in MODULES else name, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] in PACKAGES]


def _module_named(name: str) -> str | None:
    """The module of ``MODULES`` an imported name lives in (``hybrid.oracles.Evaluation`` -> ``hybrid.oracles``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Every module's imports of other modules of the project, lazy ones included."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {_module_named(name) for name, _ in _imports(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def package_of(module: str) -> str:
    """The package a module counts in for package cycles: ``hybrid.X`` for anything under
    ``hybrid/X`` (a top-level module is its own), ``backends`` as one."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "hybrid" else parts[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if module in ("hybrid",):  # the root package only re-exports
            continue
        own = package_of(module)
        out.setdefault(own, set()).update(package_of(t) for t in targets if t != "hybrid" and package_of(t) != own)
    return out


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle_between_modules():
    cycles = find_cycles(import_graph(MODULES))
    assert not cycles, f"import cycles between modules (lazy imports included): {cycles}"


def test_no_import_cycle_between_packages():
    cycles = find_cycles(package_graph(import_graph(MODULES)))
    assert not cycles, f"import cycles between packages (lazy imports included): {cycles}"


def test_the_checker_catches_a_cycle_inside_one_layer(tmp_path):
    # runs and benchmark share a layer, so the layer test allows runs -> benchmark -> runs;
    # the cycle test must not, even when one side imports lazily.
    assert layer_of("hybrid.runs") == layer_of("hybrid.benchmark")
    runs, other = tmp_path / "runs.py", tmp_path / "benchmark.py"
    runs.write_text("from .benchmark import QUICK\n")
    other.write_text("def f():\n    from .runs import RunConfig\n")
    planted = {**MODULES, "hybrid.runs": runs, "hybrid.benchmark": other}
    assert ["hybrid.benchmark", "hybrid.runs"] in find_cycles(import_graph(planted))
    assert find_cycles(package_graph(import_graph(planted)))
    # and a cycle between two packages through their submodules
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from ..mitigation.spec import OPTIONS\n")
    b.write_text("from ..oracles.base import Charge\n")
    planted = {**MODULES, "hybrid.oracles.zz_planted": a, "hybrid.mitigation.zz_planted": b}
    assert not find_cycles(import_graph(planted))  # no module cycle ...
    assert ["hybrid.mitigation", "hybrid.oracles"] in find_cycles(package_graph(import_graph(planted)))  # ... a package one


def test_layers_name_only_modules_that_exist():
    for names in LAYERS:
        for name in names:
            assert any(m == name or m.startswith(name + ".") for m in MODULES), f"LAYERS names {name}, which does not exist"


def test_layers_as_they_are():
    # an entry whose modules import nothing of the project outside itself belongs in the bottom layer
    graph = import_graph(MODULES)
    for names in LAYERS[1:]:
        for name in names:
            own = [m for m in MODULES if m == name or m.startswith(name + ".")]
            outside = {t for m in own for t in graph[m] if not (t == name or t.startswith(name + "."))}
            assert outside, f"{name} imports nothing of the project: move it to the bottom layer of LAYERS"


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_it(module):
    own = layer_of(module)
    upward = [
        f"{name} (line {line})"
        for name, line in _imports(module, MODULES[module])
        if layer_of(name) > own and not (name == "hybrid" or name == "backends")
    ]
    assert not upward, f"{module} (layer {own}) imports from above it: {', '.join(upward)}"


def test_backends_never_import_hybrid():
    bad = [
        f"{module}: {name}"
        for module, path in MODULES.items()
        if module.startswith("backends")
        for name, _ in _imports(module, path)
        if name.startswith("hybrid")
    ]
    assert not bad


def test_no_hasattr_probes():
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr":
                bad.append(f"{module}:{node.lineno}")
    assert not bad, f"hasattr probes (declare a capability instead): {bad}"


def test_long_files_say_why():
    bad = []
    for module, path in MODULES.items():
        lines = path.read_text().count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and "Longer than" not in doc:
            bad.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not bad, f"files over {MAX_LINES} lines without a reason in their docstring: {bad}"


def long_functions(path: Path) -> list[str]:
    """Functions of ``path`` over ``MAX_FUNCTION_LINES`` lines whose docstring gives no reason ("Longer than")."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES and "Longer than" not in (ast.get_docstring(node) or ""):
                bad.append(f"{node.name} ({lines} lines, line {node.lineno})")
    return bad


def test_long_functions_say_why():
    bad = [f"{path.relative_to(ROOT)}: {fn}" for path in MODULES.values() for fn in long_functions(path)]
    assert not bad, f"functions over {MAX_FUNCTION_LINES} lines without a reason in their docstring: {bad}"


def test_the_long_function_check_sees_one(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "long.py"
    path.write_text(f"def long():\n    \"\"\"No reason.\"\"\"\n{body}\n\ndef short():\n    return 1\n")
    assert [name.split()[0] for name in long_functions(path)] == ["long"]
    path.write_text(f"def long():\n    \"\"\"Longer than {MAX_FUNCTION_LINES} lines: a table.\"\"\"\n{body}")
    assert long_functions(path) == []


def test_the_checker_catches_an_upward_import(tmp_path):
    # A layer-1 module importing the optimiser must be reported by the same parser.
    path = tmp_path / "problems.py"
    path.write_text("def f():\n    from .optimize import ascend\n")
    names = [name for name, _ in _imports("hybrid.problems", path)]
    assert names == ["hybrid.optimize"] and layer_of("hybrid.optimize") > layer_of("hybrid.problems")
