"""Relight from files, over a job's frames: estimate, smooth along the shot, split with one light.

The frames are taken in shot order because each frame's estimate is smoothed with the
one before it (:mod:`genvfx.models.relight.temporal`), read back from the cache when it
was written earlier, so that a shot computed again after a stop gives the same bytes.
The **neutral light** is fitted once, on the job's first frame, and every frame is
split with it: the node's group then gives the plate back, on every frame, with the
light it was given by the backend (stored in each frame's header,
``genvfx.relight.neutral``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

from ...errors import BadInput
from ...models import relight
from ...models.relight import Estimate, Light, temporal
from ...models.relight.intrinsic import MODES
from .frames import FramePasses, read_plate
from .spec import GeneratorSpec

HEADER_NEUTRAL = "genvfx.relight.neutral"
HEADER_LIGHT = "genvfx.relight.light"


@dataclass(frozen=True)
class RelightOptions:
    light: object | None       # models.relight.Light for Combined, or None (neutral)
    mode: str
    strength: float            # temporal smoothing, 0 = every frame on its own

    @classmethod
    def from_params(cls, params: dict) -> "RelightOptions":
        unknown = sorted(set(params) - {"light", "mode", "temporal_strength"})
        if unknown:
            raise BadInput(f"Relight takes no {', '.join(unknown)}", "Leave those settings out.")
        mode = params.get("mode", "recombine")
        if mode not in MODES:
            raise BadInput(f"Unknown relight mode '{mode}'", f"Use one of {', '.join(MODES)}.")
        strength = float(params.get("temporal_strength", temporal.DEFAULT_STRENGTH))
        if not 0.0 <= strength < 1.0:
            raise BadInput(f"Temporal smoothing must lie in 0-0.99, got {strength}", "0 turns it off.")
        light = params.get("light")
        return cls(light=None if light is None else Light.from_dict(light), mode=mode, strength=strength)


def _from_passes(passes: dict):
    return Estimate(normal=passes["Normal"], depth=passes["Depth"], confidence=passes["Confidence"])


def run_frames(read, job, todo: list[int], results, progress_for, estimator, side) -> Iterator[tuple[int, dict]]:
    options = RelightOptions.from_params(job.params)
    frames = sorted(job.frames)
    wanted = set(todo)
    last_needed = max(wanted)
    previous = None          # (plate, smoothed Estimate) of the frame before
    neutral = None
    for index, frame in enumerate(frames):
        if frame > last_needed:
            break
        if frame not in wanted:
            following = frames[index + 1] if index + 1 < len(frames) else None
            if neutral is None or following in wanted:
                plate = read_plate(read, job, frame)
                estimate = _from_passes(results.read(frame))
                neutral = neutral or relight.neutral_light(plate, estimate)
                previous = (plate, estimate)
            continue
        on_step = progress_for(frame)
        on_step(0, 2)
        plate = read_plate(read, job, frame)
        estimate = estimator(plate)
        if previous is not None and options.strength > 0 and previous[0].shape == plate.shape:
            estimate = temporal.smooth(previous[0], previous[1], plate, estimate, options.strength)
        on_step(1, 2)
        neutral = neutral or relight.neutral_light(plate, estimate)
        passes = relight.frame_passes(plate, estimate, neutral, options.light, options.mode)
        header = {HEADER_NEUTRAL: json.dumps(neutral.to_dict())}
        if options.light is not None:
            header[HEADER_LIGHT] = json.dumps(options.light.to_dict())
        on_step(2, 2)
        yield frame, FramePasses(passes, header)
        # carry what was written (float32 EXR: the same values), not a private copy
        previous = (plate, estimate)


SPEC = GeneratorSpec(
    name="relight", label="Relight", layer="Relight",
    required_inputs=("plate",), optional_inputs=(),
    default_model="genvfx.relight.normalnet", version_of=lambda: relight.GENERATOR_VERSION, load_model=relight.load,
    run_frame=None, run_frames=run_frames,
    pass_channels={"Normal": ("X", "Y", "Z"), "Depth": ("Z",), "Confidence": ("V",)},
    generated_basis="the whole frame (every pass is estimated by the model)",
)
