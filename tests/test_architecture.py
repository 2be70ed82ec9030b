"""The package's imports point one way, form no cycle, and never reach another package's privates.

Layers, bottom to top (docs/architecture.md): a package may import only from itself and the
packages before it in `LAYERS`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "wattlens"
LAYERS = (
    "core",
    "catalog",
    "physics",
    "config",
    "telemetry",
    "derive",
    "store",
    "emulator",
    "analysis",
    "plan",
    "measure",
    "app",
    "integrations",
    "web",
    "cli",
)
TOP = {"__init__", "__main__"}  # the package root may import anything


def _module(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """(imported module, imported names, inside a function) for each wattlens import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, list[str], bool]] = []

    def visit(node: ast.AST, in_func: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_func or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("wattlens"):
                out.append((child.module or "", [a.name for a in child.names], in_func))
            elif isinstance(child, ast.Import):
                for a in child.names:
                    if a.name.startswith("wattlens"):
                        out.append((a.name, [], in_func))
            visit(child, nested)

    visit(tree, False)
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


FILES = sorted(SRC.rglob("*.py"))


def test_every_package_is_in_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LAYERS)
    assert {p.stem for p in SRC.glob("*.py")} <= TOP


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for path in FILES:
        src = _package(_module(path))
        if src in TOP:
            continue
        for target, _, _ in _imports(path):
            dst = _package(target)
            if dst in TOP:
                continue
            if LAYERS.index(dst) > LAYERS.index(src):
                wrong.append(f"{_module(path)} imports {target} ({src} is below {dst})")
    assert not wrong, "\n".join(wrong)


def test_no_private_names_across_packages() -> None:
    wrong = []
    for path in FILES:
        src = _package(_module(path))
        for target, names, _ in _imports(path):
            if _package(target) == src:
                continue
            private = [n for n in names if n.startswith("_") and not n.endswith("__")]
            private_module = any(p.startswith("_") for p in target.split(".")[1:])
            if private or private_module:
                wrong.append(f"{_module(path)} imports {target} {private or ''}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    """Module-level imports (function-level ones run late and cannot deadlock start-up)."""
    graph: dict[str, set[str]] = defaultdict(set)
    modules = {_module(p) for p in FILES}
    for path in FILES:
        me = _module(path)
        for target, names, in_func in _imports(path):
            if in_func:
                continue
            # `from pkg import mod` imports the submodule pkg.mod
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            for dep in subs or [target]:
                if dep != me and dep in modules and not me.startswith(dep + "."):
                    graph[me].add(dep)
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
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

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small(path: Path) -> None:
    """About 400 lines at most, unless the module's docstring says why it is longer."""
    text = path.read_text(encoding="utf-8")
    if len(text.splitlines()) <= 400:
        return
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert "longer than 400 lines" in doc, f"{path.name}: {len(text.splitlines())} lines"
