"""Collapse Sim on a real photograph: fracture, MuJoCo, Warp passes, dust, the job and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genvfx.backend.files import images, layers
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.errors import BadInput
from genvfx.models import registry, relight
from genvfx.models.collapse import CollapseOptions, CollapseShot, PlateLight
from genvfx.models.collapse.fracture import fracture
from genvfx.models.collapse.geometry import Camera, lift_building, outline_planes
from genvfx.models.collapse.lighting import MIN_ELEVATION, fit_to_plate
from genvfx.models.collapse.physics import simulate
from genvfx.models.collapse.shot import failure_origin

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "demo"


def tower(scale: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The demo tower (a photograph) and its mask, at ``scale`` of 384×288."""
    import cv2

    plate = images.as_rgba(images.read_image(ASSETS / "tower.exr"))
    mask = images.read_mask(ASSETS / "tower_mask.png")
    size = (round(plate.shape[1] * scale), round(plate.shape[0] * scale))
    return cv2.resize(plate, size, interpolation=cv2.INTER_AREA), cv2.resize(mask, size, interpolation=cv2.INTER_AREA)


def blurred_fill(plate: np.ndarray, region: np.ndarray) -> np.ndarray:
    """A stand-in clean plate for the model tests (the job tests use Debris Fill)."""
    import cv2

    return plate + region[..., None] * (cv2.blur(plate, (31, 31)) - plate)


@pytest.fixture(scope="module")
def shot():
    plate, mask = tower(0.5)
    options = CollapseOptions(start=3, fragments=40, height=40.0, seed=2)
    collapse = CollapseShot.prepare(plate, mask, options, last_frame=60)
    return collapse, plate, mask, blurred_fill(plate, collapse.reveal)


def test_start_frame_and_frames_before_it_are_the_plate(shot):
    collapse, plate, mask, fill = shot
    before = collapse.frame_passes(1, plate, fill)
    assert np.array_equal(before["Combined"], plate)
    start = collapse.frame_passes(3, plate, fill)
    error = np.abs(start["Combined"][..., :3] - plate[..., :3]).mean()
    assert error <= 2e-3, error
    # the fragments at rest are the building: their coverage is the mask
    assert np.abs(start["Fragments"][..., 3] - mask).mean() < 0.01
    assert np.abs(start["Vector"]).max() == 0


