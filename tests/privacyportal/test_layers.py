"""Layers point down (issue 11, point 1), read from the source with ``ast``.

Every module of the project's apps is parsed, its imports at the top AND inside
functions, and the test fails when:

1. the kernel (``privacyportal``) imports an app: it is the ground floor and the
   composition root, and reaches the apps only through its registries and by URL strings;
2. an app imports an app above it in ``LAYERS`` (``bench`` may import every app; nothing
   imports ``bench``, which production does not install);
3. a module imports a private name (``from x import _y``) from another module;
4. modules import each other in a circle.

The one lazy import allowed, a task importing its own app's services inside the task
body (the HackSoft styleguide's Celery rule; an app's services may be split by subject,
as ``requests.propagation`` and ``requests.access_copy`` are), is not counted.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "privacyportal"
# From the bottom up: each may import those before it, never those after it.
LAYERS = ("privacyportal", "accounts", "consents", "help", "requests", "api")
# Development only: imports everything, is imported by nothing.
BENCH = "bench"
PACKAGES = (*LAYERS, BENCH)


@dataclass(frozen=True)
class Import:
    importer: str
    # The module imported: a submodule when ``from package import submodule``.
    module: str
    name: str | None
    line: int
    in_function: bool
    # Inside an AppConfig's ready(), where Django wants an app's registrations imported.
    in_ready: bool = False

    @property
    def package(self) -> str:
        return self.module.split(".")[0]


def module_files(packages=PACKAGES) -> dict[str, Path]:
    files = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def is_package(module: str, modules) -> bool:
    return any(other.startswith(f"{module}.") for other in modules)


def imports_of(module: str, source: str, modules) -> list[Import]:
    """Every import ``module`` makes, at the top and inside functions, resolved to modules
    (``modules``: the project's module names, to tell a submodule from a name)."""
    package = module if is_package(module, modules) else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node, in_function: bool, task_body: bool, in_ready: bool = False) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(module, alias.name, None, node.lineno, in_function, in_ready))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source_module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source_module = node.module
            for alias in node.names:
                submodule = f"{source_module}.{alias.name}"
                target = submodule if submodule in modules else source_module
                if task_body and is_own_app(module, target):
                    continue
                found.append(Import(module, target, alias.name, node.lineno, in_function, in_ready))
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                ready = in_ready or (module.endswith(".apps") and child.name == "ready")
                visit(child, True, task_body or is_task(module, child), ready)
            else:
                visit(child, in_function, task_body, in_ready)

    visit(ast.parse(source), False, False)
    return found


def is_task(module: str, function) -> bool:
    return module.rpartition(".")[2] == "tasks" and any(
        "task" in ast.unparse(decorator) for decorator in function.decorator_list
    )


def is_own_app(module: str, target: str) -> bool:
    return target.split(".")[0] == module.split(".")[0]


def project_imports() -> list[Import]:
    files = module_files()
    return [
        found
        for module, path in files.items()
        for found in imports_of(module, path.read_text(encoding="utf-8"), files)
    ]


def kernel_imports(imports) -> set[tuple[str, str]]:
    return {
        (i.importer, i.module)
        for i in imports
        if i.importer.split(".")[0] == KERNEL and i.package in PACKAGES and i.package != KERNEL
    }


def upward_imports(imports) -> set[tuple[str, str]]:
    wrong = set()
    for i in imports:
        app = i.importer.split(".")[0]
        if i.package not in PACKAGES or i.package == app or app == KERNEL:
            continue
        if i.package == BENCH or (app != BENCH and LAYERS.index(i.package) > LAYERS.index(app)):
            wrong.add((i.importer, i.module))
    return wrong


def private_imports(imports) -> set[tuple[str, str, str]]:
    return {
        (i.importer, i.module, i.name)
        for i in imports
        if i.name and i.name.startswith("_") and not i.name.startswith("__")
    }


