"""Debris Fill's embedded completion (models/fill/patchmatch.py) on real photographs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from genvfx.errors import BadInput
from genvfx.models.fill import fill, structure

from photos import photo_linear, rect_mask

HOLE = (0.3, 0.3, 0.7, 0.7)


def display(rgba: np.ndarray) -> np.ndarray:
    """Linear RGB → a display-like encoding in [0, 1] (what a viewer compares)."""
    return np.clip(rgba[..., :3], 0.0, 1.0) ** (1 / 2.2)


def laplacian_std(rgba: np.ndarray, where: np.ndarray) -> float:
    luma = display(rgba).mean(axis=-1).astype(np.float32)
    return float(cv2.Laplacian(luma, cv2.CV_32F)[where].std())


def inside(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    """The hole less a margin, so the measures do not see the plate around it."""
    size = 2 * margin + 1
    return cv2.erode((mask > 0.5).astype(np.uint8), np.ones((size, size), np.uint8)) > 0


def ring(mask: np.ndarray, width: int = 8) -> np.ndarray:
    """The plate just around the hole."""
    size = 2 * width + 1
    hole = mask > 0.5
    return (cv2.dilate(hole.astype(np.uint8), np.ones((size, size), np.uint8)) > 0) & ~hole


def telea(rgba: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A smooth (diffusion) inpainting of the same hole: what "no texture" looks like."""
    encoded = (display(rgba) * 255 + 0.5).astype(np.uint8)
    smooth = cv2.inpaint(encoded, (mask > 0.5).astype(np.uint8), 3, cv2.INPAINT_TELEA)
    rgb = (smooth.astype(np.float32) / 255) ** 2.2
    return np.dstack([rgb, np.ones(rgb.shape[:2], np.float32)])


# --------------------------------------------------------------------------- the contract


def test_outside_the_hole_is_the_plate_bit_for_bit():
    plate = photo_linear("astronaut", (128, 96))
    plate[..., :3] *= 3.0  # some HDR
    # Soft edges: values <= 0.5 are not hole and must keep the plate's bits too.
    mask = cv2.GaussianBlur(rect_mask(96, 128, HOLE), (9, 9), 3)
    assert ((mask > 0) & (mask <= 0.5)).any() and ((mask > 0.5) & (mask < 1)).any()
    kept = plate.copy()

    out = fill(plate, mask, seed=2, device="cpu")

    assert set(out) == {"Combined", "Fill", "Mask"}
    assert np.array_equal(plate, kept), "the input plate was modified"
    combined = out["Combined"]
    assert combined.shape == plate.shape and combined.dtype == np.float32
    outside = mask <= 0.5
    assert np.array_equal(combined[outside], plate[outside])
    assert np.array_equal(out["Mask"], mask) and out["Mask"].dtype == np.float32
    assert np.array_equal(out["Fill"], combined * mask[..., None])
    hole = mask > 0.5
    assert np.isfinite(combined).all()
    assert not np.array_equal(combined[hole], plate[hole]), "the hole was not filled"
    np.testing.assert_allclose(combined[hole][:, 3], 1.0, atol=1e-6)  # an opaque plate stays opaque


def test_same_seed_same_bytes_other_seed_other_fill():
    plate = photo_linear("gravel", (128, 96))
    mask = rect_mask(96, 128, HOLE)
    hole = mask > 0.5

    first = fill(plate, mask, seed=7, device="cpu")["Combined"]
    again = fill(plate, mask, seed=7, device="cpu")["Combined"]
    other = fill(plate, mask, seed=8, device="cpu")["Combined"]

    assert first.tobytes() == again.tobytes()
    assert not np.array_equal(first[hole], other[hole])
    assert np.abs(display(first)[hole] - display(other)[hole]).mean() > 0.01


# --------------------------------------------------------------------------- quality


