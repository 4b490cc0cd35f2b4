"""The Collapse Sim node in Blender (the bpy module): installed from the built extension,
put in a scene by ``headless.build_collapse_scene``, generated and rendered by
``headless.render_blend``, recombined live in its group, imported as keyframed objects,
and kept by the .blend.

The plate is a real photograph: a tower cut from Blender's bundled ``city.exr`` (a Poly
Haven HDRI, CC0), 160×120, with a hand-placed outline as the mask; 30 fragments over six
frames, the collapse starting on frame 2. Gravity and the failure's speed are turned up
at 8 frames a second, so that by frame 6 the building is visibly on its way down and
some fragments have turned to dust. The Blender side is ``tests/blender/collapse.py``.
"""

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

SIZE = (160, 120)  # width, height
CROP = (590, 150, 192, 144)  # x, y, width, height of the tower in the 1024×512 panorama
OUTLINE = [(643, 183), (688, 168), (729, 180), (729, 270), (643, 270)]  # panorama pixels
FRAMES = list(range(1, 7))
START = 2
FPS = 8  # six frames are most of a second: fragments fall, and some turn to dust
PARAMS = {"fragments": 30, "seed": 3, "speed": 20000.0, "fps": FPS}  # speed: clamped, with a warning
TIME_LIMIT = 300


