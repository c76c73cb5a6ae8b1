"""No import cycles, and imports point one way: web → domain → storage.

The graph is read from the source with ``ast``, including imports inside
functions, so a cycle cannot hide in a late import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cases", "intake", "staff", "web", "storage")
MODULES = ("wsgi", "cli", "config", "extensions", "i18n")
# Layers from the top; a module may import its own layer or any layer below it, never above.
LAYERS = {
    "app": {"wsgi"},
    "web": {"intake", "staff", "web", "cli", "extensions"},
    "domain": {"cases"},
    "storage": {"storage"},
    "shared": {"config", "i18n"},
}
ORDER = ["app", "web", "domain", "storage", "shared"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(source: str, this: str, known: set[str]) -> set[str]:
    """Project modules named by every import statement in ``source`` (at any depth)."""
    out: set[str] = set()
    package = this if (this in PACKAGES) else this.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    out.add(target)
                elif base in known:
                    out.add(base)
    out.discard(this)
    return out


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path.read_text(encoding="utf-8"), name, known) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> str:
    top = module.split(".")[0]
    return next(name for name, tops in LAYERS.items() if top in tops)


def test_project_modules_import_each_other_without_cycles():
    found = cycles(graph())
    assert not found, f"import cycles: {found}"


def test_imports_point_from_web_to_domain_to_storage_never_back():
    upward = [
        f"{src} ({layer(src)}) imports {dst} ({layer(dst)})"
        for src, targets in graph().items()
        for dst in targets
        if ORDER.index(layer(dst)) < ORDER.index(layer(src))
    ]
    assert not upward, "\n".join(sorted(upward))


def test_every_module_belongs_to_a_layer():
    assert all(layer(m) for m in project_modules())


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
    ids=["two modules", "three modules and a bystander", "no cycle"],
)
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert cycles(edges) == expected


def test_an_import_inside_a_function_counts():
    """Guards the guard: a late import that closes a cycle is an edge like any other."""
    source = "def later():\n    from intake.views import bp\n"
    assert imports_of(source, "web.errors", {"web.errors", "intake.views", "intake"}) == {"intake.views"}