@pytest.mark.parametrize("name", ["brick", "gravel", "grass", "immunohistochemistry"])
def test_texture_is_kept_in_a_photograph(name):
    plate = photo_linear(name, (192, 144))
    mask = rect_mask(144, 192, HOLE)
    measured = inside(mask)

    out = fill(plate, mask, seed=0, device="cpu")["Combined"]

    original = laplacian_std(plate, measured)
    filled = laplacian_std(out, measured)
    smooth = laplacian_std(telea(plate, mask), measured)
    assert filled > 0.5 * original, f"the fill is smooth: {filled:.4f} vs the photo's {original:.4f}"
    assert filled < 2.0 * original, f"the fill is noisier than the photo: {filled:.4f} vs {original:.4f}"
    assert filled > 3.0 * smooth, f"no more detail than a diffusion fill: {filled:.4f} vs {smooth:.4f}"
    colour = display(out)[mask > 0.5].mean(axis=0)
    around = display(plate)[ring(mask)].mean(axis=0)
    np.testing.assert_allclose(colour, around, atol=0.05)


def test_structure_of_a_photograph_reaches_into_the_hole():
    # Astronaut: the orange suit left of and below the hole, the dark backdrop and the helmet right
    # of it. A fill that settles on one flat region of the frame (the grey wall) fails, and so does
    # one that is orange all over.
    plate = photo_linear("astronaut", (192, 192))
    mask = rect_mask(192, 192, (0.45, 0.42, 0.75, 0.72))
    hole = mask > 0.5

    out = fill(plate, mask, seed=0, device="cpu")["Combined"]

    rgb = display(out)
    orange = (rgb[..., 0] - rgb[..., 2] > 0.25) & hole
    assert 0.1 < orange.sum() / hole.sum() < 0.9
    measured = inside(mask)
    assert laplacian_std(out, measured) > 3.0 * laplacian_std(telea(plate, mask), measured)


def test_lines_meeting_a_large_hole_are_carried_across_it():
    # A street in perspective: dark shop glass above a slanted base line, light paving below it and
    # darker asphalt beyond the kerb. A large hole over the base line: the glass must stay dark down
    # to the line and the paving light below it, not become a blend of the two (or asphalt).
    height, width = 144, 256
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    line = 60 + 0.12 * x
    kerb = 100 + 0.3 * x
    value = np.where(y < line, 0.02, 0.45)
    value = np.where(y > kerb, 0.12, value)
    value = np.clip(value * (1 + 0.25 * rng.standard_normal((height, width))), 0, None).astype(np.float32)
    plate = np.ones((height, width, 4), np.float32)
    plate[..., :3] = value[..., None]
    mask = np.zeros((height, width), np.float32)
    mask[28:112, 80:184] = 1.0
    hole = mask > 0.5

    out = fill(plate, mask, seed=0, device="cpu")["Combined"][..., 0]

    above = hole & (y < line - 5)
    below = hole & (y > line + 5) & (y < kerb - 5)
    assert (out[above] < 0.1).mean() > 0.95, "the glass does not reach the base line"
    assert (out[below] > 0.25).mean() > 0.9, "the paving does not continue under the base line"


def test_source_exemplar_sets_the_look():
    plate = photo_linear("grass", (128, 96))  # grey
    source = photo_linear("coffee", (150, 100))  # warm wood and red saucer
    mask = rect_mask(96, 128, HOLE)
    hole = mask > 0.5

    out = fill(plate, mask, seed=0, device="cpu", source=source[..., :3])["Combined"]

    colour = display(out)[hole].mean(axis=0)
    to_source = np.abs(colour - display(source).reshape(-1, 3).mean(axis=0)).sum()
    to_plate = np.abs(colour - display(plate)[~hole].mean(axis=0)).sum()
    assert to_source < to_plate, f"the hole looks like the plate ({to_plate:.3f}), not the source ({to_source:.3f})"
    assert colour[0] - colour[2] > 0.1, "the hole is not warm like the source"
    assert np.array_equal(out[~hole], plate[~hole])


def test_source_exemplar_fills_a_mask_over_the_whole_frame():
    plate = photo_linear("grass", (96, 64))
    source = photo_linear("brick", (128, 96))
    mask = np.ones((64, 96), np.float32)

    out = fill(plate, mask, seed=0, device="cpu", source=source)["Combined"]

    assert np.isfinite(out).all()
    assert laplacian_std(out, inside(mask, 4)) > 0.5 * laplacian_std(source, inside(np.ones((96, 128)), 4))
    assert abs(display(out).mean() - display(source).mean()) < 0.05


