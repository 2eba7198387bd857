"""The structure the README's architecture notes describe, checked on the source.

* Layers follow the data flow (graph -> circuit -> target -> oracle -> start -> optimiser
  -> run -> applications -> CLI): a module imports only modules of its own layer or
  below, lazy imports (inside functions) included.
* ``backends`` never imports ``hybrid``.
* No ``hasattr`` probes: targets declare capabilities (``backends.capabilities``).
* No source file over ``MAX_LINES`` lines unless its module docstring says why
  (a sentence starting "Longer than").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hybrid", "backends")
MAX_LINES = 600

#: Lowest first. A module belongs to the first entry whose name is a prefix of its own.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("hybrid.config",),
    ("hybrid.problems", "hybrid.graphs", "hybrid.maxcut", "hybrid.families"),
    ("hybrid.ansatz", "hybrid.schedules"),
    ("backends",),
    ("hybrid.device_graphs",),
    ("hybrid.oracles", "hybrid.executors"),
    ("hybrid.mitigation",),
    ("hybrid.oracle_factory",),
    ("hybrid.models",),
    ("hybrid.meta",),
    ("hybrid.strategies",),
    ("hybrid.optimize",),
    ("hybrid.ledger", "hybrid.validation", "hybrid.runs"),
    ("hybrid.plots", "hybrid.compare", "hybrid.benchmark", "hybrid.equal_budget"),
    ("hybrid.demo",),
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


def test_the_checker_catches_an_upward_import(tmp_path):
    # A layer-1 module importing the optimiser must be reported by the same parser.
    path = tmp_path / "problems.py"
    path.write_text("def f():\n    from .optimize import ascend\n")
    names = [name for name, _ in _imports("hybrid.problems", path)]
    assert names == ["hybrid.optimize"] and layer_of("hybrid.optimize") > layer_of("hybrid.problems")
