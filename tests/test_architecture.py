"""The layering of docs/architecture.md, checked on the source: no import cycles, imports only point down.

Oracle: the import statements themselves (every ``import`` / ``from ... import`` in a module, at any depth, lazy
ones inside functions included), parsed with :mod:`ast` and resolved to the modules of the two packages.

Layers, top to bottom (a module may import its own layer and the layers below it):

5. command line: ``sdpsolve.cli``, ``certifiers.cli``
4. workflows: ``certifiers.workflows``
3. run engine: ``certifiers.engine``
2. plugins, relaxations and attacks: the other modules of ``certifiers``
1. networks: ``certifiers._layers``, ``certifiers._network``, ``certifiers._from_torch``, ``certifiers._onnx``,
   ``certifiers._load``, ``certifiers._vnnlib``
0. the solver: ``sdpsolve`` (outside its command line), which never names ``certifiers`` at all

The package catalogues (``certifiers/__init__.py``, ``sdpsolve/__init__.py``) re-export from every layer of their
package, so nothing inside a package imports its own top-level package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sdpsolve", "certifiers")
NETWORKS = {
    "certifiers._layers", "certifiers._network", "certifiers._from_torch", "certifiers._onnx", "certifiers._load",
    "certifiers._vnnlib",
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(name: str) -> str:
    path = MODULES[name]
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str) -> set[str]:
    """The modules of the two packages that module ``name`` imports (a package: its ``__init__``)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name).split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                targets.append(sub if sub in MODULES else module)
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import a.b.c` of a package path: the deepest module known
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] in PACKAGES:
                found.add(target)
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def layer(name: str) -> int:
    if name in ("sdpsolve.cli", "certifiers.cli") or name.startswith("certifiers.cli."):
        return 5
    if name.startswith("certifiers.workflows"):
        return 4
    if name.startswith("certifiers.engine"):
        return 3
    if name in NETWORKS:
        return 1
    if name.startswith("certifiers"):
        return 2
    return 0


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_checker_sees_imports():
    """The parser resolves relative, lazy and package imports (so the checks below can fail)."""
    assert "certifiers.engine._store" in GRAPH["certifiers.engine._run"]
    assert "certifiers._pool" in GRAPH["certifiers._gradcert"]  # a lazy import inside a function
    assert "sdpsolve" in GRAPH["certifiers._sdpcert"]
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    if name in PACKAGES:  # the catalogues re-export every layer of their package
        return
    up = sorted(t for t in GRAPH[name] if layer(t) > layer(name) or t in PACKAGES and t == name.split(".")[0])
    assert not up, f"{name} (layer {layer(name)}) imports {[(t, layer(t)) for t in up]}"


def test_no_library_module_imports_a_command_line_module():
    bad = [(n, t) for n, targets in GRAPH.items() for t in targets
           if layer(t) == 5 and layer(n) < 5]
    assert not bad, bad


def test_the_solver_never_names_the_certifiers():
    named = [str(p.relative_to(ROOT)) for n, p in MODULES.items()
             if n.startswith("sdpsolve") and n != "sdpsolve.cli" and "certifiers" in p.read_text(encoding="utf-8")]
    assert not named, named
