"""The import rules of docs/architecture.md, read from the code itself.

- The apps stand in layers, lowest first: surveys, sentiment, feedback, reports, demo. A module
  imports from its own app, from lower apps and from config's plumbing, never from a higher app.
- `config` is settings and plumbing: only its URL and API wiring (config/urls.py, config/api.py)
  import the apps. Work that crosses apps the other way goes through hooks an app registers from
  its AppConfig.ready() (surveys.customer_data.privacy.register, config.metrics.count_from_database).
- No circles between modules: every import counts, at the top, inside a function or for type
  checking only.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

LAYERS = ["surveys", "sentiment", "feedback", "reports", "demo"]
PLUMBING = "config"
WIRING = {"config.urls", "config.api"}


def modules() -> dict[str, Path]:
    found = {}
    for top in [PLUMBING, *LAYERS]:
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def imported_by(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for each of the project's modules `name` imports. `from package import
    module` imports the module; `from module import thing` the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield node.lineno, target


GRAPH = {name: {target for _, target in imported_by(name, path)} for name, path in MODULES.items()}


def top(name: str) -> str:
    return name.split(".")[0]


def test_the_layers_are_read_from_every_app():
    assert {top(name) for name in MODULES} == {PLUMBING, *LAYERS}
    assert len(MODULES) > 100


def test_no_app_imports_a_higher_one():
    wrong = []
    for name, path in MODULES.items():
        if top(name) == PLUMBING:
            continue
        rank = LAYERS.index(top(name))
        for line, target in imported_by(name, path):
            if top(target) == PLUMBING and target in WIRING:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the URL/API wiring {target}")
            elif top(target) in LAYERS and LAYERS.index(top(target)) > rank:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}, of a higher app")
    assert wrong == []


def test_config_is_plumbing_only_its_wiring_imports_the_apps():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in MODULES.items()
        if top(name) == PLUMBING and name not in WIRING
        for line, target in imported_by(name, path)
        if top(target) != PLUMBING
    ]
    assert wrong == []


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_circles_are_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_circles_between_modules():
    assert circles(GRAPH) == []


# A module is one thing a newcomer can hold in their head; a migration is history, not read as code.
MAX_LINES = 400


def test_every_module_says_first_what_it_is_for():
    silent = [
        str(path.relative_to(ROOT))
        for path in MODULES.values()
        if path.read_text().strip() and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert silent == []


def test_no_module_is_several_modules_in_one():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
