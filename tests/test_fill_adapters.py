"""Production inpainting adapters (ONNX, diffusers) on tiny models built here: the
plumbing (crops, colour, seam, seeds, model folders), not the art."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from genvfx.backend.files import layers
from genvfx.models import colour
from genvfx.errors import BadInput, GenVFXError
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.models import fill, registry
from genvfx.models.fill.adapters import crop, seam

from photos import rect_mask
from tiny_models import onnx_folder, tiny_sd_inpaint_folder, write_manifest

COLOUR = np.array([0.2, 0.05, 0.6], np.float32)  # scene-linear


# --------------------------------------------------------------------------- tiny models


@pytest.fixture(scope="module")
def diffusers_folder(tmp_path_factory):
    return tiny_sd_inpaint_folder(tmp_path_factory.mktemp("models") / "tiny-sd-inpaint")


EMBEDS = {"prompt_embeds": np.full((1, 4, 32), 0.1, np.float32),
          "negative_prompt_embeds": np.zeros((1, 4, 32), np.float32)}


def flat_plate(height=96, width=96, hole_box=(0.3, 0.3, 0.7, 0.7), seed=0):
    """A plate of one linear colour with noise-coloured junk (the thing to remove) in the
    hole, and a few HDR pixels in the crop's context."""
    rng = np.random.default_rng(seed)
    mask = rect_mask(height, width, hole_box)
    plate = np.ones((height, width, 4), np.float32)
    plate[..., :3] = COLOUR
    plate[mask > 0.5, :3] = rng.uniform(0, 3, size=(int((mask > 0.5).sum()), 3))
    plate[5, 5:20, :3] = 40.0  # a highlight far above 1.0
    return plate, mask


def depth_of(mask):
    return seam.depth(mask > 0.5)


# --------------------------------------------------------------------------- crops and colour


def test_regions_cover_the_hole_at_the_models_size():
    rule = crop.SizeRule(resolution=64, multiple=8)
    hole = np.zeros((300, 500), bool)
    hole[20:40, 30:70] = True
    hole[250:280, 420:490] = True
    found = crop.regions(hole, rule, context=0.25, min_context=16)
    assert len(found) == 2
    covered = np.zeros_like(hole)
    for region in found:
        assert max(region.size) == 64 and all(side % 8 == 0 for side in region.size)
        covered[region.window] |= region.hole
    assert np.array_equal(covered, hole)

    fixed = crop.regions(hole[:100, :100], crop.SizeRule(fixed=(32, 32)))
    (region,) = fixed
    assert region.size == (32, 32) and region.bottom - region.top == region.right - region.left


def test_model_input_is_srgb_and_comes_back_linear():
    linear = np.full((4, 4, 3), 0.214041, np.float32)
    encoded = crop.to_model(linear, (8, 8), "srgb")
    assert encoded.shape == (8, 8, 3) and np.allclose(encoded, 0.5, atol=1e-3)
    assert np.allclose(crop.from_model(encoded, (4, 4), "srgb"), linear, atol=1e-4)
    assert np.allclose(crop.to_model(linear, (4, 4), "linear"), linear)
    hdr = np.full((4, 4, 3), 40.0, np.float32)
    assert crop.to_model(hdr, (4, 4), "srgb").max() == 1.0  # tone-clamped for the model


# --------------------------------------------------------------------------- ONNX


def test_onnx_fill_keeps_outside_bits_and_colour(tmp_path):
    manifest = registry.read_manifest(onnx_folder(tmp_path / "identity"))
    registry.verify(manifest)
    filler = fill.load(manifest, "cpu")
    plate, mask = flat_plate()
    steps = []
    out = filler(plate, mask, seed=3, on_step=lambda s, n: steps.append((s, n)), match_colour=False, feather=0,
                 patch_size=7)
    assert set(out) == {"Combined", "Fill", "Mask"} and out["Combined"].shape == plate.shape
    outside = mask <= 0.5
    assert np.array_equal(out["Combined"][outside], plate[outside])  # bit-exact, HDR pixels included
    assert np.array_equal(out["Mask"], mask) and np.array_equal(out["Fill"][outside], np.zeros_like(plate[outside]))
    # the model returned what it was shown (the hole pre-filled from its surround): the plate's colour, via sRGB
    assert np.allclose(out["Combined"][~outside, :3], COLOUR, atol=2e-3)
    assert np.allclose(out["Combined"][~outside, 3], 1.0)
    assert steps[-1] == (1, 1)


def test_onnx_output_is_decoded_from_srgb(tmp_path):
    filler = fill.load(registry.read_manifest(onnx_folder(tmp_path / "grey", gain=0.0, offset=0.5)), "cpu")
    plate, mask = flat_plate()
    out = filler(plate, mask, match_colour=False, feather=0)
    assert np.allclose(out["Combined"][mask > 0.5, :3], 0.214041, atol=1e-3)  # sRGB 0.5 is linear 0.214

    linear = fill.load(registry.read_manifest(onnx_folder(tmp_path / "linear", gain=0.0, offset=0.5,
                                                          input_colour_space="linear")), "cpu")
    assert np.allclose(linear(plate, mask, match_colour=False, feather=0)["Combined"][mask > 0.5, :3], 0.5, atol=1e-4)