def test_the_building_comes_down_and_reveals_the_clean_plate(shot):
    collapse, plate, mask, fill = shot
    late = collapse.frame_passes(60, plate, fill)   # 2.4 s: a free fall of 28 m
    inside = mask > 0.5
    # the top of the building is gone: there the frame is the clean plate, or dust over it
    top_rows = np.zeros_like(inside)
    rows = np.nonzero(inside.any(axis=1))[0]
    top_rows[rows[0]:rows[0] + (rows[-1] - rows[0]) // 4] = True
    top = inside & top_rows
    assert late["Fragments"][..., 3][top].mean() < 0.6 * mask[top].mean()
    clear = top & (late["Fragments"][..., 3] < 1e-4) & (late["Dust"][..., 3] < 1e-4)
    if clear.any():
        # the clean plate, at most shaded (grey: the same factor in every channel) by what lies toward the light
        ratio = late["Combined"][clear][:, :3] / np.maximum(late["CleanPlate"][clear][:, :3], 1e-6)
        assert (ratio <= 1 + 1e-4).all() and (ratio > 0.1).all()
        assert np.allclose(ratio, ratio[:, :1], atol=2e-3)
    assert np.abs(late["Combined"][..., :3] - plate[..., :3])[inside].mean() > 0.02
    # passes: premultiplied RGBA, depth where fragments are, ids in range
    assert (late["Fragments"][..., :3] <= late["Fragments"][..., 3:4] * 2 * plate[..., :3].max() + 1e-6).all()
    hit = late["FragmentID"] > 0
    assert hit.any() and late["FragmentID"].max() <= len(collapse.fracture.fragments)
    empty = late["Fragments"][..., 3] == 0
    assert (late["Depth"][hit] < 1e9).all() and (late["Depth"][empty] >= 1e9).all()


def test_vectors_follow_the_fall(shot):
    collapse, plate, mask, fill = shot
    passes = collapse.frame_passes(14, plate, fill)
    moving = passes["FragmentID"] > 0
    # Blender's convention: +Y up, XY from the previous frame, ZW to the next; falling is -Y
    assert passes["Vector"][..., 1][moving].mean() < -0.05
    assert passes["Vector"][..., 3][moving].mean() < -0.05


@pytest.fixture(scope="module")
def three_seconds():
    """A small collapse at default settings but for its size: the half-size demo tower,
    40 fragments, 30 m, rendered 3 s after the start."""
    plate, mask = tower(0.5)
    options = CollapseOptions(start=1, fragments=40, height=30.0, seed=3)
    last = 1 + 3 * 24
    collapse = CollapseShot.prepare(plate, mask, options, last_frame=last)
    fill = blurred_fill(plate, collapse.reveal)
    return collapse, plate, mask, fill, {frame: collapse.frame_passes(frame, plate, fill) for frame in (25, 49, last)}


def test_the_building_is_down_three_seconds_after_the_start(three_seconds):
    """The issue's motion target: ≥ 70 % of the mask no longer shows the standing building
    (its own surface within 5 % of its height of where it stood) 3 s after the start."""
    collapse, plate, mask, fill, passes = three_seconds
    inside = mask > 0.5
    assert collapse.standing(1)[inside].mean() > 0.97            # at the start it all stands
    down = 1.0 - collapse.standing(73)[inside].mean()
    assert down >= 0.7, down
    # it comes down storey by storey to a low pile (a tower that sinks as a stack stays tall)
    positions, rotations = collapse.simulation.pose(73)
    solid = collapse.simulation.fragment_opacity(73) >= 0.999
    tops = [(rotations[i] @ f.vertices.T)[1].max() + positions[i, 1]
            for i, f in enumerate(collapse.fracture.fragments) if solid[i]]
    assert max(tops) - collapse.building.ground < 0.5 * float(collapse.building.size[1])
    # fragments shattered on striking the ground: fewer solid chunks are left than there were
    assert len(collapse.simulation.shattered) > 0.4 * len(collapse.fracture.fragments)
    assert (collapse.simulation.opacity[-1] > 0).sum() < 0.6 * len(collapse.fracture.fragments)


def test_dust_is_a_volume_lit_with_self_shadowing(three_seconds):
    """Inside the dust (alpha > 0.5) the Dust pass's luminance varies (std/mean ≥ 0.15):
    dark in the core, lit on the rims, not a flat tint; the dust shades what lies below it."""
    collapse, plate, mask, fill, passes = three_seconds
    for frame in (49, 73):
        dust = passes[frame]["Dust"]
        thick = dust[..., 3] > 0.5
        assert thick.sum() > 200, thick.sum()
        value = (dust[..., :3][thick] / dust[..., 3][thick][:, None]) @ np.array([0.2126, 0.7152, 0.0722])
        assert value.std() / value.mean() >= 0.15, value.std() / value.mean()
        assert (dust[..., :3] <= dust[..., 3:4] * 1.5 * collapse.dust_tint.max() + 1e-6).all()   # premultiplied
    # the shadows of the dust and the fragments on what lies behind them: black with the shadow's strength
    # as alpha in the Fragments pass (a shadow catcher), so they darken the ground beneath
    darker = []
    for late in (passes[49], passes[73]):
        shadow = (late["Depth"] >= 1e9) & (late["Fragments"][..., 3] > 0.02)
        assert shadow.mean() > 0.01
        assert np.median(np.abs(late["Fragments"][..., :3][shadow]).max(axis=-1)) < 1e-6
        bare = shadow & (late["Dust"][..., 3] == 0)       # shadow no dust lies over
        darker.append((late["Combined"][..., :3][bare] < late["CleanPlate"][..., :3][bare]).all(axis=-1))
    darker = np.concatenate(darker)
    assert len(darker) > 25 and darker.mean() > 0.9, (len(darker), darker.mean())


def test_nothing_hangs_above_the_roof_in_mid_fall(three_seconds):
    """The fragments are cut to the mask's outline, so in mid-fall no sliver of them
    shows above the roofline (the mask's top edge, column by column)."""
    collapse, plate, mask, fill, passes = three_seconds
    columns = np.nonzero((mask > 0.5).any(axis=0))[0]
    top = np.argmax(mask[:, columns] > 0.02, axis=0)
    rows = np.arange(mask.shape[0])[:, None]
    above = np.zeros_like(mask, bool)
    above[:, columns] = rows < top[None, :] - 1
    for frame in (25, 49):
        alpha = passes[frame]["Fragments"][..., 3]
        assert alpha[above].max() < 0.05, (frame, alpha[above].max(), (alpha[above] > 0.05).sum())
    pieces = collapse.fracture.fragments
    planes = outline_planes(mask, collapse.camera)
    corners = np.concatenate([f.vertices + f.centroid for f in pieces])
    assert (corners @ planes.T).max() < 1e-6 * float(np.linalg.norm(collapse.building.size))


def test_debris_is_thrown_out_and_settles(three_seconds):
    """Hundreds of small pieces beside the chunks: thrown out past the building, on the
    ground and at rest by the end, drawn into the Fragments pass."""
    collapse, plate, mask, fill, passes = three_seconds
    debris = collapse.debris
    assert len(debris.radius) >= 300
    tall = float(collapse.building.size[1])
    assert np.median(debris.radius) < 0.01 * tall
    last = debris.positions[-1]
    assert (last[:, 1] >= collapse.building.ground - 1e-3).all()
    assert np.median(last[:, 1] - collapse.building.ground) < 0.02 * tall
    low, high = collapse.building.low, collapse.building.high
    assert ((last[:, 0] < low[0]) | (last[:, 0] > high[0])).mean() > 0.1
    settled = debris.born <= debris.frames[-1] - 36                # thrown out at least 1.5 s before the end
    moved = np.linalg.norm(debris.positions[-1] - debris.positions[-2], axis=1) * 24
    assert settled.sum() > 100 and np.median(moved[settled]) < 0.05 * tall
    # pieces show outside the mask's solid core in the Fragments pass
    outside = passes[49]["Fragments"][..., 3][mask < 0.01]
    assert (outside > 0.5).sum() > 50


def tower_slab(height_m: float):
    """The half-size demo tower lifted to a slab ``height_m`` tall, and the default
    failure origin (the middle of its base)."""
    plate, mask = tower(0.5)
    camera = Camera.for_frame(mask.shape[1], mask.shape[0])
    building = lift_building(mask, camera, height_m)
    return building, failure_origin(CollapseOptions(), building, camera)


def test_fracture_fills_the_slab_and_is_finer_near_the_origin():
    building, origin = tower_slab(40.0)
    pieces = fracture(building, 120, origin, 0.8, seed=1)
    assert len(pieces.fragments) == 120
    total = sum(fragment.volume for fragment in pieces.fragments)
    assert total == pytest.approx(float(np.prod(building.size)), rel=1e-6)
    distance = np.array([np.linalg.norm(f.centroid - origin) for f in pieces.fragments])
    volume = np.array([f.volume for f in pieces.fragments])
    near = distance < np.median(distance)
    assert volume[near].mean() < 0.6 * volume[~near].mean()
    assert len(pieces.welds) > len(pieces.fragments)


def test_simulation_is_plausible_over_a_long_shot():
    """Nothing sinks through the ground, energy never grows, and the pile comes to rest."""
    building, origin = tower_slab(30.0)
    pieces = fracture(building, 30, origin, 0.5, seed=4)
    sim = simulate(pieces, building.ground, origin, np.zeros(3), 40.0, 1.0, 24.0, 1, 192, seed=4)
    tall = float(building.size[1])
    lowest = []
    for positions, rotations, opacity in zip(sim.positions, sim.rotations, sim.opacity):
        solid = [i for i in range(len(pieces.fragments)) if opacity[i] == 1]   # fading ones collide no more
        lowest.append(min((rotations[i] @ pieces.fragments[i].vertices.T)[1].min() + positions[i, 1] for i in solid))
    assert min(lowest) > building.ground - 0.01 * tall
    # energy only drains (welds let go of a little stored strain: under 2 % of the drop)
    assert sim.energy[-1] < sim.energy[0]
    assert np.diff(sim.energy).max() <= 0.02 * (sim.energy[0] - sim.energy.min())
    last_speeds = np.linalg.norm(sim.positions[-1] - sim.positions[-2], axis=1) * 24.0
    solid = sim.opacity[-1] == 1
    assert np.median(last_speeds[solid]) < 0.05 * tall
    assert sim.positions[-1][solid, 1].mean() < sim.positions[0][solid, 1].mean() - 0.15 * tall


def test_bad_art_direction_is_clamped_with_warnings():
    options, warnings = CollapseOptions.from_params({"fragments": 100000, "dust": -2, "origin": (1.5, 0.5)})
    assert options.fragments == 2000 and options.dust == 0.0 and options.origin == (1.0, 0.5)
    assert len(warnings) == 3 and "fragments" in warnings[0]
    moved, warnings = CollapseOptions(start=90).clamp_start(list(range(1, 25)))
    assert moved.start == 24 and "start frame 90" in warnings[0]
    with pytest.raises(BadInput, match="takes no"):
        CollapseOptions.from_params({"fragmnets": 5})


def test_empty_and_edge_touching_masks():
    camera = Camera.for_frame(96, 64)
    with pytest.raises(BadInput, match="empty"):
        lift_building(np.zeros((64, 96), np.float32), camera)
    mask = np.zeros((64, 96), np.float32)
    mask[0:50, 60:96] = 1
    building = lift_building(mask, camera)
    assert any("top and right edge" in warning for warning in building.warnings)


def _job(shot_dir: Path, out: Path, frames=(1, 2, 3, 4), **params) -> Job:
    return Job(generator="collapse", inputs={"plate": str(shot_dir / "tower.exr"), "mask": str(shot_dir / "mask.png")},
               frames=list(frames), device="cpu", output_dir_override=str(out),
               params={"start": 2, "fragments": 24, "height": 40.0, **params})


@pytest.fixture
def tower_files(tmp_path):
    from photos import write_mask_png, write_plate

    plate, mask = tower(0.5)
    write_plate(tmp_path / "tower.exr", plate)
    write_mask_png(tmp_path / "mask.png", mask)
    return tmp_path


def test_job_is_deterministic_and_writes_the_simulation(tower_files, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")   # the header's clock
    first = run_job(_job(tower_files, tmp_path / "a"))
    second = run_job(_job(tower_files, tmp_path / "b"))
    cost = {"wall_seconds", "cpu_seconds", "gpu_seconds", "energy_joules", "energy_kwh"}
    for frame in (1, 2, 3, 4):
        a, b = (layers.read_header(tmp_path / run / f"Collapse.{frame:04d}.exr") for run in "ab")
        assert json.loads(a["genvfx.record"])["pixels_sha256"] == json.loads(b["genvfx.record"])["pixels_sha256"]
        records = [{name: value for name, value in json.loads(h["genvfx.record"]).items() if name not in cost}
                   for h in (a, b)]
        assert records[0] == records[1]  # the same record but for what the frame cost
    # generated: nothing before the start frame (the plate), then the building and its dust
    shares = [json.loads(layers.read_header(tmp_path / "a" / f"Collapse.{f:04d}.exr")["genvfx.record"])
              ["generated_share"] for f in (1, 2, 3, 4)]
    mask = images.read_mask(tower_files / "mask.png")
    assert shares[0] == 0.0 and mask.mean() * 0.9 < shares[1] < shares[3] < 1.0
    passes = layers.read_layers(tmp_path / "a" / "Collapse.0002.exr")["Collapse"]
    assert set(passes) == {"Combined", "Fragments", "Dust", "CleanPlate", "Depth", "Vector", "Normal", "FragmentID"}
    assert passes["Vector"].shape[-1] == 4 and passes["Depth"].ndim == 2
    plate = images.as_rgba(images.read_image(tower_files / "tower.exr"))
    assert np.abs(passes["Combined"][..., :3] - plate[..., :3]).mean() <= 2e-3
    simulation = np.load(tmp_path / "a" / "Collapse.sim.npz")
    assert simulation["positions"].shape == (5, 24, 3) and list(simulation["frames"]) == [1, 2, 3, 4, 5]
    assert simulation["vertex_counts"].sum() == len(simulation["vertices"])
    assert first["computed"] == [1, 2, 3, 4] and second["computed"] == [1, 2, 3, 4]
    light = json.loads(layers.read_header(tmp_path / "a" / "Collapse.0002.exr")["genvfx.collapse.light"])
    assert light["fitted"] is False and np.allclose(light["direction"], PlateLight().direction)
    # a second seed reuses the clean plate beside the layers
    assert len(list((tmp_path / "a").glob("Collapse.cleanplate.*.exr"))) == 1


def test_cli_collapse_warns_and_writes_a_preview(tower_files, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "genvfx.cli", "collapse", "--plate", str(tower_files / "tower.exr"),
         "--mask", str(tower_files / "mask.png"), "--frames", "1-3", "--out", str(out), "--fragments", "3",
         "--start", "9", "--height", "40", "--device", "cpu", "--preview"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "fragments 3 is out of range, using 8" in result.stderr
    assert "start frame 9 lies outside the frames 1-3, using 3" in result.stderr
    assert sorted(path.name for path in out.glob("Collapse.*.exr") if "cleanplate" not in path.name) == \
        ["Collapse.0001.exr", "Collapse.0002.exr", "Collapse.0003.exr"]
    assert (out / "preview.gif").stat().st_size > 1000
    header = layers.read_header(out / "Collapse.0001.exr")
    assert json.loads(header["genvfx.collapse.warnings"]) == []


def test_the_light_given_or_fitted_is_used_and_recorded(tower_files, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "genvfx.cli", "collapse", "--plate", str(tower_files / "tower.exr"),
         "--mask", str(tower_files / "mask.png"), "--frames", "1-2", "--out", str(out), "--fragments", "8",
         "--height", "40", "--device", "cpu", "--light-dir=1,1,0.5"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    light = json.loads(layers.read_header(out / "Collapse.0002.exr")["genvfx.collapse.light"])
    assert np.allclose(light["direction"], np.array([1, 1, 0.5]) / 1.5) and light["fitted"] is False
    simulation = np.load(out / "Collapse.sim.npz")   # what the final render's sun is pointed by
    assert np.allclose(simulation["light"], light["direction"])
    run_job(_job(tower_files, tmp_path / "plate", frames=(2, 3), light="plate"))
    fitted = json.loads(layers.read_header(tmp_path / "plate" / "Collapse.0003.exr")["genvfx.collapse.light"])
    assert fitted["fitted"] is True and np.degrees(np.arcsin(fitted["direction"][1])) >= MIN_ELEVATION - 1e-6
    bad = subprocess.run([sys.executable, "-m", "genvfx.cli", "collapse", "--plate", str(tower_files / "tower.exr"),
                          "--mask", str(tower_files / "mask.png"), "--out", str(out), "--light-dir", "0,0,0"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "no direction" in bad.stderr


def test_the_plate_light_is_read_from_the_plate():
    """The demo street (a Cycles render lit by a sun from one side) and its mirror image: the
    light fitted to them comes from opposite sides; a light below the horizon is lifted."""
    estimator = relight.load(registry.find_model("genvfx.relight.normalnet", slot="relight"), "cpu")
    plate = images.as_rgba(images.read_image(ASSETS / "plate.0001.exr"))
    mirrored = np.ascontiguousarray(plate[:, ::-1])
    light, other = (fit_to_plate(image, estimator(image)) for image in (plate, mirrored))
    assert light.fitted and light.direction[0] * other.direction[0] < 0
    assert min(abs(light.direction[0]), abs(other.direction[0])) > 0.2
    low = PlateLight((1.0, -0.3, 0.2))
    assert np.isclose(np.degrees(np.arcsin(low.direction[1])), MIN_ELEVATION) and low.direction[0] > 0.9
    hazy, sunny = PlateLight(ambient=5.0), PlateLight(ambient=0.2)
    assert hazy.ambient == 3.0 and hazy.shadow < 0.5 * sunny.shadow
    with pytest.raises(BadInput, match="no direction"):
        PlateLight((0.0, 0.0, 0.0))


def test_shadows_fall_away_from_the_light():
    """The same collapse lit from the left and from the right: the fragments' shadows on the
    ground lie on the far side from the light."""
    plate, mask = tower(0.5)
    options = CollapseOptions(start=1, fragments=16, height=30.0, seed=3)
    centres = []
    for x in (-0.8, 0.8):
        collapse = CollapseShot.prepare(plate, mask, options, last_frame=20, light=PlateLight((x, 0.6, 0.3)))
        passes = collapse.frame_passes(20, plate, blurred_fill(plate, collapse.reveal))
        shadow = (passes["Depth"] >= 1e9) & (passes["Fragments"][..., 3] > 0.05)
        assert shadow.sum() > 20, shadow.sum()
        centres.append(np.nonzero(shadow)[1].mean())
    building = np.nonzero(mask > 0.5)[1].mean()
    assert centres[0] > building > centres[1], (centres, building)


def test_broken_faces_are_grained_like_concrete(shot, monkeypatch):
    """Inner faces carry concrete's grain (noise over the rest pose), not one flat colour:
    without it the same fragments' inner faces are smoother."""
    from genvfx.models.collapse import render

    collapse, plate, mask, fill = shot

    def luminance_mid_fall():
        frame = 40
        drawn = render.render_fragments(collapse.scene, collapse.camera, *collapse.simulation.pose(frame),
                                        collapse.simulation.fragment_opacity(frame), 2, "cpu")
        return drawn.colour[..., :3][drawn.colour[..., 3] > 0.999] @ np.array([0.2126, 0.7152, 0.0722], np.float32)

    grained = luminance_mid_fall()
    monkeypatch.setattr(render, "CONCRETE", tuple((size, 0.0) for size, _ in render.CONCRETE))
    flat = luminance_mid_fall()
    changed = np.abs(grained - flat) > 1e-6
    assert changed.mean() > 0.05                       # the inner faces in view changed ...
    assert np.allclose(grained[~changed], flat[~changed])   # ... and only they (front faces keep the plate)
    ratio = grained[changed] / np.maximum(flat[changed], 1e-9)
    assert ratio.std() > 0.05 and 0.8 < np.median(ratio) < 1.2, (ratio.std(), np.median(ratio))


def test_cli_rejects_an_empty_mask(tower_files, tmp_path):
    from photos import write_mask_png

    write_mask_png(tower_files / "mask.png", np.zeros((144, 192), np.float32))
    result = subprocess.run(
        [sys.executable, "-m", "genvfx.cli", "collapse", "--plate", str(tower_files / "tower.exr"),
         "--mask", str(tower_files / "mask.png"), "--frames", "1-2", "--out", str(tmp_path / "out"), "--device", "cpu"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert "The building mask is empty" in result.stderr


class StandInWarp:
    """Just enough of the ``warp`` module for :func:`warp_device`: a chosen CUDA count."""

    def __init__(self, cuda_devices: int):
        self.cuda_devices = cuda_devices
        self.config = type("config", (), {"quiet": False})()
        self.initialised = False

    def init(self):
        self.initialised = True

    def get_cuda_device_count(self):
        assert self.initialised, "Warp was asked for devices before wp.init()"
        return self.cuda_devices


@pytest.mark.parametrize("cuda_devices, device, expected", [
    (1, "auto", "cuda:0"),
    (1, "cuda", "cuda:0"),
    (2, "auto", "cuda:0"),
    (1, "cpu", "cpu"),
    (0, "auto", "cpu"),
    (0, "cpu", "cpu"),
])
def test_warp_device_follows_the_cuda_devices_warp_reports(monkeypatch, cuda_devices, device,
                                                           expected):
    from genvfx.backend.generators.collapse import warp_device

    monkeypatch.setitem(sys.modules, "warp", StandInWarp(cuda_devices))
    assert warp_device(device) == expected


def test_cuda_is_refused_clearly_without_a_cuda_device(monkeypatch):
    from genvfx.backend.generators.collapse import warp_device

    monkeypatch.setitem(sys.modules, "warp", StandInWarp(0))
    with pytest.raises(BadInput, match="no CUDA device"):
        warp_device("cuda")


def test_warp_device_agrees_with_the_real_warp():
    import warp as wp

    from genvfx.backend.generators.collapse import warp_device

    wp.config.quiet = True
    wp.init()
    has_cuda = wp.get_cuda_device_count() > 0
    assert warp_device("cpu") == "cpu"
    assert warp_device("auto") == ("cuda:0" if has_cuda else "cpu")
    if has_cuda:
        assert warp_device("cuda") == "cuda:0"
    else:
        with pytest.raises(BadInput, match="no CUDA device"):
            warp_device("cuda")


def test_a_launch_cut_into_bands_traces_what_one_launch_does(shot, monkeypatch):
    """Warp's CPU launches are cut into one band of rows a core (threads); the pixels
    must not depend on the cut."""
    from genvfx.models.collapse import render

    collapse, *_ = shot
    pose = (*collapse.simulation.pose(20), collapse.simulation.fragment_opacity(20))
    monkeypatch.setattr(render, "MAX_BANDS", 3)
    monkeypatch.setattr(render.os, "sched_getaffinity", lambda pid: set(range(3)))
    banded = render.render_fragments(collapse.scene, collapse.camera, *pose, collapse.supersample, "cpu")
    monkeypatch.setattr(render, "MAX_BANDS", 1)
    single = render.render_fragments(collapse.scene, collapse.camera, *pose, collapse.supersample, "cpu")
    assert (single.sample_ids > 0).mean() > 0.05
    for name in ("colour", "depth", "normal", "fragment_id", "sample_ids", "rest_points"):
        assert np.array_equal(getattr(banded, name), getattr(single, name)), name
