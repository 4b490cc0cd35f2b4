"""Collapse Sim's final quality: the simulation rendered by Cycles in a Blender process
(here the bpy module), on the photographed demo tower, kept tiny for CI."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from genvfx.backend.files import images, layers
from genvfx.backend.generators.collapse import FINAL_RENDERS
from genvfx.backend.process import blender
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.errors import BadInput
from genvfx.models.collapse import CollapseOptions
from genvfx.models.collapse.shot import camera_normals

from test_collapse import tower

LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


def test_quality_and_samples_are_checked():
    with pytest.raises(BadInput, match="quality"):
        CollapseOptions.from_params({"quality": "draft"})
    options, warnings = CollapseOptions.from_params({"quality": "final", "samples": 0})
    assert options.samples == 1 and any("samples" in w for w in warnings)


def test_without_blender_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.delenv(blender.BLENDER_VARIABLE, raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bpy" else real(name, *a))
    with pytest.raises(BadInput) as error:
        blender.command("addon.collapse_final", ["job.json"])
    assert "blender extra" in error.value.hint and blender.BLENDER_VARIABLE in error.value.hint


def test_a_blender_binary_is_run_headless_with_the_package(monkeypatch):
    monkeypatch.setenv(blender.BLENDER_VARIABLE, "/opt/blender/blender")
    line = blender.command("addon.collapse_final", ["job.json"])
    assert line[:2] == ["/opt/blender/blender", "-b"] and "--python-exit-code" in line
    assert line[-4:] == ["--", str(blender.PACKAGE_ROOT), "addon.collapse_final", "job.json"]


def test_blender_normals_become_camera_normals():
    # Blender's scene: x right, y forward (away from the camera), z up; the passes: x right, y up, z back
    world = np.array([[[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]], np.float32)
    assert camera_normals(world).tolist() == [[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]]


@pytest.fixture(scope="module")
def final_run(tmp_path_factory):
    pytest.importorskip("bpy")
    from photos import write_mask_png, write_plate

    folder = tmp_path_factory.mktemp("final")
    plate, mask = tower(0.25)
    write_plate(folder / "tower.exr", plate)
    write_mask_png(folder / "mask.png", mask)
    job = Job(generator="collapse", inputs={"plate": str(folder / "tower.exr"), "mask": str(folder / "mask.png")},
              frames=[1, 2, 8], output_dir_override=str(folder / "out"), device="cpu",
              params={"start": 1, "fragments": 30, "height": 30.0, "seed": 2, "fps": 12.0, "quality": "final",
                      "samples": 4})
    result = run_job(job)
    return folder / "out", images.as_rgba(images.read_image(folder / "tower.exr")), mask, result


def _passes(out, frame):
    return layers.read_layers(out / f"Collapse.{frame:04d}.exr")["Collapse"]


@pytest.mark.blender
def test_final_frames_start_on_the_plate_and_come_from_cycles(final_run):
    out, plate, mask, result = final_run
    assert result["computed"] == [1, 2, 8]
    assert np.abs(_passes(out, 1)["Combined"] - plate).mean() <= 2e-3      # the start frame is the plate (preview's)
    for frame in (2, 8):
        render = out / FINAL_RENDERS.replace("####", f"{frame:04d}")
        assert set(layers.read_layers(render)) == {"Solid", "Dust", "Motion"}
        assert any(name.startswith("CryptoObject") for name in layers.read_layers(render)["Motion"])
    passes = _passes(out, 8)
    assert set(passes) == {"Combined", "Fragments", "Dust", "CleanPlate", "Depth", "Vector", "Normal", "FragmentID"}
    assert all(np.isfinite(p).all() for p in passes.values())
    ids = passes["FragmentID"]
    on = ids > 0
    assert on.any() and set(np.unique(ids)) <= set(range(31))
    assert np.allclose(np.linalg.norm(passes["Normal"][on], axis=-1), 1.0, atol=0.02)
    assert (passes["Depth"][on] > 1.0).all() and (passes["Depth"][on] < 1e6).all()


@pytest.mark.blender
def test_the_first_final_frame_gives_the_plate_back(final_run):
    """The albedo gain is calibrated so that fragments barely moved show the plate at its
    brightness (Cycles' light, not the plate's, would otherwise change the building)."""
    out, plate, mask, _ = final_run
    fragments = _passes(out, 2)["Fragments"]
    core = (mask >= 0.999) & (fragments[..., 3] > 0.99)
    assert core.mean() > 0.5 * (mask >= 0.999).mean()
    ratio = (fragments[..., :3] @ LUMINANCE)[core] / np.maximum(plate[..., :3] @ LUMINANCE, 1e-4)[core]
    assert 0.85 < np.median(ratio) < 1.15


@pytest.mark.blender
def test_the_collapse_moves_and_casts_shadows_and_dust(final_run):
    out, plate, mask, _ = final_run
    passes = _passes(out, 8)
    changed = np.abs(passes["Combined"][..., :3] - plate[..., :3]).mean(-1) > 0.02
    assert changed[mask > 0.5].mean() > 0.2
    assert passes["Dust"][..., 3].max() > 0.3
    # the fragments' pass carries the shadow catcher: partly opaque pixels away from any fragment
    shadow = (passes["Fragments"][..., 3] > 0.05) & (passes["FragmentID"] == 0) & (mask < 0.01)
    assert shadow.sum() > 10
    assert np.abs(passes["Vector"]).max() > 0.1


def test_settled_alpha_removes_speckle_and_keeps_the_edges():
    """Cycles denoises a volume's colour, not its alpha: the guided filter takes the
    speckle out of a photograph-shaped alpha and keeps a cut-out edge."""
    from photos import photo_linear

    from genvfx.models.collapse.shot import settled_alpha

    rng = np.random.default_rng(4)
    photo = photo_linear("coffee", (160, 120))[..., :3]
    alpha = np.clip(0.2 + 0.6 * (photo @ LUMINANCE) / (photo @ LUMINANCE).max(), 0.0, 1.0)
    alpha[:, 80:] = 0.0                                            # a fragment cutting the dust out
    colour = 0.7 * alpha[..., None] * np.ones(3)                   # denoised, premultiplied
    noisy = np.clip(alpha + np.where(alpha > 0, rng.normal(0.0, 0.08, alpha.shape), 0.0), 0.0, 1.0)
    settled = settled_alpha(np.dstack([colour, noisy]).astype(np.float32))
    inside = alpha[:, :76] > 0
    before = np.abs(noisy[:, :76] - alpha[:, :76])[inside].mean()
    after = np.abs(settled[:, :76, 3] - alpha[:, :76])[inside].mean()
    assert after < 0.4 * before
    assert (settled[:, 80:, 3] == 0).all() and np.array_equal(settled[..., :3], np.dstack([colour]).astype(np.float32))
