"""Fixtures shared by the tests."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: The scripts Blender runs for the test_blender_* tests (plain scripts, not test modules).
BLENDER_SCRIPTS = Path(__file__).resolve().parent / "blender"
collect_ignore = ["blender"]

from photos import photo_linear, rect_mask, write_mask_png, write_plate


@pytest.fixture
def small_shot(tmp_path):
    """Three frames of a real photograph panning by 4 px a frame, with a rectangular mask."""
    photo = photo_linear("astronaut", (168, 96))
    for frame in (1, 2, 3):
        write_plate(tmp_path / f"plate.{frame:04d}.exr", np.ascontiguousarray(photo[:, 4 * frame:4 * frame + 128]))
        write_mask_png(tmp_path / f"mask.{frame:04d}.png", rect_mask(96, 128, (0.35, 0.4, 0.7, 0.65)))
    return tmp_path


def blender_ext_tool() -> Path:
    spec = importlib.util.find_spec("bpy")
    root = Path(spec.origin).parent if spec.origin else Path(next(iter(spec.submodule_search_locations)))
    return next(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory):
    """The extension built by Blender's own tool from this repository."""
    tool = blender_ext_tool()
    folder = tmp_path_factory.mktemp("ext")
    validate = subprocess.run([sys.executable, str(tool), "validate", str(REPO)],
                              capture_output=True, text=True, timeout=60)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    build = subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(REPO),
                            "--output-dir", str(folder)], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    zips = list(folder.glob("*.zip"))
    assert len(zips) == 1, build.stdout
    return zips[0]


def run_blender_script(root: Path, script: str, config: dict, time_limit: int) -> dict:
    """Run ``tests/blender/<script>.py config.json`` with the bpy module in a Blender user
    folder of its own (under ``root``); returns the ``results.json`` it leaves in
    ``config["out"]``, failing with Blender's output when it died or reported a traceback."""
    import json
    import os

    (root / "config.json").write_text(json.dumps(config))
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(root / "blender-user"), PYTHONNOUSERSITE="1")
    run = subprocess.run([sys.executable, str(BLENDER_SCRIPTS / f"{script}.py"), str(root / "config.json")],
                         capture_output=True, text=True, timeout=time_limit, env=env, cwd=str(root))
    results_file = Path(config["out"]) / "results.json"
    assert results_file.is_file(), f"Blender died (rc {run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    results = json.loads(results_file.read_text())
    assert results.get("ok"), results.get("traceback", "") + "\n" + run.stderr[-4000:]
    return results