def tower_shot(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The tower plate (scene-linear RGBA EXR) and its mask (8-bit PNG) in ``folder``."""
    import cv2
    from genvfx.backend.files import images
    from photos import write_mask_png, write_plate

    bpy_root = Path(importlib.util.find_spec("bpy").origin).parent
    panorama = images.read_image(str(next(bpy_root.glob("*/datafiles/studiolights/world/city.exr"))))
    x, y, width, height = CROP
    crop = cv2.resize(panorama[y:y + height, x:x + width], SIZE, interpolation=cv2.INTER_AREA)
    plate = images.as_rgba(np.maximum(crop, 0.0))
    outline = (np.array(OUTLINE, float) - (x, y)) * (SIZE[0] / width, SIZE[1] / height)
    mask = np.zeros(SIZE[::-1], np.float32)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1.0)
    write_plate(folder / "plate.exr", plate)
    write_mask_png(folder / "mask.png", mask)
    return plate, mask


@pytest.fixture(scope="module")
def collapse_run(extension_zip, tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import run_blender_script

    root = tmp_path_factory.mktemp("collapse_blender")
    plate, mask = tower_shot(root)
    out = root / "out"
    out.mkdir()
    config = {"zip": str(extension_zip), "plate": str(root / "plate.exr"), "mask": str(root / "mask.png"),
              "cache": str(root / "cache"), "out": str(out), "frames": FRAMES, "start": START, "params": PARAMS}
    results = run_blender_script(root, "collapse", config, TIME_LIMIT)
    return {"results": results, "out": out, "plate": plate, "mask": mask > 0.5}


def _pixels(run, name):
    return np.load(run["out"] / f"{name}.npy")


def _rendered(run, frame):
    from genvfx.backend.files import images

    return images.read_image(str(run["out"] / "render" / f"composite.{frame:04d}.exr"))


def _passes(run, frame):
    from genvfx.backend.files import layers

    return layers.read_layers(run["results"]["node"]["pattern"].replace("####", f"{frame:04d}"))["Collapse"]


def _simulation(run):
    pattern = Path(run["results"]["node"]["pattern"])
    with np.load(pattern.parent / "Collapse.sim.npz") as data:
        return {name: data[name] for name in data.files}


def test_the_node_is_in_the_menu_with_its_sockets(collapse_run):
    results = collapse_run["results"]
    assert "Collapse Sim" in results["menu"]
    assert results["sockets"]["out"] == ["Image", "Fragments", "Dust", "CleanPlate", "Depth", "Vector"]
    assert results["sockets"]["in"] == ["Image", "Mask", "Fragment Grade", "Motion Blur", "Dust Opacity", "Dust Tint"]
    assert results["scene"] == {"frames": [1, 6], "resolution": list(SIZE)}


def test_the_node_sends_its_art_direction(collapse_run):
    from genvfx.models.collapse import CollapseOptions

    params = collapse_run["results"]["job_params"]
    options, warnings = CollapseOptions.from_params(params)
    assert (options.start, options.fragments, options.seed, options.origin) == (START, 30, 3, None)
    assert options.light is None   # the default sun
    assert options.gravity_scale == 1.0 and options.size_falloff == pytest.approx(0.6) and options.fps == FPS
    assert warnings == ["speed 20000.0 is out of range, using 10000.0"]


def test_before_generating_it_passes_the_plate_through(collapse_run):
    assert np.abs(_pixels(collapse_run, "before") - collapse_run["plate"]).max() < 1e-6


def test_generating_fills_the_outputs_and_shows_the_warnings(collapse_run):
    results = collapse_run["results"]
    node = results["node"]
    assert node["state"] == "DONE", node["message"]
    assert node["frames"] == [1, 6] and len(results["written"]) == len(FRAMES)
    assert node["warnings"] == ["speed 20000.0 is out of range, using 10000.0"]
    assert "label: 1 warning(s): see the sidebar (N)" in results["drawn"]
    assert "label: speed 20000.0 is out of range, using" in results["drawn"]
    for name in ("fragments", "start_frame", "origin", "direction_bias", "gravity_scale", "genvfx.generate",
                 "genvfx.collapse_import_simulation"):
        assert name in results["drawn"]
    passes = _passes(collapse_run, 6)
    assert set(passes) >= {"Combined", "Fragments", "Dust", "CleanPlate", "Depth", "Vector"}
    assert passes["Fragments"][..., 3].max() > 0.99 and passes["Dust"][..., 3].max() > 0.1


def test_before_and_at_the_start_frame_the_image_is_the_plate(collapse_run):
    plate = collapse_run["plate"]
    for frame in (1, START):
        error = np.abs(_rendered(collapse_run, frame) - plate)[..., :3].mean()
        assert error <= 2e-3, (frame, error)
    assert np.abs(_pixels(collapse_run, "outside") - plate).max() < 1e-6  # past the generated frames


def test_a_later_frame_collapses_inside_the_mask_and_keeps_the_still_plate(collapse_run):
    import cv2

    plate, mask = collapse_run["plate"], collapse_run["mask"]
    frame = _rendered(collapse_run, 6)
    assert np.abs(frame - plate)[mask][:, :3].mean() > 0.02
    passes = _passes(collapse_run, 6)
    touched = (passes["Fragments"][..., 3] > 0) | (passes["Dust"][..., 3] > 0) | mask
    far = cv2.dilate(touched.astype(np.uint8), np.ones((13, 13), np.uint8)) == 0
    assert far.mean() > 0.2
    assert np.abs(frame - plate)[far].max() < 1e-5  # no blur, no clean plate where nothing happens


def test_without_motion_blur_the_group_is_the_combined_pass(collapse_run):
    passes = _passes(collapse_run, 6)
    sharp = _pixels(collapse_run, "sharp")
    assert np.abs(sharp - passes["Combined"])[..., :3].mean() < 1e-4
    blurred = _rendered(collapse_run, 6)
    moving = np.abs(passes["Vector"]).max(axis=2) * 0.25 >= 0.5  # Blender blurs motion of half a pixel or more
    assert moving.any() and np.abs(blurred - sharp)[moving].mean() > 1e-3


def test_fragment_grade_and_dust_controls_follow_their_formulas(collapse_run):
    passes = _passes(collapse_run, 6)
    combined, fragments, dust = passes["Combined"], passes["Fragments"], passes["Dust"]
    clear = 1.0 - dust[..., 3:4]
    graded = combined[..., :3] - clear * fragments[..., :3] * 0.5
    assert np.abs(_pixels(collapse_run, "graded")[..., :3] - graded).max() < 1e-3
    thin = clear[..., 0] > 0.1
    no_dust = (combined[..., :3] - dust[..., :3]) / np.maximum(clear, 1e-6)
    assert np.abs(_pixels(collapse_run, "no_dust")[..., :3] - no_dust)[thin].max() < 1e-3
    tinted = combined[..., :3] - dust[..., :3] * (1.0 - np.array([1.0, 0.5, 0.25]))
    assert np.abs(_pixels(collapse_run, "tinted")[..., :3] - tinted).max() < 1e-3


def test_import_makes_keyframed_fragments_a_ground_and_the_camera(collapse_run):
    results = collapse_run["results"]
    imported = results["imported"]
    simulation = _simulation(collapse_run)
    count = len(simulation["vertex_counts"])
    assert results["import"] == ["FINISHED"]
    assert imported["fragments"] == count and count >= 8
    assert imported["keys"] == [len(simulation["frames"])]
    assert imported["hidden_keyed"] == int((simulation["opacity"] <= 0).any(axis=0).sum()) > 0
    assert imported["uv_layers"] == ["Plate"]
    camera = imported["camera"]
    assert camera["lens"] == 50.0 and camera["sensor"] == 36.0 and camera["fit"] == "HORIZONTAL"
    assert camera["location"] == [0.0, 0.0, 0.0] and camera["scene_camera"]
    assert camera["rotation"] == pytest.approx([np.pi / 2, 0.0, 0.0])
    assert [corner[2] for corner in imported["ground_z"]] == pytest.approx([float(simulation["ground"])] * 4)
    # Blender (x, y, z) = camera space (x, -z, y): each fragment's first vertex where the backend has it
    # (Blender does not move hidden objects: fragments turned to dust are left out)
    starts = np.concatenate([[0], np.cumsum(simulation["vertex_counts"])[:-1]])
    for frame, got in imported["world_vertex_0"].items():
        index = list(simulation["frames"]).index(int(frame))
        local = simulation["vertices"][starts]
        camera_space = np.einsum("nij,nj->ni", simulation["rotations"][index], local) + simulation["positions"][index]
        expected = np.stack([camera_space[:, 0], -camera_space[:, 2], camera_space[:, 1]], axis=1)
        shown = simulation["opacity"][index] > 0
        assert shown.sum() >= count // 2
        assert np.abs(np.array(got[0]) - expected)[shown].max() < 1e-3


def test_the_file_keeps_the_node_settings(collapse_run):
    reopened = collapse_run["results"]["reopened"]
    assert reopened["state"] == "DONE" and reopened["result_pattern"]
    assert (reopened["start_frame"], reopened["fragments"], reopened["use_origin"], reopened["seed"]) == (3, 42, True, 9)
    assert reopened["origin"] == pytest.approx([0.25, 0.75]) and reopened["direction_bias"] == pytest.approx([0.5, -0.25])
    for name, value in (("speed", 12.0), ("size_falloff", 0.3), ("height", 40.0), ("gravity_scale", 2.0),
                        ("dust", 0.5), ("dust_opacity", 0.7)):
        assert reopened[name] == pytest.approx(value), name
    assert reopened["warnings"] == ["speed 20000.0 is out of range, using 10000.0"]
    params = reopened["job_params"]
    assert params["origin"] == [0.25, 0.75] and params["height"] == 40.0 and params["start"] == 3
    assert params["light"] == pytest.approx([0.6, 0.7, 0.2])   # the options make it a unit vector
