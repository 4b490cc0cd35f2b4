"""The import graph keeps the layout of DESIGN.md's "Layout": imports go one way
(ui, operators, commands -> addon -> backend -> models -> errors), review/ sits above
backend/, a generator module uses only its
model and the shared frame helpers, and no module borrows another module's private names.

Every ``.py`` of the package is read with :mod:`ast` (nothing is imported), so these
tests run without bpy and fail with the name of the module that breaks a rule. Each rule
is also run on a small planted package that breaks it, so that a rule which can no
longer fail is noticed.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "genvfx"
NOT_PACKAGE = {".venv", "tests", "benchmarks", "scripts", "docs", "assets", "build", "dist"}
BLENDER_MODULES = {"bpy", "bmesh", "mathutils", "gpu", "gpu_extras", "blf", "bpy_extras",
                   "bl_math", "bl_ui", "bl_operators", "idprop", "aud", "imbuf"}
BLENDER_SIDE = ("genvfx.addon", "genvfx.operators", "genvfx.ui", "genvfx.registration")
ABOVE_BACKEND = ("genvfx.review", *BLENDER_SIDE, "genvfx.commands", "genvfx.cli")
GENERATORS = ("fill", "relight", "collapse")


@dataclass(frozen=True)
class Import:
    importer: str   # the module whose file holds the statement
    target: str     # absolute name of what it loads: a package module or a third-party one
    names: tuple[str, ...]  # names taken from ``target`` by a from-import; () otherwise
    line: int
    top_level: bool  # runs when the importer is imported (not in a function, not TYPE_CHECKING)
    in_function: bool = False  # runs when a function is called

    def __str__(self):
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.importer}:{self.line} imports {self.target}{taken}"


def in_package(name: str, prefixes) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class Package:
    """The modules of the package rooted at ``root`` and the imports each one makes."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, Path] = {}
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).parts
            if relative[0] in NOT_PACKAGE or any(part.startswith(".") for part in relative):
                continue
            if not (path.parent / "__init__.py").is_file():
                continue  # not inside a package folder, so not part of genvfx
            self.files[self.module_name(path)] = path
        self.modules = set(self.files)
        self.trees = {module: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
                      for module, path in self.files.items()}
        self.imports = {module: self._collect(module) for module in sorted(self.modules)}

    def module_name(self, path: Path) -> str:
        parts = path.relative_to(self.root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join((PACKAGE, *parts))

    def package_of(self, module: str) -> str:
        return module if self.files[module].name == "__init__.py" else module.rpartition(".")[0]

    def resolve_from(self, node: ast.ImportFrom, package: str):
        """``(alias, module loaded, name taken or None)`` for each alias of a from-import:
        a submodule of the package is loaded itself, any other name is taken from its base."""
        if node.level:
            parts = package.split(".")
            parts = parts[:len(parts) - (node.level - 1)] + ([node.module] if node.module else [])
            base = ".".join(parts)
        else:
            base = node.module or ""
        if base == "__future__":
            return []
        resolved = []
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in self.modules:
                resolved.append((alias, submodule, None))
            else:
                resolved.append((alias, base, alias.name))
        return resolved

    def _collect(self, module: str) -> list[Import]:
        package = self.package_of(module)
        imports: list[Import] = []

        def visit(node: ast.AST, top_level: bool, in_function: bool = False):
            if isinstance(node, ast.Import):
                imports.extend(Import(module, alias.name, (), node.lineno, top_level, in_function)
                               for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                names = {}
                for alias, target, name in self.resolve_from(node, package):
                    if name is None:  # ``from . import jobs``: the module itself
                        imports.append(Import(module, target, (), node.lineno, top_level, in_function))
                    else:
                        names.setdefault(target, []).append(name)
                imports.extend(Import(module, target, tuple(taken), node.lineno, top_level, in_function)
                               for target, taken in names.items())
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                top_level, in_function = False, True  # runs when called, not when imported
            elif isinstance(node, ast.If) and is_type_checking(node.test):
                for child in node.body:
                    visit(child, False, in_function)
                for child in node.orelse:
                    visit(child, top_level, in_function)
                return
            for child in ast.iter_child_nodes(node):
                visit(child, top_level, in_function)

        visit(self.trees[module], True)
        return imports

    def all_imports(self, under=None):
        for module, imports in self.imports.items():
            if under is None or in_package(module, under):
                yield from imports

    def outside(self, under, allowed) -> list[str]:
        """Imports of package modules from modules ``under`` a floor that are not ``allowed``."""
        return [str(i) for i in self.all_imports(under)
                if in_package(i.target, PACKAGE) and not in_package(i.target, allowed)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# The rules: each returns what breaks it, one line per offending import, naming the module.

def import_cycles(package: Package) -> list[str]:
    graph: dict[str, set[str]] = {module: set() for module in package.modules}
    for i in package.all_imports():
        if i.top_level and i.target in package.modules and i.target != i.importer:
            graph[i.importer].add(i.target)
    return [" <-> ".join(cycle) for cycle in cycles(graph)]


def backend_reaching_up(package: Package) -> list[str]:
    return [str(i) for i in package.all_imports("genvfx.backend") if in_package(i.target, ABOVE_BACKEND)]


def lower_floors_reaching_up(package: Package) -> list[str]:
    """Imports go one way: ui, operators, commands -> addon -> backend; review/ and the
    Blender side never import the composition root (registration) or the commands."""
    above = {"genvfx.addon": ("genvfx.operators", "genvfx.ui", "genvfx.registration", "genvfx.commands",
                              "genvfx.cli", "genvfx.review"),
             "genvfx.operators": ("genvfx.registration", "genvfx.commands", "genvfx.cli"),
             "genvfx.ui": ("genvfx.registration", "genvfx.commands", "genvfx.cli"),
             "genvfx.review": (*BLENDER_SIDE, "genvfx.commands", "genvfx.cli")}
    return [str(i) for floor, ceiling in above.items() for i in package.all_imports(floor)
            if in_package(i.target, ceiling)]


def bpy_below_the_blender_side(package: Package) -> list[str]:
    floors = ("genvfx.backend", "genvfx.models", "genvfx.review", "genvfx.errors", "genvfx.version")
    return [str(i) for i in package.all_imports(floors) if i.target.split(".")[0] in BLENDER_MODULES]


def generator_reaching_out(package: Package, name: str) -> list[str]:
    allowed = (f"genvfx.models.{name}", "genvfx.backend.generators.frames",
               "genvfx.backend.generators.spec", "genvfx.errors")
    return package.outside(f"genvfx.backend.generators.{name}", allowed)


def models_reaching_up(package: Package) -> list[str]:
    return package.outside("genvfx.models", ("genvfx.models", "genvfx.errors", "genvfx.version"))


def ground_floor_reaching_up(package: Package) -> list[str]:
    return package.outside(("genvfx.errors", "genvfx.version"), ())


def package_imports_in_functions(package: Package) -> list[str]:
    """Imports of the package's own modules made inside functions, below the Blender side
    (which may load ``addon`` modules late: they import bpy, and ``import genvfx`` and the
    CLI work without it). Heavy third-party libraries may wait; package modules may not."""
    floors = ("genvfx.cli", "genvfx.commands", "genvfx.review", "genvfx.backend", "genvfx.models",
              "genvfx.errors", "genvfx.version")
    return [str(i) for i in package.all_imports(floors) if i.in_function
            and in_package(i.target, PACKAGE) and not in_package(i.target, BLENDER_SIDE)]


def private_names_borrowed(package: Package) -> list[str]:
    """``from .x import _name`` and ``x._name`` where x is another module of the package."""
    found = []
    for module in sorted(package.modules):
        for i in package.imports[module]:
            if i.target in package.modules and i.target != module:
                found += [f"{module}:{i.line} imports {name} from {i.target}"
                          for name in i.names if is_private(name)]
        tree, bound = package.trees[module], {}  # local name -> package module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bound.update({alias.asname: alias.name for alias in node.names
                              if alias.asname and alias.name in package.modules})
            elif isinstance(node, ast.ImportFrom):
                for alias, target, name in package.resolve_from(node, package.package_of(module)):
                    if name is None:
                        bound[alias.asname or alias.name] = target
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and bound.get(node.value.id, module) != module and is_private(node.attr)):
                found.append(f"{module}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    return found


@pytest.fixture(scope="module")
def genvfx() -> Package:
    return Package(REPO)


def test_the_package_is_found_and_its_imports_resolved(genvfx):
    assert {"genvfx", "genvfx.cli", "genvfx.errors", "genvfx.version",
            "genvfx.backend.generators.fill", "genvfx.review.report",
            "genvfx.models.collapse.shot", "genvfx.addon", "genvfx.operators", "genvfx.ui"
            } <= genvfx.modules
    assert not any(in_package(module, "genvfx.tests") for module in genvfx.modules)
    fill = {i.target for i in genvfx.imports["genvfx.backend.generators.fill"]}
    assert {"genvfx.models.fill", "genvfx.backend.generators.frames"} <= fill


#: Each rule: what it finds on the package, and what a finding means.
RULES = {
    "no import cycle among module-level imports": (
        import_cycles, "modules importing each other at module level"),
    "backend never imports the floors above it": (
        backend_reaching_up, "backend/ imports review/, commands/ or the Blender side"),
    "the Blender side and review never import the floors above": (
        lower_floors_reaching_up, "a lower floor imports a higher one"),
    "no bpy below the Blender side": (
        bpy_below_the_blender_side, "backend/, models/, review/ or the ground floor import Blender's modules"),
    "models import only models and the ground floor": (
        models_reaching_up, "models/ imports backend/, review/ or the Blender side"),
    "the ground floor imports nothing of the package": (
        ground_floor_reaching_up, "errors.py and version.py must stand alone"),
    "imports between package modules sit at the top": (
        package_imports_in_functions, "package modules imported inside functions (move them to the top)"),
    "no module borrows a private name of another": (
        private_names_borrowed, "private names used across modules (give them a public home)"),
}


@pytest.mark.parametrize("rule", RULES)
def test_the_package_keeps_the_rule(genvfx, rule):
    find, meaning = RULES[rule]
    found = find(genvfx)
    assert not found, f"{meaning}:\n" + "\n".join(found)


@pytest.mark.parametrize("name", GENERATORS)
def test_a_generator_module_uses_only_its_model_and_the_frame_helpers(genvfx, name):
    found = generator_reaching_out(genvfx, name)
    assert not found, f"backend/generators/{name}.py imports beyond models/{name} and the frame " \
        "helpers:\n" + "\n".join(found)


PLANTED = {
    "__init__.py": "",
    "errors.py": "from . import version\n",
    "version.py": "__version__ = '0'\n",
    "review/__init__.py": "",
    "review/report.py": "",
    "backend/__init__.py": "",
    "backend/store.py": """
        from typing import TYPE_CHECKING
        from . import cycle_b
        if TYPE_CHECKING:
            from . import typed_only
        def _hidden(): ...
        def later():
            import bpy
            from ..review import report
        """,
    "backend/cycle_b.py": "from .store import later\n",
    "backend/typed_only.py": "from . import store\n",
    "backend/generators/__init__.py": "",
    "backend/generators/frames.py": "",
    "backend/generators/fill.py": """
        from ...models.fill import run
        from ...models import relight
        from .frames import read
        from ..store import _hidden
        """,
    "models/__init__.py": "",
    "models/relight.py": "",
    "addon/__init__.py": "",
    "addon/node.py": "from ..ui import drawing\n",
    "ui/__init__.py": "",
    "ui/drawing.py": "",
    "models/fill/__init__.py": """
        from ...backend import store
        x = store._hidden
        """,
}


def test_each_rule_fails_on_a_package_that_breaks_it(tmp_path):
    for name, text in PLANTED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    planted = Package(tmp_path)
    # store <-> cycle_b at module level; store -> typed_only only under TYPE_CHECKING
    assert import_cycles(planted) == ["genvfx.backend.cycle_b <-> genvfx.backend.store"]
    assert backend_reaching_up(planted) == ["genvfx.backend.store:9 imports genvfx.review.report"]
    assert lower_floors_reaching_up(planted) == ["genvfx.addon.node:1 imports genvfx.ui.drawing"]
    assert bpy_below_the_blender_side(planted) == ["genvfx.backend.store:8 imports bpy"]
    assert generator_reaching_out(planted, "fill") == [
        "genvfx.backend.generators.fill:3 imports genvfx.models.relight",
        "genvfx.backend.generators.fill:5 imports genvfx.backend.store (_hidden)"]
    assert models_reaching_up(planted) == ["genvfx.models.fill:2 imports genvfx.backend.store"]
    assert ground_floor_reaching_up(planted) == ["genvfx.errors:1 imports genvfx.version"]
    assert package_imports_in_functions(planted) == [
        "genvfx.backend.store:9 imports genvfx.review.report"]
    assert private_names_borrowed(planted) == [
        "genvfx.backend.generators.fill:5 imports _hidden from genvfx.backend.store",
        "genvfx.models.fill:3 uses genvfx.backend.store._hidden"]
