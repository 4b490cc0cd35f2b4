"""Layer files: round trips, provenance headers, Blender's multi-part EXRs, damaged files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from genvfx.backend.files import images, layers
from genvfx.errors import BadInput

from photos import photo_linear, write_plate


def test_round_trip_is_exact_for_float32_passes(tmp_path):
    photo = photo_linear("coffee", (64, 48))
    photo[0, 0, 0] = 37.5  # HDR value survives
    depth = np.linspace(0, 100, 64 * 48, dtype=np.float32).reshape(48, 64)
    normal = np.dstack([np.full((48, 64), v, np.float32) for v in (0.0, 0.6, 0.8)])
    path = layers.write_layer(tmp_path / "L.0001.exr", "DebrisFill",
                              {"Combined": photo, "Depth": depth, "Normal": normal},
                              header={"genvfx.seed": "5"}, channels={"Normal": layers.VECTOR})
    back = layers.read_layers(path)
    assert set(back) == {"DebrisFill"}
    assert np.array_equal(back["DebrisFill"]["Combined"], photo)
    assert np.array_equal(back["DebrisFill"]["Depth"], depth)
    assert np.array_equal(back["DebrisFill"]["Normal"], normal)
    assert layers.read_header(path)["genvfx.seed"] == "5"


def test_write_is_atomic_and_leaves_no_partial_file(tmp_path, monkeypatch):
    # A successful write leaves exactly the file.
    passes = {"Combined": photo_linear("coffee", (16, 16))}
    layers.write_layer(tmp_path / "done.exr", "X", passes)
    assert [p.name for p in tmp_path.iterdir()] == ["done.exr"]

    # The frame is complete under another name before it takes its own, and when that
    # rename fails neither the frame nor a partial file is left behind.
    renames = []

    def failing_replace(source, target):
        renames.append((Path(source), Path(target), Path(source).is_file()))
        raise OSError("disk full")

    monkeypatch.setattr(layers.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        layers.write_layer(tmp_path / "a.exr", "X", passes)
    assert len(renames) == 1, "the layer was not written under a temporary name, then renamed"
    source, target, written = renames[0]
    assert target == tmp_path / "a.exr" and source != target and written
    assert source.parent == tmp_path  # same folder, so the rename is atomic
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.exr"]


def test_truncated_exr_gives_a_clear_error(tmp_path):
    path = tmp_path / "plate.exr"
    write_plate(path, photo_linear("coffee", (64, 48)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match="damaged or truncated|Cannot read"):
        images.read_image(path)


def test_plain_rgba_plate_reads_as_combined(tmp_path):
    photo = photo_linear("coffee", (40, 30))
    write_plate(tmp_path / "p.exr", photo)
    assert np.array_equal(images.read_image(tmp_path / "p.exr"), photo)


def test_png_plate_is_decoded_from_srgb_to_linear(tmp_path):
    import cv2

    ramp = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    cv2.imwrite(str(tmp_path / "ramp.png"), np.dstack([ramp] * 3))
    linear = images.read_image(tmp_path / "ramp.png")[..., 0][0]
    assert linear[0] == 0 and abs(linear[255] - 1.0) < 1e-4
    assert abs(linear[128] - 0.2158605) < 1e-3  # sRGB EOTF at 128/255
    assert images.read_mask(tmp_path / "ramp.png")[0, 128] == pytest.approx(128 / 255)


BLENDER_RENDER = textwrap.dedent("""
    import sys, bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = 'CYCLES'
    scene.cycles.samples = 1
    scene.cycles.device = 'CPU'
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 32, 24, 100
    bpy.ops.mesh.primitive_cube_add()
    camera = bpy.data.objects.new('Camera', bpy.data.cameras.new('Camera'))
    scene.collection.objects.link(camera)
    camera.location = (4, -4, 3); camera.rotation_euler = (1.1, 0, 0.785)
    scene.camera = camera
    layer = scene.view_layers[0]
    layer.use_pass_normal = True
    layer.use_pass_diffuse_color = True
    scene.render.image_settings.media_type = 'MULTI_LAYER_IMAGE'
    scene.render.image_settings.file_format = 'OPEN_EXR_MULTILAYER'
    scene.render.filepath = sys.argv[-1]
    bpy.ops.render.render(write_still=True)
""")


@pytest.mark.blender
def test_blender_written_multipart_exr_is_read_pass_by_pass(tmp_path):
    pytest.importorskip("bpy")
    out = tmp_path / "render.exr"
    subprocess.run([sys.executable, "-c", BLENDER_RENDER, str(out)], check=True, capture_output=True, timeout=300)
    back = layers.read_layers(out)
    passes = next(iter(back.values()))
    assert {"Combined", "Normal", "Diffuse Color"} <= set(passes), back.keys()
    normal = passes["Normal"]
    assert normal.shape == (24, 32, 3)
    lengths = np.linalg.norm(normal, axis=-1)
    assert np.isclose(lengths[lengths > 0.5], 1.0, atol=0.05).mean() > 0.9  # unit normals on the cube
    assert images.read_image(out).shape == (24, 32, 4)
