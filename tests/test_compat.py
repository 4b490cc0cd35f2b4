"""What differs between Blender versions (genvfx.addon.compat), without bpy: the decisions
for 5.0 to 5.3, and two rules of the Blender-side code read with :mod:`ast` — sockets are
never taken by position (5.2 raises IndexError for a socket the node's mode hides), and
nothing but compat reads ``bpy.app.version``. Each rule is also run on planted code that
breaks it. What these Blender versions measurably do is checked against the running
Blender in tests/test_blender_compat.py."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from genvfx.addon import compat

REPO = Path(__file__).resolve().parents[1]
NOT_SCANNED = {".venv", "tests", "benchmarks", "scripts", "docs", "assets", "build", "dist", "backend", "models",
               "review"}
#: The Blender test that measures what positional access does on the running Blender.
PROBE = REPO / "tests" / "blender" / "compat.py"


@pytest.mark.parametrize("version, mixes_alpha, file_output", [
    ((5, 0, 1), False, {}),
    ((5, 1, 0), True, {}),
    ((5, 1, 2), True, {}),
    ((5, 2, 0), True, {"use_file_extension": True}),
    ((5, 3, 0), True, {"use_file_extension": True}),
    ((6, 0, 0), True, {"use_file_extension": True}),
])
def test_the_decisions_per_version(version, mixes_alpha, file_output):
    assert compat.mix_mixes_alpha(version) is mixes_alpha
    assert compat.file_output_settings(version) == file_output


def test_the_decisions_need_no_bpy_when_given_a_version(monkeypatch):
    monkeypatch.setitem(sys.modules, "bpy", None)  # ``import bpy`` now fails
    assert compat.mix_mixes_alpha((5, 2, 0)) and compat.file_output_settings((5, 0, 1)) == {}
    with pytest.raises(ImportError):
        compat.mix_mixes_alpha()  # without a version it asks the running Blender


def blender_side_files() -> list[Path]:
    files = [path for path in REPO.rglob("*.py")
             if not ({part for part in path.relative_to(REPO).parts[:-1]} & NOT_SCANNED)
             and not any(part.startswith(".") for part in path.relative_to(REPO).parts)]
    return sorted(files + list((REPO / "tests" / "blender").glob("*.py")))


def positional_sockets(source: str, name: str = "<planted>") -> list[str]:
    """``x.inputs[1]``, ``x.outputs[-1]``: sockets taken by position."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr in ("inputs", "outputs")):
            index = node.slice.operand if isinstance(node.slice, ast.UnaryOp) else node.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def version_reads(source: str, name: str = "<planted>") -> list[str]:
    """``bpy.app.version`` (not ``version_string``)."""
    return [f"{name}:{node.lineno}: {ast.unparse(node)}" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and node.attr == "version"
            and isinstance(node.value, ast.Attribute) and node.value.attr == "app"]


def test_the_scan_covers_the_blender_side():
    names = {path.relative_to(REPO).as_posix() for path in blender_side_files()}
    assert {"addon/group_nodes.py", "addon/bake.py", "addon/headless.py", "operators/setup_backend.py",
            "ui/nodes.py", "registration.py", "tests/blender/e2e.py"} <= names
    assert not any(name.startswith(("backend/", "models/", ".venv/")) for name in names)


def test_no_socket_is_taken_by_position():
    found = [hit for path in blender_side_files() if path != PROBE
             for hit in positional_sockets(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())]
    assert not found, "look sockets up by identifier or name:\n" + "\n".join(found)


def test_only_compat_reads_the_blender_version():
    found = [hit for path in blender_side_files() if path != REPO / "addon" / "compat.py"
             for hit in version_reads(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())]
    assert not found, "keep version switches in addon/compat.py:\n" + "\n".join(found)
    assert version_reads((REPO / "addon" / "compat.py").read_text(encoding="utf-8"))


def test_the_rules_fail_on_code_that_breaks_them():
    planted = textwrap.dedent("""
        import bpy
        tree.links.new(node.outputs[0], other.inputs[-1])
        node.inputs["Image"].default_value = 1
        group.inputs[name].default_value = 2
        if bpy.app.version >= (5, 1, 0):
            print(bpy.app.version_string)
        """)
    assert positional_sockets(planted) == ["<planted>:3: node.outputs[0]", "<planted>:3: other.inputs[-1]"]
    assert version_reads(planted) == ["<planted>:6: bpy.app.version"]