def test_colour_match_takes_out_a_models_cast(tmp_path):
    filler = fill.load(registry.read_manifest(onnx_folder(tmp_path / "dark", gain=0.5)), "cpu")
    plate, mask = flat_plate()
    rng = np.random.default_rng(1)
    plate[mask <= 0.5, :3] *= rng.uniform(0.8, 1.2, size=(int((mask <= 0.5).sum()), 1)).astype(np.float32)
    hole = mask > 0.5
    matched = filler(plate, mask, feather=0)["Combined"][hole, :3].mean(axis=0)
    unmatched = filler(plate, mask, feather=0, match_colour=False)["Combined"][hole, :3].mean(axis=0)
    assert np.allclose(matched, COLOUR, rtol=0.05)
    assert (unmatched < 0.6 * COLOUR).all()


def test_seam_is_feathered_into_the_plate(tmp_path):
    filler = fill.load(registry.read_manifest(onnx_folder(tmp_path / "bright", gain=0.0, offset=0.8)), "cpu")
    plate, mask = flat_plate(128, 128, (0.25, 0.25, 0.75, 0.75))
    model_value = colour.srgb_to_linear(np.full((1, 1, 3), 0.8, np.float32))[0, 0]
    depth = depth_of(mask)
    hard = filler(plate, mask, match_colour=False, feather=0)["Combined"][..., :3]
    soft = filler(plate, mask, match_colour=False, feather=12)["Combined"][..., :3]
    edge, deep = (depth > 0) & (depth <= 1), depth > 13
    assert np.allclose(hard[edge], model_value, atol=1e-3)
    step = np.abs(model_value - COLOUR)
    assert (np.abs(soft[edge] - COLOUR).mean(axis=0) < 0.2 * step).all()  # meets the plate at the edge
    assert np.allclose(soft[deep], model_value, atol=1e-3)  # the middle is the model's
    mid = (depth > 5) & (depth <= 7)
    assert (np.abs(soft[mid] - COLOUR).mean(axis=0) > np.abs(soft[edge] - COLOUR).mean(axis=0)).all()


def test_fixed_size_onnx_model_gets_crops_of_its_size(tmp_path):
    filler = fill.load(registry.read_manifest(onnx_folder(tmp_path / "fixed", size=(32, 32))), "cpu")
    assert filler.rule.fixed == (32, 32)
    plate, mask = flat_plate(80, 120, (0.4, 0.1, 0.6, 0.2))
    mask[50:70, 90:110] = 1.0  # a second hole far from the first
    out = filler(plate, mask, match_colour=False, feather=0)
    outside = mask <= 0.5
    assert np.array_equal(out["Combined"][outside], plate[outside])
    assert np.allclose(out["Combined"][~outside, :3], COLOUR, atol=5e-3)


def test_adapter_parameters_are_checked(tmp_path):
    filler = fill.load(registry.read_manifest(onnx_folder(tmp_path / "m")), "cpu")
    plate, mask = flat_plate(48, 48)
    with pytest.raises(BadInput, match="no parameter"):
        filler(plate, mask, strenght=0.5)
    with pytest.raises(BadInput, match="source"):
        filler(plate, mask, source=plate)
    empty = filler(plate, np.zeros_like(mask))
    assert np.array_equal(empty["Combined"], plate)


# --------------------------------------------------------------------------- diffusers


def test_diffusers_inpaint_shapes_outside_bits_and_seeds(diffusers_folder):
    manifest = registry.read_manifest(diffusers_folder)
    registry.verify(manifest)
    filler = fill.load(manifest, "cpu")
    assert filler.rule.resolution == 32 and filler.rule.multiple == 2
    plate, mask = flat_plate(64, 64)
    steps = []
    first = filler(plate, mask, seed=5, on_step=lambda s, n: steps.append((s, n)), **EMBEDS)
    assert steps == [(1, 2), (2, 2)]
    outside = mask <= 0.5
    assert first["Combined"].shape == plate.shape and first["Combined"].dtype == np.float32
    assert np.array_equal(first["Combined"][outside], plate[outside])
    assert np.isfinite(first["Combined"]).all()
    again = filler(plate, mask, seed=5, **EMBEDS)
    other = filler(plate, mask, seed=6, **EMBEDS)
    assert first["Combined"].tobytes() == again["Combined"].tobytes()
    assert not np.array_equal(first["Combined"][~outside], other["Combined"][~outside])


