"""The extension in real Blender (the ``bpy`` module), end to end.

Builds the zip with Blender's own extension tool, installs and enables it, wires a
real photograph and a mask through Debris Fill in the compositor, generates with the
backend worker, renders the compositor and checks the pixels. A second node whose
plate comes through an RGB Curves node (not a file) must get its input baked. The
Blender side is ``tests/blender/e2e.py``.

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
    results = run_blender_script(root, "e2e", config, TIME_LIMIT)
    return {"results": results, "out": out, "plate": plate, "mask": mask > 0.5, "root": root, "config": config}


def pixels(run, name):
    return np.load(run["out"] / f"{name}.npy")


def test_zip_holds_the_package_and_nothing_else(extension_zip):
    names = zipfile.ZipFile(extension_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert "addon/debris_fill_node.py" in names and "backend/process/worker.py" in names
    assert "registration.py" in names and "ui/nodes.py" in names
    assert "pyproject.toml" in names  # Set up Backend reads the backend's requirements from it
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
    assert results["params"] == {"temporal": "carry"}
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
    assert {"label: Model: genvfx.fill.patchmatch", "label: Licence: GPL-3.0-or-later", "label: Seed: 0"} <= set(lines)
    assert any(line.startswith("label: Generated, frame 1: ") for line in lines)
    assert any(line.startswith("label: Energy: ") and line.endswith(" Wh") for line in lines)
    assert lines[-2] == "genvfx.write_report" and lines[-1].startswith("label: Report written: ")
    assert results["panel_lines"]["none"][0] == "label: Select a genvfx node"
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
    drawn = results["lonely_drawn"]  # the error on the node, wrapped, and Generate to try again
    assert "genvfx.generate" in drawn and "genvfx.cancel" not in drawn
    shown = [line for line in drawn if line.startswith("label: ")]
    assert len(shown) >= 2 and all(len(line) <= len("label: ") + 40 for line in shown)
    assert " ".join(line[len("label: "):] for line in shown) == results["lonely_node"]["message"]


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
    assert {"genvfx.variants", "genvfx.use_variant", "variant_count"} <= set(results["drawn"])
    assert results["variants_reopened"] == {"seed": 6, "seeds": "5,6", "images": [5, 6]}


def test_the_node_draws_its_settings_and_buttons(blender_run):
    results = blender_run["results"]
    drawn = results["drawn"]
    for name in ("model", "seed", "proxy", "scope", "source", "temporal", "key_interval", "key_frames", "model_id",
                 "result_pattern", "genvfx.generate"):
        assert name in drawn, name
    assert "prompt" not in drawn  # the embedded default takes no prompt
    assert "label: Frames 1–1" in drawn and "label: Licence: GPL-3.0-or-later" in drawn
    assert "label: Frame 1, 25 %" in drawn  # the Variants box, its thumbnails made
    assert results["label"] == "Debris Fill"
    assert results["unregistered"]
