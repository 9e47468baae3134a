"""The apps' import graph: one way up, no cycles, and nothing leans on `reports` (issue 16, item 3).

Read from the source (ast), not by importing: an import at module level is an edge; an import inside a
function body is not (that is how a Celery task reaches its service, HackSoft-style, without a cycle).
`students` is the ground floor; the casework apps stand on it; `reports` reads from all of them and no app
imports it (the home page is a `reports` view, routed from portal/urls.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

APPS = ("portal", "students", "subsidies", "dropout_control", "nutrition", "reports")


def module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_modules(base: Path) -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in sorted((base / app).rglob("*.py")):
            if "migrations" in path.relative_to(base).parts:
                continue
            modules[module_name(path, base)] = path
    return modules


def module_level_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """Every module named by an import that runs when the module is imported (not inside a def)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                # `from app import module` imports the module too.
                found.update(f"{base}.{alias.name}" for alias in child.names)
            else:
                visit(child)

    visit(tree)
    return found


def import_graph(base: Path | None = None) -> dict[str, set[str]]:
    """First-party module -> the first-party modules it imports at module level."""
    base = base or Path(settings.BASE_DIR)
    modules = first_party_modules(base)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = module_level_imports(tree, name, path.name == "__init__.py")
        graph[name] = {
            module
            for target in targets
            for module in with_packages(target)
            if module in modules and module != name and not name.startswith(module + ".")
        }
    return graph


def with_packages(module: str) -> list[str]:
    """`a.b.c` and the packages whose `__init__` runs first when it is imported: `a`, `a.b`. (A module's own
    packages are being imported already when it runs, so they are no edge of its own.)"""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan): each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def cycle_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest closed path a -> b -> ... -> a from the component's first module, for the message."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {sorted(component)}")


def describe(graph: dict[str, set[str]], component: set[str]) -> str:
    text = " -> ".join(cycle_through(graph, component))
    if len(component) > len(cycle_through(graph, component)) - 1:
        text += f"  (tangled with: {', '.join(sorted(component))})"
    return text


def app_of(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_sees_module_level_imports_only():
    source = (
        "from reports import dashboards\nimport nutrition.rules\ndef f():\n    from subsidies import tasks\n"
    )
    found = module_level_imports(ast.parse(source), "portal.views", is_package=False)
    assert {"reports.dashboards", "nutrition.rules"} <= found
    assert "subsidies.tasks" not in found
    relative = module_level_imports(ast.parse("from . import rules\n"), "nutrition.models", False)
    assert "nutrition.rules" in relative


def test_the_cycle_finder_names_the_cycle():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert tangles(graph) == [{"a.x", "a.y", "a.z"}]
    assert describe(graph, {"a.x", "a.y", "a.z"}) == "a.x -> a.y -> a.z -> a.x"
    assert tangles({"a.x": {"a.y"}, "a.y": set()}) == []


def test_no_import_cycle_between_modules():
    graph = import_graph()
    found = [describe(graph, component) for component in tangles(graph)]
    assert not found, "import cycles (module-level imports):\n" + "\n".join(found)


def test_a_cycle_through_a_package_init_is_seen(tmp_path):
    # subsidies/tasks.py importing subsidies.services.batches runs subsidies/services/__init__.py first; if
    # that imports subsidies.tasks, importing either fails half way.
    for path, source in {
        "subsidies/__init__.py": "",
        "subsidies/tasks.py": "from subsidies.services.batches import batch_draw\n",
        "subsidies/services/__init__.py": "from subsidies.tasks import draw_batch\n",
        "subsidies/services/batches.py": "from subsidies.models import Payment\n",
        "subsidies/models.py": "",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    assert tangles(import_graph(tmp_path)) == [{"subsidies.tasks", "subsidies.services"}]


def test_nothing_outside_reports_imports_reports():
    found = [
        f"{module} imports {target}"
        for module, targets in sorted(import_graph().items())
        if app_of(module) != "reports"
        for target in sorted(targets)
        if app_of(target) == "reports"
    ]
    assert not found, "\n".join(found)


def test_students_is_the_ground_floor():
    found = [
        f"{module} imports {target}"
        for module, targets in sorted(import_graph().items())
        if app_of(module) == "students"
        for target in sorted(targets)
        if app_of(target) in ("subsidies", "dropout_control", "nutrition", "reports")
    ]
    assert not found, "\n".join(found)