def test_hdr_values_survive():
    plate = photo_linear("gravel", (128, 96))
    plate[..., :3] *= 8.0
    spots = np.random.default_rng(0).random((96, 128)) > 0.97  # highlights all over the texture
    plate[spots, :3] = 50.0
    mask = rect_mask(96, 128, HOLE)
    hole = mask > 0.5

    out = fill(plate, mask, seed=1, device="cpu")["Combined"]

    filled = out[hole][:, :3]
    assert np.isfinite(out).all()
    assert np.array_equal(out[~hole], plate[~hole])
    assert filled.max() > 20.0, "highlights were clipped or averaged away"
    assert filled.max() <= 50.0 * (1 + 1e-5) and filled.min() >= 0.0
    assert (filled > 1.0).mean() > 0.5  # the plate is mostly above 1.0; so is the fill
    assert 0.7 < filled.mean() / plate[~hole][:, :3].mean() < 1.4


# --------------------------------------------------------------------------- edge cases


def test_empty_mask_gives_the_plate_back():
    plate = photo_linear("coffee", (96, 64))
    mask = np.zeros((64, 96), np.float32)
    calls = []

    out = fill(plate, mask, on_step=lambda step, of: calls.append((step, of)))

    assert np.array_equal(out["Combined"], plate)
    assert not out["Fill"].any()
    assert calls == [(1, 1)]


def test_mask_over_everything_has_nothing_to_sample_from():
    plate = photo_linear("coffee", (96, 64))
    with pytest.raises(BadInput, match="nothing to sample from"):
        fill(plate, np.ones((64, 96), np.float32), device="cpu")


def test_mask_leaving_a_border_thinner_than_a_patch_is_refused():
    plate = photo_linear("coffee", (96, 64))
    mask = np.ones((64, 96), np.float32)
    mask[:3], mask[-3:], mask[:, :3], mask[:, -3:] = 0, 0, 0, 0
    with pytest.raises(BadInput, match="nothing to sample from"):
        fill(plate, mask, device="cpu", patch_size=7)


def test_mask_leaving_a_thin_border_fills_from_it():
    plate = photo_linear("brick", (96, 64))
    mask = np.ones((64, 96), np.float32)
    mask[:10], mask[-10:], mask[:, :10], mask[:, -10:] = 0, 0, 0, 0
    hole = mask > 0.5

    out = fill(plate, mask, seed=0, device="cpu")["Combined"]

    assert np.isfinite(out).all()
    assert np.array_equal(out[~hole], plate[~hole])
    colour = display(out)[hole].mean()
    assert abs(colour - display(plate)[~hole].mean()) < 0.08


@pytest.mark.parametrize("plate, mask, patch_size, match", [
    (np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), np.float32), 7, "RGBA"),
    (np.zeros((32, 32, 4), np.float32), np.zeros((32, 30), np.float32), 7, "mask is 30×32"),
    (np.zeros((32, 32, 4), np.float32), np.zeros((32, 32), np.float32), 6, "odd"),
    (np.zeros((5, 32, 4), np.float32), np.zeros((5, 32), np.float32), 7, "smaller than one patch"),
    (np.full((32, 32, 4), np.nan, np.float32), np.zeros((32, 32), np.float32), 7, "NaN"),
])
def test_bad_inputs_are_refused_clearly(plate, mask, patch_size, match):
    with pytest.raises(BadInput, match=match):
        fill(plate, mask, patch_size=patch_size, device="cpu")


# --------------------------------------------------------------------------- progress and cancel


def test_progress_counts_up_to_its_total():
    plate = photo_linear("coffee", (128, 96))
    mask = rect_mask(96, 128, HOLE)
    calls = []

    fill(plate, mask, device="cpu", on_step=lambda step, of: calls.append((step, of)))

    steps = [step for step, _ in calls]
    totals = {of for _, of in calls}
    assert len(totals) == 1 and len(calls) > 1
    assert steps == list(range(1, totals.pop() + 1))


def test_raising_in_on_step_cancels():
    class Stop(Exception):
        pass

    calls = []

    def on_step(step, of):
        calls.append(step)
        if step == 2:
            raise Stop

    with pytest.raises(Stop):
        fill(photo_linear("coffee", (128, 96)), rect_mask(96, 128, HOLE), device="cpu", on_step=on_step)
    assert calls == [1, 2]


# --------------------------------------------------------------------------- planar structure (issue 19)


