"""The Relight node in Blender (the bpy module): installed from the built extension,
generated headless, relit live in its group, and reset to the plate. The Blender side is
``tests/blender/relight.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.blender,
    pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy module (pip install bpy==5.0.1)"),
]

SIZE = (128, 96)
TIME_LIMIT = 240

@pytest.fixture(scope="module")
def relight_run(extension_zip, tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import run_blender_script
    from photos import photo_linear, write_plate

    root = tmp_path_factory.mktemp("relight_blender")
    plate = photo_linear("astronaut", SIZE)
    write_plate(root / "plate.0001.exr", plate)
    out = root / "out"
    out.mkdir()
    config = {"zip": str(extension_zip), "plate": str(root / "plate.####.exr"), "cache": str(root / "cache"),
              "out": str(out)}
    results = run_blender_script(root, "relight", config, TIME_LIMIT)
    return {"results": results, "out": out, "plate": plate}


def _psnr(a, b):
    mse = float(((a[..., :3] - b[..., :3]) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _pixels(run, name):
    return np.load(run["out"] / f"{name}.npy")


def test_the_node_is_in_the_menu_with_its_sockets(relight_run):
    results = relight_run["results"]
    assert "Relight" in results["menu"]
    assert results["sockets"]["out"] == ["Image", "Normal", "Albedo", "Shading", "Residual", "Depth"]
    for name in ("Image", "Light Direction", "Azimuth", "Elevation", "Colour", "Intensity", "Ambient", "Wrap",
                 "Azimuth 2", "Elevation 2", "Colour 2", "Intensity 2", "Ratio Mode"):
        assert name in results["sockets"]["in"]


def test_before_generating_it_passes_the_plate_through(relight_run):
    assert _psnr(_pixels(relight_run, "before"), relight_run["plate"]) > 60


def test_with_the_neutral_light_the_node_gives_the_plate_back(relight_run):
    results = relight_run["results"]
    assert results["generate"] == ["FINISHED"] and results["node"]["state"] == "DONE", results["node"]
    assert _psnr(_pixels(relight_run, "neutral"), relight_run["plate"]) >= 35.0


def test_moving_the_light_matches_the_backend_formula(relight_run):
    from genvfx.backend.files import layers
    from genvfx.models.relight import Light, intrinsic
    from genvfx.models.relight.light import direction_from_angles

    results = relight_run["results"]
    moved = results["moved"]
    passes = layers.read_layers(results["node"]["pattern"].replace("####", "0001"))["Relight"]
    light = Light.from_dict(results["neutral"]).with_(
        direction=direction_from_angles(moved["Azimuth"], moved["Elevation"]), colour=(1.0, 0.7, 0.5),
        intensity=moved["Intensity"])
    expected = intrinsic.relight(passes, passes["Normal"], light)
    got = _pixels(relight_run, "moved")[..., :3]
    assert np.abs(got - expected).max() < 1e-4
    assert np.abs(got - relight_run["plate"][..., :3]).mean() > 0.005   # it did change
    ratio = intrinsic.relight(passes, passes["Normal"], light, "ratio", image=relight_run["plate"])
    assert np.abs(_pixels(relight_run, "moved_ratio")[..., :3] - ratio).max() < 1e-3
    rim = Light(direction=direction_from_angles(-60.0, 20.0), colour=(0.4, 0.6, 1.0), intensity=0.5,
                wrap=light.wrap)
    both = intrinsic.relight(passes, passes["Normal"], light, extra_lights=(rim,))
    assert np.abs(_pixels(relight_run, "two_lights")[..., :3] - both).max() < 1e-4
    assert (both >= expected - 1e-6).all() and (both - expected).mean() > 1e-3


def test_reset_light_brings_the_plate_back_and_the_file_keeps_it(relight_run):
    results = relight_run["results"]
    assert results["reset"] == ["FINISHED"]
    assert _psnr(_pixels(relight_run, "reset"), relight_run["plate"]) >= 35.0
    assert results["reopened"]["azimuth"] == pytest.approx(10.0)
    assert results["reopened"]["neutral"] and results["reopened"]["state"] == "DONE"


def test_the_node_draws_its_smoothing_and_reset_light(relight_run):
    drawn = relight_run["results"]["drawn"]
    for name in ("model", "seed", "proxy", "scope", "temporal_strength", "genvfx.relight_reset_light",
                 "genvfx.generate"):
        assert name in drawn, name
    assert "genvfx.variants" not in drawn  # Relight has no Variants
