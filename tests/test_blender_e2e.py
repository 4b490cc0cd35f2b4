"""The extension in real Blender (the ``bpy`` module), end to end.

Builds the zip with Blender's own extension tool, installs and enables it, wires a
real photograph and a mask through Debris Fill in the compositor, generates with the
backend worker, renders the compositor and checks the pixels. A second node whose
plate comes through an RGB Curves node (not a file) must get its input baked.

Blender runs in a child process (its own user folder, a time limit), so a hang or a
crash fails the test instead of taking pytest down, and nothing touches the user's
Blender configuration.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.blender,
    pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy module (pip install bpy==5.0.1)"),
]

REPO = Path(__file__).resolve().parents[1]
SIZE = (128, 96)  # width, height
MASK_BOX = (0.35, 0.4, 0.7, 0.65)  # top, left, bottom, right (fractions)
TIME_LIMIT = 240


# The Blender side of the test, run as ``python script.py config.json``.
BLENDER_SCRIPT = r'''
import importlib, json, os, sys, time, traceback
import bpy
import numpy as np

config = json.load(open(sys.argv[1]))
results = {}
out = config["out"]


def save(name, array):
    np.save(os.path.join(out, name + ".npy"), np.asarray(array, np.float32))


def render_to(scene, name):
    """Render the compositor result to an EXR and return its pixels (top row first)."""
    import OpenEXR
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.filepath = os.path.join(out, name + ".exr")
    bpy.ops.render.render(write_still=True)
    part = OpenEXR.File(scene.render.filepath).parts[0]
    return part.channels["RGBA"].pixels


try:
    result = bpy.ops.extensions.package_install_files(
        filepath=config["zip"], repo="user_default", enable_on_install=True)
    results["install"] = sorted(result)
    addon_id = "bl_ext.user_default.genvfx"
    results["enabled"] = addon_id in bpy.context.preferences.addons
    genvfx = importlib.import_module(addon_id)
    headless = importlib.import_module(addon_id + ".addon.headless")
    jobs = importlib.import_module(addon_id + ".addon.jobs")
    prefs = bpy.context.preferences.addons[addon_id].preferences
    results["prefs"] = type(prefs).__name__

    # Scene: plate file -> Debris Fill <- mask file; Debris Fill -> Group Output.
    blend = headless.build_demo_scene(config["plate"], config["mask"], [1], os.path.join(out, "scene.blend"))
    prefs.cache_dir = config["cache"]
    scene = bpy.context.scene
    tree = scene.compositing_node_group
    node = tree.nodes["Debris Fill"]
    results["resolution"] = [scene.render.resolution_x, scene.render.resolution_y]
    results["sockets"] = {"in": [s.name for s in node.inputs], "out": [s.name for s in node.outputs]}
    save("before", render_to(scene, "before"))  # nothing generated yet: pass-through

    results["generate"] = sorted(bpy.ops.genvfx.generate(node_name=node.name, wait=True))
    results["node"] = {"state": node.state, "message": node.message, "key": node.job_key,
                       "pattern": node.result_pattern}
    results["inputs"] = jobs.build_job(bpy.context, node, [1]).inputs
    results["params"] = jobs.build_job(bpy.context, node, [1]).params
    node.temporal, node.key_frames = "propagate", "1, 5"
    results["params_keys"] = jobs.build_job(bpy.context, node, [1]).params
    node.key_frames = ""
    results["bakes_after_files"] = os.path.exists(os.path.join(config["cache"], "bakes"))
    # The Provenance panel's facts for the active node, and its report button.
    provenance = importlib.import_module(addon_id + ".addon.provenance")
    results["provenance"] = provenance.node_provenance(node, 1)
    results["provenance_panel"] = getattr(bpy.types, "NODE_PT_genvfx_provenance", None) is not None
    results["write_report"] = sorted(bpy.ops.genvfx.write_report())

    class Layout:  # records what the panel draws (a UILayout needs a window)
        scale_y = 1.0

        def __init__(self, lines):
            self.lines = lines

        def column(self, align=False):
            return self

        def box(self):
            return self

        def separator(self):
            pass

        def label(self, text="", icon="NONE"):
            self.lines.append(text)

        def operator(self, idname, text="", icon="NONE"):
            self.lines.append("button " + idname)

    from types import SimpleNamespace
    panel = importlib.import_module(addon_id + ".ui.provenance_panel").NODE_PT_genvfx_provenance
    drawn = {}
    for name, active in (("node", node), ("none", None)):
        drawn[name] = []
        panel.draw(SimpleNamespace(layout=Layout(drawn[name]), draw_facts=panel.draw_facts),
                   SimpleNamespace(active_node=active, scene=scene))
    results["panel_lines"] = drawn
    save("filled", render_to(scene, "filled"))
    result_image = node.node_tree.nodes["GenVFX Result"]
    results["result_sockets"] = [s.name for s in result_image.outputs]

    # A refinement control: Mix = 0 gives the plate back.
    node.inputs["Mix"].default_value = 0.0
    save("mix0", render_to(scene, "mix0"))
    node.inputs["Mix"].default_value = 1.0
    bpy.ops.wm.save_mainfile()

    # The same file, reopened headless: up to date, so it renders without generating.
    log = []
    written = headless.render_blend(blend, frames=[1], out_dir=os.path.join(out, "farm"), log=log.append)
    results["farm"] = {"written": written, "log": log}
    scene = bpy.context.scene
    tree = scene.compositing_node_group
    prefs = bpy.context.preferences.addons[addon_id].preferences
    prefs.cache_dir = config["cache"]

    # Interactive path: submit without waiting, the timer callback routes the events.
    session = importlib.import_module(addon_id + ".addon.session")
    node = tree.nodes["Debris Fill"]

    def pump(limit=90):
        deadline = time.monotonic() + limit
        while session.running_jobs() and time.monotonic() < deadline:
            session._poll()
            time.sleep(0.05)

    session.submit(node, jobs.build_job(bpy.context, node, [1]))
    results["async_running"] = node.state
    pump()
    results["async"] = {"state": node.state, "message": node.message}
    node.seed = 99  # a new key: real work, cancelled at once
    session.submit(node, jobs.build_job(bpy.context, node, [1]))
    session.cancel()
    pump()
    results["cancelled"] = {"state": node.state, "message": node.message, "key_kept": node.job_key}

    # An input that is not a file: plate -> RGB Curves -> Debris Fill gets baked.
    plate = tree.nodes["Plate"]
    mask = tree.nodes["Mask"]
    curves = tree.nodes.new("CompositorNodeCurveRGB")
    baked = tree.nodes.new("GenVFXDebrisFillNode")
    baked.name = "Debris Fill Baked"
    baked.seed = 7
    tree.links.new(plate.outputs["Image"], curves.inputs["Image"])
    tree.links.new(curves.outputs["Image"], baked.inputs["Image"])
    tree.links.new(mask.outputs["Image"], baked.inputs["Mask"])
    tree.links.new(baked.outputs["Image"], tree.nodes["Group Output"].inputs[0])
    results["baked_inputs"] = jobs.build_job(bpy.context, baked, [1]).inputs
    results["generate_baked"] = sorted(bpy.ops.genvfx.generate(node_name=baked.name, wait=True))
    results["baked_node"] = {"state": baked.state, "message": baked.message}
    save("baked", render_to(scene, "baked"))
    results["output_nodes_left"] = [n.name for n in tree.nodes if n.bl_idname == "CompositorNodeOutputFile"]

    # A node with nothing connected: a clear error on the node and from the operator.
    lonely = tree.nodes.new("GenVFXDebrisFillNode")
    lonely.name = "Lonely"
    try:
        bpy.ops.genvfx.generate(node_name="Lonely", wait=True)
        results["lonely_error"] = ""
    except RuntimeError as exc:
        results["lonely_error"] = str(exc)
    results["lonely_node"] = {"state": lonely.state, "message": lonely.message}

    # A mask of another size: the worker refuses the job, the wait ends with its message on the node.
    mismatch = tree.nodes.new("GenVFXDebrisFillNode")
    mismatch.name = "Mismatch"
    small_mask = headless.image_node(tree, "Small Mask", config["small_mask"], [1], non_color=True)
    tree.links.new(tree.nodes["Plate"].outputs["Image"], mismatch.inputs["Image"])
    tree.links.new(small_mask.outputs["Image"], mismatch.inputs["Mask"])
    try:
        bpy.ops.genvfx.generate(node_name="Mismatch", wait=True)
        results["mismatch_error"] = ""
    except RuntimeError as exc:
        results["mismatch_error"] = str(exc)
    results["mismatch_node"] = {"state": mismatch.state, "message": mismatch.message, "job": mismatch.job_id}

    # Variants: two seeds at 25 % on the current frame, thumbnails on the node; "Use" picks one.
    node = tree.nodes["Debris Fill"]
    node.seed, node.variant_count = 5, 2
    key_before = node.job_key
    results["variants_op"] = sorted(bpy.ops.genvfx.variants(node_name=node.name, wait=True))
    results["variants"] = {"seeds": node.variant_seeds, "state": node.state, "message": node.message,
                           "images": {str(seed): image.filepath for seed, image in node.variant_images().items()},
                           "key_kept": node.job_key == key_before}
    results["use_variant"] = sorted(bpy.ops.genvfx.use_variant(node_name=node.name, seed=6))
    results["picked_seed"] = node.seed
    results["picked_params"] = jobs.build_job(bpy.context, node, [1]).seed
    from unittest import mock
    layout = mock.MagicMock()
    node.draw_variants(bpy.context, layout)  # the sidebar's box draws (a stand-in layout headless)
    results["drawn_ops"] = sorted({call.args[0] for call in layout.mock_calls
                                   if call[0].endswith("operator") and call.args})
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    node = bpy.context.scene.compositing_node_group.nodes["Debris Fill"]
    results["variants_reopened"] = {"seed": node.seed, "seeds": node.variant_seeds,
                                    "images": sorted(node.variant_images())}

    genvfx.unregister()  # shuts the worker down
    results["ok"] = True
except Exception:
    results["traceback"] = traceback.format_exc()
json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=1)
'''


@pytest.fixture(scope="module")
def blender_run(extension_zip, tmp_path_factory):
    """Run the Blender side once; the tests below read what it left."""
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import run_blender_script
    from photos import photo_linear, rect_mask, write_mask_png, write_plate

    root = tmp_path_factory.mktemp("blender")
    shot = root / "shot"
    shot.mkdir()
    plate = photo_linear("astronaut", SIZE)
    mask = rect_mask(SIZE[1], SIZE[0], MASK_BOX)
    write_plate(shot / "plate.0001.exr", plate)
    write_mask_png(shot / "mask.0001.png", mask)
    write_mask_png(shot / "small_mask.png", mask[::2, ::2])
    out = root / "out"
    out.mkdir()
    config = {"zip": str(extension_zip), "plate": str(shot / "plate.####.exr"),
              "mask": str(shot / "mask.####.png"),
              "small_mask": str(shot / "small_mask.png"), "cache": str(root / "cache"), "out": str(out)}
    results = run_blender_script(root, BLENDER_SCRIPT, config, TIME_LIMIT)
    return {"results": results, "out": out, "plate": plate, "mask": mask > 0.5, "root": root, "config": config}


def pixels(run, name):
    return np.load(run["out"] / f"{name}.npy")


def test_zip_holds_the_package_and_nothing_else(extension_zip):
    names = zipfile.ZipFile(extension_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "addon/debris_fill_node.py" in names and "backend/worker.py" in names
    assert "models/weights/fill-patchmatch/manifest.json" in names
    assert "models/weights/relight-normalnet/normalnet.onnx" in names and "addon/relight_node.py" in names
    for name in names:
        assert not name.startswith(("tests/", ".venv/", "genvfx_cache/", ".git/", ".ci/", "demo/", "data/")), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name


def test_installs_enables_and_shows_the_node(blender_run):
    results = blender_run["results"]
    assert results["install"] == ["FINISHED"] and results["enabled"]
    assert results["prefs"] == "GenVFXPreferences"
    assert results["sockets"] == {"in": ["Image", "Mask", "Mix", "Edge Feather"], "out": ["Image", "Fill", "Mask"]}
    assert results["resolution"] == list(SIZE)


def test_the_node_sends_how_the_shot_is_treated(blender_run):
    results = blender_run["results"]
    assert results["params"] == {"temporal": "propagate", "key_interval": 12}
    from genvfx.commands.demo import FILL_PARAMS

    assert results["params"] == FILL_PARAMS  # the demo's fill is the node's, found in the cache
    assert results["params_keys"] == {"temporal": "propagate", "key_frames": [1, 5]}


def test_passes_the_plate_through_before_generating(blender_run):
    before = pixels(blender_run, "before")
    np.testing.assert_allclose(before, blender_run["plate"], atol=1e-4)


def test_generate_fills_the_mask_and_keeps_the_rest(blender_run):
    results = blender_run["results"]
    assert results["generate"] == ["FINISHED"]
    assert results["node"]["state"] == "DONE", results["node"]
    assert results["result_sockets"][:1] == ["Combined"] and {"Fill", "Mask"} <= set(results["result_sockets"])
    # Files straight from Image nodes are used as they are, not baked.
    config = blender_run["config"]
    assert results["inputs"] == {"plate": config["plate"], "mask": config["mask"]}
    assert not results["bakes_after_files"]

    filled, plate, mask = pixels(blender_run, "filled"), blender_run["plate"], blender_run["mask"]
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled[~mask], plate[~mask], atol=1e-4)
    inside = filled[mask][:, :3]
    assert np.abs(inside - plate[mask][:, :3]).mean() > 0.05, "the masked region still shows the plate"
    assert inside.mean() > 0.02, "the fill is black"
    # Mix = 0 brings the plate back.
    np.testing.assert_allclose(pixels(blender_run, "mix0"), plate, atol=1e-4)


def test_provenance_panel_facts_and_report_button(blender_run):
    results, config = blender_run["results"], blender_run["config"]
    assert results["provenance_panel"]
    facts = results["provenance"]
    assert facts["model"] == "genvfx.fill.patchmatch" and facts["licence"] == "GPL-3.0-or-later"
    assert facts["seed"] == 0 and facts["frame"] == 1 and facts["frames"] == 1
    mask = blender_run["mask"]
    assert facts["share_frame"] == pytest.approx(mask.mean(), abs=0.01)  # the mask's coverage
    assert facts["energy_kwh"] > 0 and facts["energy_method"] and len(facts["entry"]) == 64
    assert results["write_report"] == ["FINISHED"]
    lines = results["panel_lines"]["node"]
    assert "Model: genvfx.fill.patchmatch" in lines and "Licence: GPL-3.0-or-later" in lines and "Seed: 0" in lines
    assert any(line.startswith("Generated, frame 1: ") for line in lines)
    assert any(line.startswith("Energy: ") and line.endswith(" Wh") for line in lines)
    assert lines[-2] == "button genvfx.write_report" and lines[-1].startswith("Report written: ")
    assert results["panel_lines"]["none"][0] == "Select a genvfx node"
    report = json.loads((Path(config["cache"]) / "report.json").read_text())
    assert report["verified"] and report["totals"]["frames"] >= 1
    assert (Path(config["cache"]) / "report.html").is_file()


def test_headless_render_reuses_the_result(blender_run):
    farm = blender_run["results"]["farm"]
    assert len(farm["written"]) == 1 and Path(farm["written"][0]).is_file()
    assert any("up to date" in line for line in farm["log"]), farm["log"]
    import OpenEXR

    rendered = OpenEXR.File(farm["written"][0]).parts[0].channels["RGBA"].pixels
    np.testing.assert_allclose(rendered, pixels(blender_run, "filled"), atol=1e-4)


def test_interactive_jobs_report_through_the_timer_and_cancel(blender_run):
    results = blender_run["results"]
    assert results["async_running"] == "RUNNING"
    assert results["async"]["state"] == "DONE" and "from the cache" in results["async"]["message"]
    cancelled = results["cancelled"]
    assert cancelled["message"] == "Cancelled" and cancelled["state"] == "DONE"  # the earlier result stays
    assert cancelled["key_kept"] == results["node"]["key"]


def test_an_input_that_is_not_a_file_is_baked(blender_run):
    results = blender_run["results"]
    cache = Path(blender_run["config"]["cache"])
    plate_pattern = results["baked_inputs"]["plate"]
    assert plate_pattern.startswith(str(cache / "bakes")), plate_pattern
    assert results["baked_inputs"]["mask"] == blender_run["config"]["mask"]
    assert results["generate_baked"] == ["FINISHED"] and results["baked_node"]["state"] == "DONE"
    assert results["output_nodes_left"] == []  # the temporary File Output node is gone

    from genvfx.backend.files import images

    baked = images.read_image(plate_pattern.replace("####", "0001"))
    np.testing.assert_allclose(baked, blender_run["plate"], atol=1e-3)  # identity curves: the plate itself
    out, plate, mask = pixels(blender_run, "baked"), blender_run["plate"], blender_run["mask"]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[~mask], plate[~mask], atol=2e-3)
    assert np.abs(out[mask][:, :3] - plate[mask][:, :3]).mean() > 0.05


def test_unconnected_node_reports_a_clear_error(blender_run):
    results = blender_run["results"]
    assert "nothing connected" in results["lonely_error"]
    assert results["lonely_node"]["state"] == "ERROR"
    assert "Image" in results["lonely_node"]["message"]


def test_a_job_the_worker_refuses_ends_with_its_message_on_the_node(blender_run):
    results = blender_run["results"]
    assert "but the mask is" in results["mismatch_error"]
    assert results["mismatch_node"]["state"] == "ERROR" and results["mismatch_node"]["job"] == ""
    assert "but the mask is" in results["mismatch_node"]["message"]


def test_variants_make_thumbnails_and_use_sets_the_seed(blender_run):
    results = blender_run["results"]
    assert results["variants_op"] == ["FINISHED"]
    variants = results["variants"]
    assert variants["seeds"] == "5,6", variants
    assert variants["state"] == "DONE" and "2 variant" in variants["message"], variants
    assert variants["key_kept"], "the node's loaded result must not change"
    images = variants["images"]
    assert sorted(images) == ["5", "6"] and images["5"] != images["6"]
    import OpenEXR

    for seed, path in images.items():
        exr = OpenEXR.File(path)
        assert str(exr.header()["genvfx.seed"]) == seed
        assert exr.parts[0].width() == SIZE[0] // 4  # 25 %
    assert results["use_variant"] == ["FINISHED"]
    assert results["picked_seed"] == 6 and results["picked_params"] == 6
    assert {"genvfx.variants", "genvfx.use_variant"} <= set(results["drawn_ops"])
    assert results["variants_reopened"] == {"seed": 6, "seeds": "5,6", "images": [5, 6]}
