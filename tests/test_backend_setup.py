"""Set up Backend's commands (genvfx.addon.backend_setup), without bpy: the venv is made by
the Python Blender runs, whatever its version, and gets the backend's requirements from
pyproject.toml — the base dependencies and the torch extra, never bpy."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from genvfx.addon import backend_setup
from genvfx.errors import GenVFXError

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
BLENDER_50 = "/opt/blender-5.0/5.0/python/bin/python3.11"
BLENDER_52 = "/opt/blender-5.2/5.2/python/bin/python3.13"


@pytest.mark.parametrize("python, version", [(BLENDER_50, (3, 11)), (BLENDER_52, (3, 13))])
def test_the_venv_is_made_by_blenders_python_and_gets_the_backend(tmp_path, python, version):
    folder = str(tmp_path / "backend-venv")
    make, upgrade, install = backend_setup.setup_commands(folder, python=python, version=version, platform="linux")
    assert make == [python, "-m", "venv", folder]
    venv = str(tmp_path / "backend-venv" / "bin" / "python")
    assert upgrade == [venv, "-m", "pip", "install", "--upgrade", "pip"]
    assert install[:4] == [venv, "-m", "pip", "install"]
    requirements = install[4:]
    assert requirements == PROJECT["dependencies"] + PROJECT["optional-dependencies"]["torch"]
    names = [requirement.split(";")[0].replace(" ", "") for requirement in requirements]
    assert not any(name.startswith("bpy") for name in names), names
    assert not any(name.startswith("numpy") and "<2" in name for name in names), names  # numpy 2 on 3.13
    assert any(name.startswith("torch") for name in names)
    assert {"scipy", "mujoco", "warp-lang"} <= {name.split(">")[0].split("=")[0].split("<")[0] for name in names}


def test_a_python_older_than_blender_50s_is_refused(tmp_path):
    with pytest.raises(GenVFXError, match="too old"):
        backend_setup.setup_commands(str(tmp_path), python="/usr/bin/python3.10", version=(3, 10))


def test_the_blender_extra_is_never_installed(tmp_path):
    with pytest.raises(GenVFXError, match="blender"):
        backend_setup.requirements(extras=("torch", "blender"))
    broken = tmp_path / "pyproject.toml"
    broken.write_text("[project\n")
    with pytest.raises(GenVFXError, match="Reinstall"):
        backend_setup.requirements(broken)


def test_windows_venvs_keep_python_in_scripts():
    assert backend_setup.venv_python("venv", platform="win32").replace("\\", "/") == "venv/Scripts/python.exe"
    assert backend_setup.venv_python("venv", platform="linux") == "venv/bin/python"


def test_the_command_line_quotes_paths(tmp_path):
    folder = str(tmp_path / "a folder")
    line = backend_setup.command_line(backend_setup.setup_commands(folder, python=BLENDER_52, version=(3, 13)))
    assert line.startswith(f"{BLENDER_52} -m venv '{folder}' && ")
    assert "'torch>=2.4'" in line or "torch>=2.4" in line


def test_the_module_needs_no_bpy():
    code = "import sys, genvfx.addon.backend_setup, genvfx.addon.compat; print('bpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
