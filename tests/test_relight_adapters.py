"""Relight's production adapters (Marigold normals and intrinsics with diffusers, depth
models with transformers) on tiny randomly initialised models built here: loaded from a
folder through the registry, run on a photograph, turned into passes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from genvfx.backend.files import layers
from genvfx.errors import GenVFXError
from genvfx.models import registry, relight
from genvfx.models.relight.estimate import SURFACE
from photos import photo_linear, write_plate
from tiny_models import tiny_depth_folder, tiny_marigold_folder, write_manifest


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("relight_models")
    return {"normals": tiny_marigold_folder(root / "normals"),
            "intrinsics": tiny_marigold_folder(root / "intrinsics", intrinsics=True),
            "depth": tiny_depth_folder(root / "depth"), "root": root}


@pytest.fixture(scope="module")
def plate():
    return photo_linear("chelsea", (96, 64))


def _estimator(folder):
    manifest = registry.read_manifest(folder)
    registry.verify(manifest)
    return relight.load(manifest, "cpu")


@pytest.fixture(scope="module")
def embedded(plate):
    return relight.load(registry.find_model("genvfx.relight.normalnet", slot="relight"), "cpu")(plate)


def test_marigold_normals_replace_the_embedded_ones_and_repeat(folders, plate, embedded):
    estimator = _estimator(folders["normals"])
    first, second = estimator(plate), estimator(plate)
    assert first.normal.shape == plate.shape[:2] + (3,)
    assert np.allclose(np.linalg.norm(first.normal, axis=-1), 1.0, atol=1e-4)
    assert np.array_equal(first.normal, second.normal)                 # seeded: the same passes
    assert not np.allclose(first.normal, embedded.normal, atol=1e-2)
    assert np.array_equal(first.depth, embedded.depth)                 # depth stays the embedded one


def test_marigold_intrinsics_albedo_goes_into_the_albedo_pass(folders, plate, embedded):
    estimate = _estimator(folders["intrinsics"])(plate)
    assert estimate.albedo is not None and estimate.albedo.shape == plate.shape[:2] + (3,)
    assert np.array_equal(estimate.normal, embedded.normal)
    passes = relight.frame_passes(plate, estimate, relight.neutral_light(plate, estimate))
    surface = estimate.confidence > SURFACE
    assert np.array_equal(passes["Albedo"][surface], estimate.albedo[surface])
    rebuilt = passes["Albedo"] * passes["Shading"] + passes["Residual"]
    assert np.abs(rebuilt - plate[..., :3]).max() < 1e-6


def test_a_depth_model_gives_the_depth_pass(folders, plate, embedded):
    estimate = _estimator(folders["depth"])(plate)
    surface = estimate.confidence > SURFACE
    assert np.isfinite(estimate.depth).all() and (estimate.depth > 0).all()
    if surface.any():
        assert np.median(estimate.depth[surface]) == pytest.approx(1.0, rel=0.05)
    assert not np.allclose(estimate.depth, embedded.depth)
    assert np.array_equal(estimate.normal, embedded.normal)


def test_models_made_for_something_else_are_refused(folders, tmp_path):
    fill_model = registry.find_model("genvfx.fill.patchmatch", slot="fill")
    with pytest.raises(GenVFXError, match="not a Relight model"):
        relight.load(fill_model)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "weights.onnx").write_bytes(b"")
    write_manifest(odd, "test.relight.odd", "onnx", slot="relight", options={"kind": "segmentation"})
    with pytest.raises(GenVFXError, match="no Relight adapter"):
        relight.load(registry.read_manifest(odd))


def test_the_command_runs_a_model_from_a_folder(folders, tmp_path, plate):
    write_plate(tmp_path / "plate.0001.exr", plate)
    run = subprocess.run([sys.executable, "-m", "genvfx.cli", "relight", "--plate", str(tmp_path / "plate.####.exr"),
                          "--out", str(tmp_path / "out"), "--model", "test.relight.depth",
                          "--model-path", str(folders["root"])], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    header = layers.read_header(tmp_path / "out" / "Relight.0001.exr")
    assert header["genvfx.model"].startswith("test.relight.depth@")
    assert "direction" in json.loads(header["genvfx.relight.neutral"])
