"""Debris Fill over a shot: key frames, optical-flow propagation, hold, resume and cancel,
on a real photograph panning with known motion."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from genvfx.backend.files import layers
from genvfx.errors import BadInput, JobCancelled
from genvfx.backend.run.executor import JobEvents, run_job
from genvfx.backend.run.jobs import Job
from genvfx.models.fill import carry, patchmatch, temporal
from genvfx.models.fill.temporal import TemporalOptions

from photos import photo_linear, rect_mask, write_mask_png, write_plate
from temporal_measures import telea, warp_errors

FRAMES, WIDTH, HEIGHT, PAN = 10, 160, 120, 3  # the content moves PAN px to the left a frame
HOLE = (0.35, 0.40, 0.70, 0.70)
KEYS = {"key_interval": 6}  # keys 1 and 7: frames 2-6 blend two keys, 8-10 follow key 7


def panning_plates(frames=FRAMES, pan=PAN, name="coffee"):
    photo = photo_linear(name, (WIDTH + pan * frames, HEIGHT))
    return [np.ascontiguousarray(photo[:, pan * f:pan * f + WIDTH]) for f in range(1, frames + 1)]


def write_shot(folder, plates, masks):
    folder.mkdir(parents=True, exist_ok=True)
    for frame, (plate, mask) in enumerate(zip(plates, masks), start=1):
        write_plate(folder / f"plate.{frame:04d}.exr", plate)
        write_mask_png(folder / f"mask.{frame:04d}.png", mask)
    return folder


def shot_job(folder, cache, **params) -> Job:
    return Job(generator="fill", frames=list(range(1, FRAMES + 1)), cache_dir=str(cache), seed=3, device="cpu",
               inputs={"plate": str(folder / "plate.####.exr"), "mask": str(folder / "mask.####.png")},
               params={"patch_size": 7, "temporal": "propagate", **params})


def combined(result, frame):
    return layers.read_layers(result["pattern"].replace("####", f"{frame:04d}"))["DebrisFill"]["Combined"]


def sequence(result):
    return [combined(result, frame) for frame in result["frames"]]


def digest(result):
    return {frame: hashlib.sha256(combined(result, frame).tobytes()).hexdigest() for frame in result["frames"]}


@pytest.fixture(scope="module")
def pan(tmp_path_factory):
    """A panning shot with a hole fixed in screen space, filled with the default
    propagation (keys every 6 frames) and frame by frame."""
    root = tmp_path_factory.mktemp("pan")
    plates = panning_plates()
    mask = rect_mask(HEIGHT, WIDTH, HOLE)
    folder = write_shot(root / "shot", plates, [mask] * FRAMES)
    propagated = run_job(shot_job(folder, root / "cache", **KEYS))
    per_frame = run_job(shot_job(folder, root / "cache", temporal="off"))
    return {"root": root, "folder": folder, "plates": plates, "hole": mask > 0.5,
            "propagated": propagated, "per_frame": per_frame, "frames": sequence(propagated)}


def test_options_keys_and_windows():
    options, rest = TemporalOptions.split({"patch_size": 5})
    assert options == TemporalOptions("carry", 12, ()) and rest == {"patch_size": 5}
    assert TemporalOptions.split({"key_interval": 4})[0].keys(list(range(1, 11))) == [1, 5, 9]
    assert TemporalOptions.split({"key_frames": [13, 1, 25, 40]})[0].keys(list(range(1, 31))) == [1, 13, 25]
    assert TemporalOptions.split({"temporal": "hold", "key_frames": [5, 9]})[0].keys(list(range(1, 11))) == [5]
    assert temporal.windows([1, 2, 3, 4, 5, 6], [2, 5]) == [(None, [1], 2), (2, [3, 4], 5), (5, [6], None)]
    for bad in ({"temporal": "smooth"}, {"key_interval": 0}, {"key_interval": 2.5}, {"key_frames": ["a"]}):
        with pytest.raises(BadInput):
            TemporalOptions.split(bad)
    with pytest.raises(BadInput, match="None of the key frames"):
        TemporalOptions.split({"key_frames": [50]})[0].keys([1, 2, 3])


def test_flow_through_the_hole_follows_the_pan():
    plates = panning_plates(frames=2)
    hole = rect_mask(HEIGHT, WIDTH, HOLE) > 0.5
    field = temporal.flow(plates[1], hole, plates[0], hole)  # where frame 2's pixels were in frame 1
    assert np.median(field[hole][:, 0]) == pytest.approx(PAN, abs=0.2)
    assert np.abs(field[hole][:, 1]).mean() < 0.2


def test_outside_the_mask_is_the_plate_bit_for_bit(pan):
    for frame, plate in zip(pan["frames"], pan["plates"]):
        assert np.array_equal(frame[~pan["hole"]], plate[~pan["hole"]])
        assert np.isfinite(frame).all()
    # the hole is filled, not left as the plate's content
    assert np.abs(pan["frames"][4][pan["hole"]] - pan["plates"][4][pan["hole"]]).mean() > 0.01


def test_key_frames_are_the_per_frame_fill(pan):
    for key in (1, 7):
        assert np.array_equal(combined(pan["propagated"], key), combined(pan["per_frame"], key))


def test_propagated_fill_does_not_boil(pan):
    hole = pan["hole"]
    propagated = warp_errors(pan["frames"], hole, PAN)
    per_frame = warp_errors(sequence(pan["per_frame"]), hole, PAN)
    inpainted = warp_errors([telea(plate, hole) for plate in pan["plates"]], hole, PAN)
    assert np.mean(propagated) < 0.5 * np.mean(per_frame)
    assert np.mean(propagated) <= 1.5 * np.mean(inpainted)
    # no jump at the key frame 7 either (frames 6 -> 7 and 7 -> 8)
    assert max(propagated) <= 1.5 * np.mean(inpainted)


def test_resume_after_a_crash_gives_the_same_bytes(pan):
    whole = digest(pan["propagated"])
    job = shot_job(pan["folder"], pan["root"] / "cache", **KEYS)
    out = pan["propagated"]["output_dir"]
    # a crash lost a frame between keys, then a key frame and a frame after it
    for lost in ([4], [7, 9]):
        for frame in lost:
            (Path(out) / f"DebrisFill.{frame:04d}.exr").unlink()
        again = run_job(job)
        assert again["computed"] == lost
        assert digest(again) == whole


def test_cancel_mid_sequence_keeps_finished_frames_and_resumes_seamlessly(pan, tmp_path):
    job = shot_job(pan["folder"], tmp_path / "cache", **KEYS)
    done = []

    def check_cancel():
        if len(done) >= 3:
            raise JobCancelled("cancelled")

    events = JobEvents(frame_done=lambda frame, path, cached: done.append(frame), check_cancel=check_cancel)
    with pytest.raises(JobCancelled):
        run_job(job, events)
    assert done == [1, 7, 2]  # key frames first, then the frames between them in order
    written = sorted(p.name for p in (tmp_path / "cache").rglob("*.exr"))
    assert written == ["DebrisFill.0001.exr", "DebrisFill.0002.exr", "DebrisFill.0007.exr"]
    assert not list(tmp_path.rglob("*.partial"))
    resumed = run_job(job)
    assert resumed["computed"] == [3, 4, 5, 6, 8, 9, 10]
    assert digest(resumed) == digest(pan["propagated"])


def test_progress_reaches_every_frame_and_counts_up(pan, tmp_path):
    job = shot_job(pan["folder"], tmp_path / "cache", temporal="hold")
    progress = []
    run_job(job, JobEvents(progress=lambda frame, step, of, done, total: progress.append((frame, done, total))))
    assert {frame for frame, _, _ in progress} == set(range(1, FRAMES + 1))
    counts = [done for _, done, _ in progress]
    assert counts == sorted(counts) and progress[-1][2] == FRAMES


def test_hold_gives_one_fill_on_a_locked_off_shot(tmp_path):
    rng = np.random.default_rng(0)
    still = photo_linear("coffee", (WIDTH, HEIGHT))
    # a locked-off camera: the same view with fresh grain on every frame
    plates = [np.clip(still + rng.normal(0, 0.004, still.shape).astype(np.float32), 0, None) for _ in range(5)]
    for plate in plates:
        plate[..., 3] = 1.0
    mask = rect_mask(HEIGHT, WIDTH, HOLE)
    folder = write_shot(tmp_path / "shot", plates, [mask] * 5)
    job = shot_job(folder, tmp_path / "cache", temporal="hold")
    job.frames = [1, 2, 3, 4, 5]
    result = run_job(job)
    hole = mask > 0.5
    frames = sequence(result)
    for frame, plate in zip(frames, plates):
        assert np.array_equal(frame[hole], frames[0][hole])
        assert np.array_equal(frame[~hole], plate[~hole])
    assert result["computed"] == [1, 2, 3, 4, 5]


def test_disoccluded_pixels_are_synthesised_again():
    """A hole on the frame's right edge: on a pan to the right, new content enters it
    from outside the frame, which no flow explains."""
    plates = panning_plates(frames=4)
    mask = rect_mask(HEIGHT, WIDTH, (0.35, 0.8, 0.7, 1.0))
    hole = mask > 0.5
    key = plates[0].copy()
    key[hole] = 0.25  # a recognisable key fill
    calls = []

    def resynthesise(frame, image, redo, backward, on_step):
        calls.append((frame, int((redo > 0.5).sum()), backward))
        out = image.copy()
        out[redo > 0.5] = 0.75
        return out

    frames = dict(temporal.propagate_window([2, 3, 4], lambda f: (plates[f - 1], mask), (1, key), None,
                                            resynthesise, lambda frame: lambda step, of: None))
    assert [frame for frame, _, _ in calls] == [2, 3, 4] and not any(backward for _, _, backward in calls)
    rows = hole.any(axis=1).sum()
    for frame, (_, count, _) in zip((2, 3, 4), calls):
        assert rows * (PAN - 1) <= count <= rows * (PAN + 2)  # the strip that entered the frame
        out = frames[frame]["Combined"]
        assert np.array_equal(out[~hole], plates[frame - 1][~hole])
        assert np.isclose(out[hole], 0.75).any(axis=-1).sum() >= count
    # the key's fill moved left with the content: the middle of the hole still carries it
    middle = frames[4]["Combined"][int(0.5 * HEIGHT), int(0.85 * WIDTH)]
    assert np.allclose(middle, 0.25, atol=1e-3)


def test_cli_puts_the_temporal_and_model_options_in_the_job():
    from genvfx.cli import build_parser
    from genvfx.commands.fill import job_params

    def params(*extra):
        return job_params(build_parser().parse_args(["fill", "--plate", "p.####.exr", "--mask", "m.png",
                                                     "--out", "o", *extra]))

    assert params() == {"temporal": "carry"}
    assert params("--temporal", "propagate", "--key-interval", "6", "--patch-size", "9") == {
        "temporal": "propagate", "key_interval": 6,
                                                                  "patch_size": 9}
    assert params("--key-frames", "13, 1,25")["key_frames"] == [1, 13, 25]
    assert params("--hold") == {"temporal": "hold"}
    assert params("--temporal", "off") == {"temporal": "off"}
    assert params("--temporal", "carry") == {"temporal": "carry"}
    assert params("--temporal", "off", "--structure", "planes") == {"temporal": "off", "structure": "planes"}
    assert params("--temporal", "off", "--prompt", "bricks", "--steps", "20") == {
        "temporal": "off", "prompt": "bricks", "steps": 20}
    with pytest.raises(SystemExit):
        params("--key-interval", "6", "--key-frames", "1,7")
    with pytest.raises(BadInput):
        params("--hold", "--temporal", "off")
    assert params("--key-interval", "6")["temporal"] == "propagate"  # keys given: the mode that has them
    with pytest.raises(BadInput, match="do not apply"):
        params("--temporal", "carry", "--key-frames", "1,7")


# ------------------------------------------------------------ carry: one synthesis per shot

def world_truth(plates, hole, pan=PAN):
    """Per frame, the hole pixels some frame of the shot shows (the content moves ``pan``
    px left a frame, so pixel x of frame t is pixel x - pan (s - t) of frame s)."""
    width = hole.shape[1]
    shown = []
    for t in range(len(plates)):
        seen = np.zeros_like(hole)
        for s in range(len(plates)):
            shift = pan * (t - s)
            xs = np.arange(width) + shift
            inside = (xs >= 0) & (xs < width)
            columns = np.zeros_like(hole)
            columns[:, inside] = ~hole[:, xs[inside]]
            seen |= columns
        shown.append(hole & seen)
    return shown


def carried_run(plates, mask, frames=None):
    calls = []

    def synthesise(frame, image, redo, on_step):
        calls.append((frame, int((redo > 0.5).sum())))
        return patchmatch.fill(image, redo, seed=frame, device="cpu", patch_size=7)["Combined"]

    numbers = list(range(1, len(plates) + 1))
    out = dict(carry.carry_shot(numbers, frames or numbers, lambda f: (plates[f - 1], mask), synthesise,
                                lambda f: None, lambda frame: lambda step, of: None))
    return [out[f]["Combined"] for f in sorted(out)], calls


def test_one_synthesis_per_shot_carried_rigidly_and_revealed_background_is_real():
    """A hole fixed on the screen of a pan: what any frame shows of the background is the
    photograph itself; the rest is synthesised once, in the first frame, and every other
    frame shows that same fill moved by the pan (no second synthesis, no cross-fade)."""
    plates = panning_plates()
    mask = rect_mask(HEIGHT, WIDTH, HOLE)
    hole = mask > 0.5
    frames, calls = carried_run(plates, mask)
    assert [frame for frame, _ in calls] == [1]  # one synthesis, in the first frame
    shown = world_truth(plates, hole)
    assert calls[0][1] == int((hole & ~shown[0]).sum())  # ... of what no frame shows
    for t, (frame, plate) in enumerate(zip(frames, plates)):
        assert np.array_equal(frame[~hole], plate[~hole])
        error = np.abs(frame[shown[t]] - plate[shown[t]])[:, :3]
        assert error.mean() < 0.02 and np.quantile(error, 0.9) < 0.05, (t + 1, error.mean())  # flow drift
    # every frame's fill is the first frame's, moved by the pan (to interpolation error)
    first = frames[0]
    for t in range(1, FRAMES):
        shift = PAN * t
        synthesised = (hole & ~shown[0])[:, shift:]  # frame 1's synthesis, seen in frame t+1
        here = np.zeros_like(hole)
        here[:, :WIDTH - shift] = synthesised
        carried = frames[t][here & hole]
        original = first[:, shift:][synthesised & hole[:, :WIDTH - shift]]
        assert np.abs(carried - original)[:, :3].mean() < 0.03, t + 1  # composed-flow drift (~0.05 px a frame)


def test_carry_synthesises_only_what_enters_the_frame():
    """A hole on the frame's right edge: on a pan to the right, new content enters it
    from outside the frame, which no flow explains; only that strip is synthesised, with
    what is already filled as known context."""
    plates = panning_plates(frames=4)
    mask = rect_mask(HEIGHT, WIDTH, (0.35, 0.8, 0.7, 1.0))
    hole = mask > 0.5
    calls = []

    def synthesise(frame, image, redo, on_step):
        calls.append((frame, int((redo > 0.5).sum())))
        assert np.isfinite(image).all()
        out = image.copy()
        out[redo > 0.5] = 0.75 if frame == 1 else 0.25
        return out

    frames = dict(carry.carry_shot([1, 2, 3, 4], [1, 2, 3, 4], lambda f: (plates[f - 1], mask), synthesise,
                                   lambda f: None, lambda frame: lambda step, of: None))
    assert [frame for frame, _ in calls] == [1, 2, 3, 4]
    rows = hole.any(axis=1).sum()
    for frame, count in calls[1:]:
        assert rows * (PAN - 1) <= count <= rows * (PAN + 2)  # the strip that entered the frame
        out = frames[frame]["Combined"]
        assert np.array_equal(out[~hole], plates[frame - 1][~hole])
        assert np.isclose(out[hole], 0.25).all(axis=-1).sum() >= count  # and the earlier strips, carried
    # frame 1's synthesis moved left with the content: frame 4 still shows it, unchanged
    middle = frames[4]["Combined"][int(0.5 * HEIGHT), WIDTH - 3 * PAN - 2]
    assert np.allclose(middle, 0.75, atol=1e-3)
    # what a later frame shows to the left of the hole is the background, not a synthesis
    left = frames[1]["Combined"][int(0.5 * HEIGHT), int(0.8 * WIDTH) + 1]
    assert np.allclose(left, plates[0][int(0.5 * HEIGHT), int(0.8 * WIDTH) + 1], atol=0.02)


def test_carried_frames_computed_in_chunks_equal_one_run(tmp_path):
    """A farm computes a shot in chunks, each reading the frames before it back from the
    cache (and computing a missing earlier one it needs): the bytes of one run."""
    plates = panning_plates(frames=6)
    mask = rect_mask(HEIGHT, WIDTH, HOLE)
    folder = write_shot(tmp_path / "shot", plates, [mask] * 6)
    job = shot_job(folder, tmp_path / "one", temporal="carry")
    job.frames = list(range(1, 7))
    whole = digest(run_job(job))
    chunked = shot_job(folder, tmp_path / "chunks", temporal="carry")
    chunked.frames = list(range(1, 7))
    for chunk in ([4, 5], [1, 2], [3, 6]):  # out of order: 4 and 5 need 1-3 computed unwritten
        chunked.compute = chunk
        assert run_job(chunked)["computed"] == chunk
    chunked.compute = []
    assert digest(run_job(chunked)) == whole


def test_a_large_plate_has_its_flow_measured_shrunk_and_scaled_back():
    # Beyond _FLOW_MAX_SIDE the flow is measured on shrunk greys; the field comes back in the
    # plate's own pixels.
    from genvfx.models.fill.temporal import _FLOW_MAX_SIDE, flow

    width = _FLOW_MAX_SIDE + 200
    photo = photo_linear("coffee", (width + 12, 320))
    first, second = photo[:, 12:12 + width], photo[:, 4:4 + width]   # the camera pans: content moves 8 px right
    hole = np.zeros(first.shape[:2], bool)
    hole[120:200, 500:640] = True
    field = flow(first, hole, second, hole)
    assert np.median(field[..., 0]) == pytest.approx(8.0, abs=0.3)
    assert np.abs(np.median(field[..., 1])) < 0.3
    assert np.median(field[hole][:, 0]) == pytest.approx(8.0, abs=0.5)   # interpolated through the hole


def test_two_fits_through_the_holes_are_trusted_within_the_planes_tolerance():
    """Followed from one hole into the neighbour's, both flows are interpolations (fitted
    once each way): a sub-pixel disagreement between them keeps the pixel carried, where
    measured flow (landing outside the neighbour's hole) is held to the strict check, and
    a disagreement beyond the planes' tolerance is not trusted either way."""
    from genvfx.models.fill import structure

    height, width = 300, 400
    tolerance = structure.motion_tolerance(width, height)
    hole_there = np.zeros((height, width), bool)
    hole_there[100:200, 100:200] = True
    ys = np.array([150, 150, 150])
    xs = np.array([150, 150, 300])  # lands in the neighbour's hole, twice; outside it, once
    to_field = np.zeros((height, width, 2), np.float32)
    to_field[..., 0] = 2.0

    def followed(disagreement: float):
        from_field = np.zeros((height, width, 2), np.float32)
        from_field[..., 0] = -2.0 + disagreement
        return carry._step(ys, xs, to_field, from_field, (0, height, 0, width), hole_there)

    _, qx, valid, shows = followed(0.8 * tolerance)
    assert np.allclose(qx, xs + 2.0)
    assert valid.tolist() == [True, True, False] and not shows.any()
    _, _, valid, _ = followed(1.2 * tolerance)
    assert not valid.any()
    _, _, valid, shows = followed(0.3)  # within the strict check: measured flow is trusted too
    assert valid.all() and shows.tolist() == [False, False, True]
