"""Debris Fill from files: a frame filled on its own, or a shot — key frames filled on
their own, then the frames between them by propagation from the keys as written
(:mod:`genvfx.models.fill.temporal`); or, with ``carry``, one synthesis carried through
the shot (:mod:`genvfx.models.fill.carry`)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ...models import fill as fill_model
from ...models.fill import carry, temporal
from .frames import frame_seed, read_plate_and_mask, read_rgba
from .spec import GeneratorSpec


def _version() -> str:
    return f"{fill_model.GENERATOR_VERSION}+t{temporal.TEMPORAL_VERSION}"


def _filled_share(passes: dict) -> float:
    """The share of the frame the fill generated: its hole, counted by the fill's own rule
    (a mask of 0.5 everywhere fills nothing and generates nothing)."""
    return float(fill_model.hole(passes["Mask"]).mean())


def _inputs(read, job, frame: int):
    """A frame's plate, mask and source at the job's proxy scale."""
    plate, mask = read_plate_and_mask(read, job, frame)
    return plate, mask, _source(read, job, frame)


def _source(read, job, frame: int):
    """A frame's source image (where the fill takes its patches from), or None: the plate."""
    return read_rgba(read, job, "source", frame, "source image") if job.inputs.get("source") else None


def run_frame(read, job, frame: int, on_step, fill) -> dict[str, np.ndarray]:
    """One frame filled on its own (the temporal options do not apply)."""
    _, params = temporal.TemporalOptions.split(job.params)
    plate, mask, source = _inputs(read, job, frame)
    return fill(plate, mask, seed=frame_seed(job.seed, frame), source=source, on_step=on_step, **params)


def run_frames(read, job, todo: list[int], results, progress_for, fill, side=None) -> Iterator[tuple[int, dict]]:
    """Debris Fill over a shot: key frames first, filled on their own, then the frames
    between them by propagation from the keys as written to the cache — so a frame
    computed again after a crash reads the same keys and gets the same bytes as in an
    uninterrupted run."""
    options, params = temporal.TemporalOptions.split(job.params)
    if options.mode == "off":
        for frame in todo:
            yield frame, run_frame(read, job, frame, progress_for(frame), fill)
        return
    if options.mode == "carry":
        yield from _carried(read, job, todo, results, progress_for, fill, params)
        return
    keys = options.keys(job.frames)
    todo = set(todo)
    for key in keys:
        if key in todo:
            yield key, run_frame(read, job, key, progress_for(key), fill)

    def load(frame: int):
        plate, mask, _ = _inputs(read, job, frame)
        return plate, mask

    if options.mode == "hold":
        key_combined = results.read(keys[0])["Combined"]
        for frame in sorted(todo - set(keys)):
            progress_for(frame)(0, 1)
            yield frame, temporal.hold_frame(key_combined, *load(frame))
            progress_for(frame)(1, 1)
        return

    def resynthesise(frame: int, image, redo, backward: bool, on_step):
        source = _source(read, job, frame)
        seed = frame_seed(job.seed, frame) ^ (0x2545F491 if backward else 0)
        return fill(image, redo, seed=seed, source=source, on_step=on_step, **params)["Combined"]

    for previous, between, following in temporal.windows(job.frames, keys):
        wanted = todo.intersection(between)
        if not wanted:
            continue
        yield from temporal.propagate_window(
            between, load,
            (previous, results.read(previous)["Combined"]) if previous is not None else None,
            (following, results.read(following)["Combined"]) if following is not None else None,
            resynthesise, progress_for, wanted)


def _carried(read, job, todo: list[int], results, progress_for, fill, params: dict) -> Iterator[tuple[int, dict]]:
    """``carry``: frames in order, what any frame shows taken from there, the rest
    synthesised once and carried along the flow (:mod:`genvfx.models.fill.carry`), earlier
    frames' fills read back from the cache as written."""
    def load(frame: int):
        plate, mask, _ = _inputs(read, job, frame)
        return plate, mask

    def synthesise(frame: int, image, redo, on_step):
        source = _source(read, job, frame)
        return fill(image, redo, seed=frame_seed(job.seed, frame), source=source, on_step=on_step,
                    **params)["Combined"]

    def cached(frame: int):
        return results.read(frame)["Combined"] if results.has(frame) else None

    yield from carry.carry_shot(job.frames, set(todo), load, synthesise, cached, progress_for)


SPEC = GeneratorSpec(
    name="fill", label="Debris Fill", layer="DebrisFill",
    required_inputs=("plate", "mask"), optional_inputs=("source",),
    default_model="genvfx.fill.patchmatch", version_of=_version, load_model=fill_model.load,
    run_frame=run_frame, run_frames=run_frames,
    generated_share=_filled_share, generated_basis="the filled pixels (where the mask is above 0.5)",
)