def circles(imports) -> set[tuple[str, ...]]:
    """Every set of modules that import one another (a strongly connected component),
    sorted; the packages' ``__init__`` modules, which only mark the package, left out."""
    modules = {i.importer for i in imports}
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for i in imports:
        if i.module in modules and i.module != i.importer and not is_package(i.module, modules):
            graph[i.importer].add(i.module)
    return {tuple(sorted(c)) for c in strongly_connected(graph) if len(c) > 1}


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, without recursion (a module graph can be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def where(imports, pairs) -> list[str]:
    return sorted(
        f"{i.importer}:{i.line} imports {i.module}{f' ({i.name})' if i.name else ''}"
        for i in imports
        if (i.importer, i.module) in pairs or (i.importer, i.module, i.name) in pairs
    )


def assert_none(found: set, imports, what: str) -> None:
    assert not found, f"{what}: {where(imports, found) or sorted(found)}"


# --- the rules, on the project -------------------------------------------------------------


def test_the_kernel_imports_no_app():
    imports = project_imports()
    assert_none(kernel_imports(imports), imports, "the kernel imports an app")


def test_apps_import_only_the_apps_below_them():
    imports = project_imports()
    assert_none(upward_imports(imports), imports, "an app imports one above it")


def test_no_module_imports_a_private_name_of_another():
    imports = project_imports()
    assert_none(private_imports(imports), imports, "a private name imported")


def lazy_imports(imports) -> set[tuple[str, str]]:
    """Project modules imported inside a function other than a task body (which may import
    its own app) or an AppConfig's ready(): an import put off to dodge a circle."""
    return {
        (i.importer, i.module)
        for i in imports
        if i.in_function and not i.in_ready and i.package in PACKAGES
    }


def test_the_only_lazy_imports_are_a_tasks_own_services_and_app_registrations():
    imports = project_imports()
    assert_none(lazy_imports(imports), imports, "an import put off into a function")


def test_no_test_imports_a_private_name_either():
    files = module_files((*PACKAGES, "tests"))
    imports = [
        found
        for module, path in files.items()
        if module.startswith("tests.")
        for found in imports_of(module, path.read_text(encoding="utf-8"), files)
    ]
    assert_none(private_imports(imports), imports, "a test imports a private name")


def test_no_modules_import_each_other_in_a_circle():
    imports = project_imports()
    assert_none(circles(imports), imports, "modules in an import circle")


# --- the reader sees what it must ----------------------------------------------------------


def test_every_app_is_read_and_imports_resolve_to_modules():
    imports = project_imports()
    importers = {i.importer.split(".")[0] for i in imports}
    assert set(PACKAGES) <= importers
    pairs = {(i.importer, i.module) for i in imports}
    # Relative, absolute, "from package import submodule", and inside a function (ready()).
    assert ("requests.personal_data", "privacyportal.registry") in pairs
    assert ("requests.apps", "requests.personal_data") in pairs
    assert ("requests.models", "privacyportal.outgoing") in pairs
    assert any(i.importer == "accounts.apps" and i.in_function for i in imports)


def scan(sources: dict[str, str]) -> list[Import]:
    return [
        found for module, text in sources.items() for found in imports_of(module, text, sources)
    ]


def test_each_rule_catches_its_import_also_inside_a_function():
    imports = scan(
        {
            "privacyportal.retention": "def close():\n    from accounts.services import user_close\n",
            "privacyportal.urls": "from requests import api_views\n",
            "accounts.services": "from consents.selectors import consent_is_given\n",
            "api.views": "from bench.floors import floor\n",
            "requests.propagation": "from .services import _locked\n",
            "requests.access_copy": "def build():\n    from . import services\n",
            "requests.services": "from .access_copy import build\n",
            "requests.api_views": "",
            "accounts.selectors": "",
            "consents.selectors": "",
            "bench.floors": "",
        }
    )
    assert kernel_imports(imports) == {
        ("privacyportal.retention", "accounts.services"),
        ("privacyportal.urls", "requests.api_views"),
    }
    assert upward_imports(imports) == {
        ("accounts.services", "consents.selectors"),
        ("api.views", "bench.floors"),
    }
    assert private_imports(imports) == {("requests.propagation", "requests.services", "_locked")}
    assert lazy_imports(imports) == {
        ("privacyportal.retention", "accounts.services"),
        ("requests.access_copy", "requests.services"),
    }
    assert circles(imports) == {("requests.access_copy", "requests.services")}


def test_a_task_may_import_its_own_apps_services_in_its_body_and_nothing_else():
    imports = scan(
        {
            "requests.tasks": (
                "from celery import shared_task\n"
                "@shared_task\n"
                "def build():\n"
                "    from .services import access_copy_build\n"
                "    from consents.models import DataCategory\n"
                "def helper():\n"
                "    from .services import other\n"
            ),
            "requests.services": "def file():\n    from .tasks import build\n",
            "consents.models": "",
        }
    )
    tasks_imports = {(i.module, i.name) for i in imports if i.importer == "requests.tasks"}
    assert tasks_imports == {
        ("celery", "shared_task"),
        ("consents.models", "DataCategory"),
        ("requests.services", "other"),
    }
    # Outside a task body the lazy import counts, and closes a circle with the services.
    assert circles(imports) == {("requests.services", "requests.tasks")}