def street(height=160, width=256, vp=(149.5, 49.5)):
    """A one-point perspective street seen by a level camera, vanishing point ``vp``: paving
    courses and two kerbs on the ground, a grid of windows on the facades either side. Returns
    the plate and where the ground is."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    dy, dx = y - vp[1], x - vp[0]
    theta = np.arctan2(dy, dx)
    ground = (theta > np.radians(20)) & (theta < np.radians(155))
    with np.errstate(divide="ignore", invalid="ignore"):
        across, depth = dx / dy, 40.0 / dy              # the ground's own coordinates
        along, up = 40.0 / np.abs(dx), dy / np.abs(dx)  # a facade's
    kerb = (np.abs(across + 1.2) < 0.06) | (np.abs(across - 1.5) < 0.06)
    paving = 0.25 + 0.12 * (np.floor(depth * 4) % 2) + 0.35 * kerb
    windows = np.where(((along * 6) % 1 < 0.6) & ((up * 3) % 1 < 0.5), 0.05, 0.5)
    plate = np.ones((height, width, 4), np.float32)
    plate[..., :3] = np.nan_to_num(np.where(ground, paving, windows))[..., None].astype(np.float32)
    return plate, ground


def test_a_street_has_its_vanishing_point_and_ground_found():
    plate, ground = street()
    hole = np.zeros(ground.shape, bool)
    hole[95:140, 60:120] = True

    found = structure.find(plate, hole)

    assert found is not None
    np.testing.assert_allclose(found.vanishing_point, (149.5, 49.5), atol=2.0)
    assert ((found.labels == structure.GROUND) == ground).mean() > 0.9


@pytest.mark.parametrize("name", ["grass", "gravel", "astronaut", "coffee", "chelsea", "rocket"])
def test_a_photograph_without_a_street_has_no_planes(name):
    plate = photo_linear(name, (320, 240))
    assert structure.find(plate, rect_mask(240, 320, (0.3, 0.33, 0.625, 0.66)) > 0.5) is None


def test_the_ground_is_rectified_to_the_identity_at_the_hole_and_back():
    plate, ground = street()
    hole = np.zeros(ground.shape, bool)
    hole[100:130, 70:110] = True
    found = structure.find(plate, hole)

    part = structure.rectify(plate, hole, found, structure.GROUND, 7)

    # sampling the rectified plate back where the hole is gives the plate (away from the kerbs' edges)
    back = structure.unrectify(part, part.image, plate.shape[1])
    assert np.median(np.abs(back - plate.reshape(-1, 4)[part.targets])) < 0.02
    assert part.forbid.any() and not (part.forbid & part.hole).any()


def test_paving_courses_continue_across_the_hole_at_their_perspective_spacing():
    # The ground's courses get narrower towards the horizon: copied by translation they keep one
    # width; filled in the ground's rectified space they keep getting narrower, as in the truth.
    plate, ground = street()
    mask = np.zeros(ground.shape, np.float32)
    mask[96:136, 50:110] = 1.0
    hole = mask > 0.5

    planar = fill(plate, mask, seed=0, device="cpu", structure="planes")["Combined"]

    assert np.array_equal(planar[~hole], plate[~hole])
    courses = hole & ground
    error = np.abs(planar[..., 0] - plate[..., 0])[courses].mean()
    flat = np.abs(fill(plate, mask, seed=0, device="cpu", structure="none")["Combined"][..., 0] - plate[..., 0])[courses].mean()
    assert error < 0.6 * flat, f"rectified {error:.4f} vs plain {flat:.4f}"
    assert error < 0.04


def test_planes_report_progress_to_one_total():
    plate, _ = street()
    mask = np.zeros(plate.shape[:2], np.float32)
    mask[96:136, 50:110] = 1.0
    calls = []

    fill(plate, mask, device="cpu", structure="planes", on_step=lambda step, of: calls.append((step, of)))

    assert len({of for _, of in calls}) == 1
    assert [step for step, _ in calls] == list(range(1, calls[0][1] + 1))


def test_kerbs_continue_along_the_vanishing_rays():
    # The default (rays) fills each hole pixel from its ray through the vanishing point, so the
    # two kerbs, which run to that point, leave the hole where they entered it, at their slope.
    plate, ground = street()
    mask = np.zeros(ground.shape, np.float32)
    mask[96:136, 50:110] = 1.0
    hole = mask > 0.5
    y, x = np.mgrid[0:160, 0:256]
    with np.errstate(divide="ignore", invalid="ignore"):
        across = (x - 149.5) / (y - 49.5)
    distance = np.minimum(np.abs(across + 1.2), np.abs(across - 1.5))
    kerb, paving = hole & ground & (distance < 0.04), hole & ground & (distance > 0.15)

    rays = fill(plate, mask, seed=0, device="cpu")["Combined"]

    assert np.array_equal(rays[~hole], plate[~hole])
    assert kerb.sum() > 40 and paving.sum() > 400
    assert (rays[..., 0][kerb] > 0.5).mean() > 0.9          # the kerbs are there, bright, all along
    assert (rays[..., 0][paving] < 0.5).mean() > 0.95       # and do not spread over the paving


def rendered_street(name):
    """One frame of a rendered street shot (``scripts/make_fill_fixtures.py``): the plate with
    an object, the true clean plate rendered without it, and the hole (the object and its
    shadow, dilated as an artist draws it)."""
    from pathlib import Path

    data = np.load(Path(__file__).parent / "data" / "fill_truth" / f"{name}.npz")
    return data["plate"].astype(np.float32), data["truth"].astype(np.float32), data["hole"]


def psnr_in(out, truth, hole):
    return 10 * np.log10(1.0 / float(((display(out)[hole] - display(truth)[hole]) ** 2).mean()))


def test_rendered_streets_are_filled_closer_to_the_truth_than_telea():
    # A rubble pile against a shopfront, a van and its shadow at the kerb, crates on the
    # pavement: filled along the street's rays, the hole is closer to the clean render than
    # OpenCV's Telea and than the plain exemplar fill, by decibels on the large holes (the
    # crates' hole is small, and all three fills are level there).
    ours, plain, smooth = [], [], []
    for name in ("demo", "van_shadow", "crates_truck"):
        plate, truth, hole = rendered_street(name)
        mask = hole.astype(np.float32)
        assert structure.find(plate, hole) is not None, name
        rays = fill(plate, mask, seed=0, device="cpu")["Combined"]
        assert np.array_equal(rays[~hole], plate[~hole])
        ours.append(psnr_in(rays, truth, hole))
        plain.append(psnr_in(fill(plate, mask, seed=0, device="cpu", structure="none")["Combined"], truth, hole))
        smooth.append(psnr_in(telea(plate, mask), truth, hole))
    ours, plain, smooth = map(np.array, (ours, plain, smooth))
    assert np.median(ours - smooth) > 1.5 and (ours - smooth)[:2].min() > 1.5, (ours, smooth)
    assert (ours - plain)[:2].min() > 1.0 and (ours - plain).min() > -1.0, (ours, plain)


def test_a_small_hole_is_filled_in_its_window_as_in_the_whole_frame(monkeypatch):
    # The rays read only a window round a small hole (the few pixels a carried frame exposes):
    # the fill there is the one the whole frame gives, to the bit.
    from genvfx.models.fill import rays

    plate, _, hole = rendered_street("demo")
    found = structure.find(plate, hole)
    small = np.zeros_like(hole)
    ys, xs = np.nonzero(hole)
    small[ys[::97], xs[::97]] = True
    small = cv2.dilate(small.astype(np.uint8), np.ones((3, 5), np.uint8)) > 0
    facade = found.labels != structure.GROUND
    step = max(1.0, float(np.hypot(*hole.shape)) * rays._STEP)
    assert rays._window(small, step) is not None
    windowed = rays.fill_along_rays(plate, small, found.vanishing_point, facade)
    monkeypatch.setattr(rays, "_window", lambda hole, step: None)
    whole = rays.fill_along_rays(plate, small, found.vanishing_point, facade)
    assert np.array_equal(windowed, whole)
    assert not np.array_equal(windowed[small], plate[small])


def test_an_unknown_structure_is_refused():
    plate, _ = street()
    mask = np.zeros(plate.shape[:2], np.float32)
    mask[96:136, 50:110] = 1.0
    with pytest.raises(BadInput, match="structure"):
        fill(plate, mask, device="cpu", structure="lines")


def test_two_materials_on_one_ray_meet_without_a_blend():
    # A red fascia left of the hole and a blue one right of it, on the same rays: the hole is
    # red then blue (a switch near the middle), never the purple neither side shows; two close
    # shades of one material are blended by distance instead.
    from genvfx.models.fill.rays import fill_along_rays

    hole = np.zeros((64, 128), bool)
    hole[20:44, 40:88] = True
    for right, distinct in (((0.0, 0.0, 1.0), True), ((0.8, 0.0, 0.0), False)):
        plate = np.ones((64, 128, 4), np.float32)
        plate[..., :3] = (1.0, 0.0, 0.0)
        plate[:, 64:, :3] = right
        out = fill_along_rays(plate, hole, (2000.0, 32.0))[hole][:, :3]
        if distinct:
            nearest = np.minimum(np.abs(out - (1, 0, 0)).max(1), np.abs(out - right).max(1))
            assert (nearest < 0.1).mean() > 0.75
        else:
            red = out[:, 0].reshape(24, 48).mean(0)
            assert np.all(np.diff(red) < 1e-6) and red[0] > 0.95 and red[-1] < 0.85   # a gradient across


def test_mullions_run_down_the_glass_into_the_hole_and_stop_at_its_base():
    # A shopfront band of dark glass with bright vertical mullions over a pavement, rays
    # running along the street: the rays alone smear the mullions out; the facade's vertical
    # detail, taken from just above the hole, brings them back in the glass and not on the
    # pavement.
    from genvfx.models.fill.rays import fill_along_rays

    plate = np.ones((64, 128, 4), np.float32)
    plate[..., :3] = 0.4                              # pavement
    glass = np.arange(64)[:, None] < 40
    mullion = (np.arange(128) % 16 < 2)[None, :]
    plate[..., :3] = np.where((glass & mullion)[..., None], 0.8, np.where(glass[..., None], 0.08, 0.4))
    hole = np.zeros((64, 128), bool)
    hole[20:52, 37:93] = True
    facade = np.broadcast_to(glass, hole.shape)

    plain = fill_along_rays(plate, hole, (4000.0, 30.0))
    detailed = fill_along_rays(plate, hole, (4000.0, 30.0), facade=facade)

    inner_glass = hole & glass & (np.arange(64)[:, None] >= 22)
    bright = inner_glass & mullion
    dark = inner_glass & ~mullion
    assert np.abs(detailed[..., 0] - plate[..., 0])[inner_glass].mean() < 0.3 * np.abs(plain[..., 0] - plate[..., 0])[inner_glass].mean()
    assert (detailed[..., 0][bright] > 0.6).mean() > 0.9 and (detailed[..., 0][dark] < 0.2).mean() > 0.9
    pavement = hole & ~glass & (np.arange(64)[:, None] >= 42)
    assert np.abs(detailed[..., 0][pavement] - 0.4).max() < 0.05


def test_a_plane_moves_by_its_homography_through_the_hole():
    # Two planes (a ground and a facade) each moving by its own homography: measured around
    # the hole and smoothly interpolated through it the motion is a blend of the two; each
    # plane's homography, fitted on its ring, gives it back inside.
    from genvfx.models.fill.temporal import pull_push

    height, width = 120, 200
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    labels = np.where(ys > 70, structure.GROUND, structure.LEFT).astype(np.uint8)
    moves = {structure.GROUND: np.array([[1.02, 0.01, -3.0], [0.0, 1.03, -1.0], [0.0, 1e-4, 1.0]]),
             structure.LEFT: np.array([[0.99, 0.0, 4.0], [0.0, 1.0, 0.5], [-5e-5, 0.0, 1.0]])}
    truth = np.zeros((height, width, 2))
    for plane, h in moves.items():
        p = np.stack([xs, ys, np.ones_like(xs)], -1) @ h.T
        sel = labels == plane
        truth[sel] = (p[..., :2] / p[..., 2:])[sel] - np.stack([xs, ys], -1)[sel]
    hole = np.zeros((height, width), bool)
    hole[45:100, 60:140] = True
    smooth = pull_push(truth.astype(np.float32), ~cv2.dilate(hole.astype(np.uint8), np.ones((13, 13), np.uint8)).astype(bool))

    planar = structure.planar_motion(smooth, structure.motion_regions(hole, labels))

    error = lambda field: np.linalg.norm(field - truth, axis=-1)[hole]  # noqa: E731
    assert error(planar).max() < 0.05
    assert error(smooth).mean() > 10 * error(planar).mean()
