"""What Set up Backend runs (``operators/setup_backend.py``), without bpy: a virtual
environment made by the Python that Blender itself runs (``sys.executable`` inside
Blender: 3.11 in Blender 5.0, 3.13 from 5.1), and in it the backend's dependencies as the
package's own ``pyproject.toml`` gives them: the base dependencies and the ``torch``
extra, never the ``blender`` extra (the worker imports no bpy, and bpy 5.0.1's wheel
would pin numpy below 2). Their environment markers are left for pip, which judges them
against the venv's own Python. Tested in tests/test_backend_setup.py.
"""

from __future__ import annotations

import os
import shlex
import sys
import tomllib
from pathlib import Path

from ..errors import GenVFXError

#: The package's project file (shipped in the extension: the repository root is both).
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
#: The extras the backend's venv gets on top of the base dependencies.
EXTRAS = ("torch",)
#: Extras that are never for the backend's venv.
NOT_FOR_THE_BACKEND = ("blender",)
#: The oldest Python the backend runs on (Blender 5.0's).
MIN_PYTHON = (3, 11)


def requirements(pyproject: Path = PYPROJECT, extras: tuple[str, ...] = EXTRAS) -> list[str]:
    """The backend's requirements: ``pyproject``'s dependencies and those of ``extras``."""
    try:
        project = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise GenVFXError("setup", f"Cannot read the backend's requirements from {pyproject}: {exc}",
                          "Reinstall the extension.") from exc
    refused = set(extras) & set(NOT_FOR_THE_BACKEND)
    if refused:
        raise GenVFXError("setup", f"The {', '.join(sorted(refused))} extra is not for the backend", "")
    found = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        found += optional[extra]
    return found


def venv_python(folder: str, platform: str = sys.platform) -> str:
    """The interpreter of the virtual environment in ``folder``."""
    if platform == "win32":
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def setup_commands(folder: str, python: str = sys.executable, version: tuple[int, ...] = sys.version_info[:2],
                   platform: str = sys.platform, pyproject: Path = PYPROJECT) -> list[list[str]]:
    """The commands that make the backend's venv in ``folder`` with ``python`` (Blender's
    own, of ``version``) and install the backend's requirements there."""
    if tuple(version[:2]) < MIN_PYTHON:
        raise GenVFXError("setup", f"Python {'.'.join(map(str, version[:2]))} is too old for the backend",
                          f"Use Blender 5.0 or later (Python {'.'.join(map(str, MIN_PYTHON))} or later).")
    venv = venv_python(folder, platform)
    return [
        [python, "-m", "venv", folder],
        [venv, "-m", "pip", "install", "--upgrade", "pip"],
        [venv, "-m", "pip", "install", *requirements(pyproject)],
    ]


def command_line(commands: list[list[str]]) -> str:
    """``commands`` as one shell line (to run by hand when Blender may not go online)."""
    return " && ".join(shlex.join(command) for command in commands)