def test_diffusers_pipeline_class_from_manifest(diffusers_folder, tmp_path):
    import shutil

    folder = tmp_path / "explicit"
    shutil.copytree(diffusers_folder, folder)
    data = json.loads((folder / "manifest.json").read_text())
    data.update(id="test.fill.sd.explicit", options={"pipeline": "StableDiffusionInpaintPipeline", "resolution": 16,
                                                     "defaults": {"steps": 1, "guidance": 1.0}})
    (folder / "manifest.json").write_text(json.dumps(data))
    filler = fill.load(registry.read_manifest(folder), "cpu")
    assert type(filler.pipe).__name__ == "StableDiffusionInpaintPipeline" and filler.rule.resolution == 16
    plate, mask = flat_plate(40, 40)
    out = filler(plate, mask, prompt_embeds=EMBEDS["prompt_embeds"])
    assert np.array_equal(out["Combined"][mask <= 0.5], plate[mask <= 0.5])

    with pytest.raises(GenVFXError, match="text encoder"):
        filler(plate, mask)  # a prompt needs a text encoder this folder lacks

    data["options"] = {"pipeline": "StableDiffusionPipeline"}
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(GenVFXError, match="does not drive"):
        fill.load(registry.read_manifest(folder), "cpu")


def test_missing_diffusers_says_how_to_install(diffusers_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)
    with pytest.raises(GenVFXError) as caught:
        fill.load(registry.read_manifest(diffusers_folder), "cpu")
    assert caught.value.kind == "dependency" and "genvfx[diffusers]" in caught.value.hint


# --------------------------------------------------------------------------- model folders


def test_registry_finds_model_folders(tmp_path, monkeypatch):
    onnx_folder(tmp_path / "env" / "a", model_id="test.fill.env")
    onnx_folder(tmp_path / "user", model_id="test.fill.user")
    monkeypatch.setenv("GENVFX_MODEL_PATH", str(tmp_path / "env"))
    assert registry.find_model("test.fill.env", slot="fill").folder == tmp_path / "env" / "a"
    assert registry.find_model("test.fill.user", [str(tmp_path / "user")], slot="fill").framework == "onnx"
    ids = {m.id for m in registry.list_models([str(tmp_path / "user")], slot="fill")}
    assert {"genvfx.fill.patchmatch", "test.fill.env", "test.fill.user"} <= ids


def test_registry_refuses_damaged_pickled_and_unlisted_files(tmp_path):
    folder = onnx_folder(tmp_path / "m")
    data = json.loads((folder / "manifest.json").read_text())

    (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes() + b"\0")
    with pytest.raises(GenVFXError, match="sha256"):
        registry.verify(registry.read_manifest(folder))

    (folder / "manifest.json").write_text(json.dumps({**data, "files": {**data["files"], "weights.pt": "0" * 64}}))
    with pytest.raises(GenVFXError, match="pickle"):
        registry.read_manifest(folder)

    (folder / "manifest.json").write_text(json.dumps({**data, "files": {"../model.onnx": "0" * 64}}))
    with pytest.raises(GenVFXError, match="inside the folder"):
        registry.read_manifest(folder)

    onnx_folder(folder)  # fresh and valid again
    (folder / "extra.safetensors").write_bytes(b"{}")
    with pytest.raises(GenVFXError, match="does not list"):
        registry.verify(registry.read_manifest(folder))


def test_model_hash_follows_options(tmp_path):
    import hashlib

    shipped = registry.find_model("genvfx.fill.patchmatch")
    old_formula = hashlib.sha256(json.dumps([shipped.id, sorted(shipped.files.items())]).encode()).hexdigest()[:16]
    assert shipped.hash == old_formula  # caches made before options existed stay valid
    plain = registry.read_manifest(onnx_folder(tmp_path / "a"))
    scaled = registry.read_manifest(onnx_folder(tmp_path / "b", options={"output_scale": 255}))
    assert plain.hash != scaled.hash


# --------------------------------------------------------------------------- through the worker


def test_worker_job_with_an_onnx_model(small_shot, tmp_path):
    models = tmp_path / "models"
    onnx_folder(models / "lama-like", model_id="test.fill.lama")
    job = Job(generator="fill", frames=[1], cache_dir=str(tmp_path / "cache"), model="test.fill.lama", device="cpu",
              seed=2, params={"patch_size": 7},
              inputs={"plate": str(small_shot / "plate.####.exr"), "mask": str(small_shot / "mask.####.png")})
    result = run_job(job, model_folders=[str(models)])
    assert result["computed"] == [1]
    path = result["pattern"].replace("####", "0001")
    frame = layers.read_layers(path)["DebrisFill"]
    plate = layers.read_layers(small_shot / "plate.0001.exr")[""]["Combined"]
    outside = frame["Mask"] <= 0.5
    assert np.array_equal(frame["Combined"][outside], plate[outside])
    assert np.abs(frame["Combined"][~outside] - plate[~outside]).mean() > 0.01
    model = registry.read_manifest(models / "lama-like")
    assert layers.read_header(path)["genvfx.model"] == f"test.fill.lama@{model.hash}"
