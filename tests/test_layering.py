"""The dependency rule of the code base, read from the source: imports run one way.

``data_gen`` (physics) never imports ``pdesurrogate``. Inside ``pdesurrogate`` the layers are, top
to bottom: the entry point ``cli``; ``commands``; ``quickstart``; the workflows ``benchmark``,
``design``, ``active`` (which never import each other); the library ``training``, ``evaluation``,
``data``, ``models``, ``layers``; and the package's root modules (errors, config checks,
provenance). A module may import its own layer's package and the layers below, never above; no
module takes a private name from another package; and there is no import cycle between modules,
counting imports inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data_gen", "pdesurrogate")

# pdesurrogate's subpackages (and root modules, by their own name) -> layer; higher imports lower.
LAYERS = {"cli": 6, "__main__": 6, "commands": 5, "quickstart": 4, "benchmark": 3, "design": 3, "active": 3,
          "training": 2, "evaluation": 2, "data": 2, "models": 2, "layers": 2}
ROOT_LAYER = 1  # errors, config_checks, provenance, __init__
WORKFLOWS = {"benchmark", "design", "active"}


def module_names() -> dict[str, Path]:
    names = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names[".".join(parts)] = path
    return names


MODULES = module_names()


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports_of(name: str) -> list[tuple[str, str | None, int]]:
    """``(imported module, imported name or None, line)`` for every import in the module ``name``
    that lands in one of :data:`PACKAGES`, wherever it stands in the file."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                # `from . import metrics` imports the module pdesurrogate.evaluation.metrics
                found.append((submodule, None, node.lineno) if submodule in MODULES else
                             (target, alias.name, node.lineno))
    return [(target, what, line) for target, what, line in found if target.split(".")[0] in PACKAGES]


def layer_and_package(name: str) -> tuple[str, int | None, str]:
    parts = name.split(".")
    if parts[0] == "data_gen":
        return "data_gen", 0, "data_gen"
    if len(parts) == 1:
        return "pdesurrogate", ROOT_LAYER, "pdesurrogate"
    part = parts[1]
    return part, LAYERS.get(part, ROOT_LAYER), ".".join(parts[:2]) if part in LAYERS else "pdesurrogate"


def test_every_import_resolves_to_a_module_of_the_tree():
    missing = [f"{name}:{line} imports {target}" for name in MODULES for target, _, line in imports_of(name)
               if target not in MODULES]
    assert not missing, "\n".join(missing)


def test_no_upward_or_sideways_import():
    wrong = []
    for name in MODULES:
        part, layer, _ = layer_and_package(name)
        for target, _, line in imports_of(name):
            if target not in MODULES:
                continue
            their_part, their_layer, _ = layer_and_package(target)
            if name.startswith("data_gen") and target.startswith("pdesurrogate"):
                wrong.append(f"{name}:{line} imports {target}: data_gen never imports pdesurrogate")
            elif their_layer > layer:
                wrong.append(f"{name}:{line} imports {target}, a layer above it")
            elif part in WORKFLOWS and their_part in WORKFLOWS and part != their_part:
                wrong.append(f"{name}:{line} imports {target}: workflows never import each other")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_taken_across_packages():
    wrong = []
    for name in MODULES:
        own = layer_and_package(name)[2]
        for target, what, line in imports_of(name):
            taken = what if what is not None else target.rpartition(".")[2]
            private = taken.startswith("_") and not (taken.startswith("__") and taken.endswith("__"))
            if private and target in MODULES and layer_and_package(target)[2] != own:
                wrong.append(f"{name}:{line} takes {taken} from {target}")
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None; iterative DFS."""
    state = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack, path = [(start, iter(sorted(graph[start])))], [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph.get(child, ())))))
                path.append(child)
    return None


def module_graph() -> dict[str, set[str]]:
    graph = {}
    for name in MODULES:
        # A package's __init__ re-exporting its modules is not a dependency of those modules on it.
        graph[name] = {t for t, _, _ in imports_of(name) if t in MODULES and t != name
                       and not (is_package(name) and t.startswith(name + "."))}
    return graph


def test_no_import_cycle_between_modules():
    cycle = find_cycle(module_graph())
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("graph, has_cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
    ({"a": {"a"}}, True),
    ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, False),
])
def test_the_cycle_finder_itself(graph, has_cycle):
    assert (find_cycle(graph) is not None) == has_cycle
