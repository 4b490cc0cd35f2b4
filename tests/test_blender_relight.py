"""The Relight node in Blender (the bpy module): installed from the built extension,
generated headless, relit live in its group, and reset to the plate."""

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

SCRIPT = r'''
import importlib, json, os, sys, traceback
import bpy
import numpy as np

config = json.load(open(sys.argv[1]))
out = config["out"]
results = {}


def render(scene, name):
    import OpenEXR
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.filepath = os.path.join(out, name + ".exr")
    bpy.ops.render.render(write_still=True)
    np.save(os.path.join(out, name + ".npy"), OpenEXR.File(scene.render.filepath).parts[0].channels["RGBA"].pixels)


try:
    bpy.ops.extensions.package_install_files(filepath=config["zip"], repo="user_default", enable_on_install=True)
    addon_id = "bl_ext.user_default.genvfx"
    headless = importlib.import_module(addon_id + ".addon.headless")
    menu = importlib.import_module(addon_id + ".ui.menu")
    results["menu"] = [label for _, label in menu.GENERATIVE_NODES]
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    bpy.context.preferences.addons[addon_id].preferences.cache_dir = config["cache"]
    scene = bpy.context.scene
    scene.frame_start = scene.frame_end = 1
    tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
    scene.compositing_node_group = tree
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    plate = headless.image_node(tree, "Plate", config["plate"], [1])
    node = tree.nodes.new("GenVFXRelightNode")
    node.name = "Relight"
    output = tree.nodes.new("NodeGroupOutput")
    tree.links.new(plate.outputs["Image"], node.inputs["Image"])
    tree.links.new(node.outputs["Image"], output.inputs[0])
    scene.render.resolution_x, scene.render.resolution_y = plate.image.size[:]
    scene.render.resolution_percentage = 100
    scene.render.use_compositing = True
    results["sockets"] = {"in": [s.name for s in node.inputs], "out": [s.name for s in node.outputs]}
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out, "relight.blend"))
    render(scene, "before")
    results["generate"] = sorted(bpy.ops.genvfx.generate(node_name="Relight", wait=True))
    results["node"] = {"state": node.state, "message": node.message, "pattern": node.result_pattern}
    results["neutral"] = json.loads(node.neutral_light)["light"]
    render(scene, "neutral")
    node.inputs["Azimuth"].default_value = -70.0
    node.inputs["Elevation"].default_value = 15.0
    node.inputs["Colour"].default_value = (1.0, 0.7, 0.5, 1.0)
    node.inputs["Intensity"].default_value = results["neutral"]["intensity"] * 1.5
    results["moved"] = {name: node.inputs[name].default_value for name in ("Azimuth", "Elevation", "Intensity", "Ambient", "Wrap")}
    render(scene, "moved")
    node.inputs["Ratio Mode"].default_value = 1.0
    render(scene, "moved_ratio")
    node.inputs["Ratio Mode"].default_value = 0.0
    node.inputs["Intensity 2"].default_value = 0.5
    node.inputs["Colour 2"].default_value = (0.4, 0.6, 1.0, 1.0)
    render(scene, "two_lights")
    node.inputs["Intensity 2"].default_value = 0.0
    results["reset"] = sorted(bpy.ops.genvfx.relight_reset_light(node_name="Relight"))
    render(scene, "reset")
    node.inputs["Azimuth"].default_value = 10.0
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    node = bpy.context.scene.compositing_node_group.nodes["Relight"]
    results["reopened"] = {"azimuth": node.inputs["Azimuth"].default_value, "neutral": bool(node.neutral_light),
                           "state": node.state}
    results["ok"] = True
except Exception:
    results["traceback"] = traceback.format_exc()
json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=1)
'''


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
    results = run_blender_script(root, SCRIPT, config, TIME_LIMIT)
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
