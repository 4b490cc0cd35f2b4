"""The generators the worker knows: their layer, inputs, default model and how one
frame is computed from files. ``models/`` does the pixels; this module does the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from ..errors import BadInput


@dataclass(frozen=True)
class GeneratorSpec:
    name: str
    label: str
    layer: str
    required_inputs: tuple[str, ...]
    optional_inputs: tuple[str, ...]
    default_model: str
    version_of: Callable[[], str]
    load_model: Callable  # (manifest, device) -> the model run_frame is given
    run_frame: Callable  # (FrameReader, job, frame, on_step, model) -> {pass: array}
    # For generators whose frames depend on each other (e.g. a fill carried along the shot):
    # (FrameReader, job, todo, results, progress_for, model) -> iterator of (frame, passes),
    # yielding every frame of ``todo`` once, in any order; ``results.read(frame)`` gives the
    # passes of a frame already written (cached or yielded earlier in this run), and
    # ``progress_for(frame)`` the on_step(step, of) to report (and cancel) through.
    run_frames: Callable | None = None
    # Channel names of passes that are not colours (e.g. Normal: X, Y, Z), for Blender's sockets.
    pass_channels: dict = field(default_factory=dict)
    # The share of a frame's pixels that were generated (0-1) from its passes, for the
    # ledger, unless the passes say it themselves (FramePasses.generated); and the rule in words.
    generated_share: Callable[[dict], float] = lambda passes: 1.0
    generated_basis: str = "the whole frame"

    @property
    def version(self) -> str:
        return self.version_of()


class FramePasses(dict):
    """A frame's passes with header entries of their own (e.g. the light a frame was split
    with), which the executor adds to the frame's EXR header, and, when the generator
    knows it better than its spec's rule, the share of the frame it generated."""

    def __init__(self, passes: dict, header: dict[str, str] | None = None, generated: float | None = None):
        super().__init__(passes)
        self.header = dict(header or {})
        self.generated = generated


def _mask_coverage(passes: dict) -> float:
    return float(np.clip(passes["Mask"], 0.0, 1.0).mean())


def _fill_version() -> str:
    from ..models.fill import GENERATOR_VERSION
    from ..models.fill.temporal import TEMPORAL_VERSION

    return f"{GENERATOR_VERSION}+t{TEMPORAL_VERSION}"


def _load_fill(manifest, device: str):
    from ..models import fill

    return fill.load(manifest, device)


def _resize(image: np.ndarray, scale: float, interpolation=None) -> np.ndarray:
    if scale == 1.0:
        return image
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if interpolation is None else interpolation)


def check_finite(image: np.ndarray, role: str, frame: int) -> np.ndarray:
    if not np.isfinite(image).all():
        bad = int((~np.isfinite(image)).any(axis=-1).sum()) if image.ndim == 3 else int((~np.isfinite(image)).sum())
        raise BadInput(f"The {role} has {bad} NaN or infinite pixel(s)",
                       "Clamp or fix the plate upstream (e.g. a Clamp or Math node) and generate again.", frame)
    return image


def read_plate(read, job, frame: int) -> np.ndarray:
    """A frame's plate at the job's proxy scale."""
    return _resize(check_finite(read.rgba("plate", frame), "plate", frame), float(job.proxy))


def read_plate_and_mask(read, job, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """A frame's plate and mask at the job's proxy scale (the mask the plate's size)."""
    plate = check_finite(read.rgba("plate", frame), "plate", frame)
    mask = check_finite(read.mask("mask", frame), "mask", frame)
    if plate.shape[:2] != mask.shape[:2]:
        raise BadInput(
            f"Plate is {plate.shape[1]}×{plate.shape[0]} but the mask is {mask.shape[1]}×{mask.shape[0]}",
            "Give a mask the size of the plate (a Scale node set to Render Size fixes it in the compositor).",
            frame,
        )
    scale = float(job.proxy)
    return _resize(plate, scale), _resize(mask, scale)


def _fill_inputs(read, job, frame: int):
    """A frame's plate, mask and source at the job's proxy scale."""
    plate, mask = read_plate_and_mask(read, job, frame)
    source = read.rgba("source", frame) if job.inputs.get("source") else None
    if source is not None:
        source = _resize(check_finite(source, "source image", frame), float(job.proxy))
    return plate, mask, source


def _run_fill(read, job, frame: int, on_step, fill) -> dict[str, np.ndarray]:
    """One frame filled on its own (the temporal options do not apply)."""
    from ..models.fill.temporal import TemporalOptions

    _, params = TemporalOptions.split(job.params)
    plate, mask, source = _fill_inputs(read, job, frame)
    return fill(plate, mask, seed=frame_seed(job.seed, frame), source=source, on_step=on_step, **params)


def _run_fill_frames(read, job, todo: list[int], results, progress_for, fill) -> Iterator[tuple[int, dict]]:
    """Debris Fill over a shot (see :mod:`genvfx.models.fill.temporal`): key frames first,
    filled on their own, then the frames between them by propagation from the keys as
    written to the cache — so a frame computed again after a crash reads the same keys and
    gets the same bytes as in an uninterrupted run."""
    from ..models.fill import temporal

    options, params = temporal.TemporalOptions.split(job.params)
    if options.mode == "off":
        for frame in todo:
            yield frame, _run_fill(read, job, frame, progress_for(frame), fill)
        return
    keys = options.keys(job.frames)
    todo = set(todo)
    for key in keys:
        if key in todo:
            yield key, _run_fill(read, job, key, progress_for(key), fill)

    def load(frame: int):
        plate, mask, _ = _fill_inputs(read, job, frame)
        return plate, mask

    if options.mode == "hold":
        key_combined = results.read(keys[0])["Combined"]
        for frame in sorted(todo - set(keys)):
            progress_for(frame)(0, 1)
            yield frame, temporal.hold_frame(key_combined, *load(frame))
            progress_for(frame)(1, 1)
        return

    def resynthesise(frame: int, image, redo, backward: bool, on_step):
        _, _, source = _fill_inputs(read, job, frame)
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


def frame_seed(seed: int, frame: int) -> int:
    """A frame's random seed, derived from (seed, frame) so frames differ but repeat."""
    return (int(seed) * 1_000_003 + int(frame) * 7919) % (2**31 - 1)


def _relight_version() -> str:
    from ..models.relight import GENERATOR_VERSION

    return GENERATOR_VERSION


def _load_relight(manifest, device: str):
    from ..models import relight

    return relight.load(manifest, device)


def _run_relight_frames(read, job, todo, results, progress_for, estimator):
    from .relight_shot import run_relight_frames

    return run_relight_frames(read, job, todo, results, progress_for, estimator)


def _collapse_version() -> str:
    from ..models.collapse import GENERATOR_VERSION

    return GENERATOR_VERSION


def _load_collapse(manifest, device: str):
    """Collapse Sim's model is the simulation itself (no weights); what it loads is the
    embedded Debris Fill, for the clean plate."""
    from ..models import fill, registry

    return fill.load(registry.find_model("genvfx.fill.patchmatch", slot="fill"), "cpu" if device == "cpu" else device)


def _run_collapse_frames(read, job, todo, results, progress_for, filler):
    from .collapse_shot import run_collapse_frames

    return run_collapse_frames(read, job, todo, results, progress_for, filler)


GENERATORS = {
    "fill": GeneratorSpec(
        name="fill", label="Debris Fill", layer="DebrisFill",
        required_inputs=("plate", "mask"), optional_inputs=("source",),
        default_model="genvfx.fill.patchmatch", version_of=_fill_version, load_model=_load_fill,
        run_frame=_run_fill, run_frames=_run_fill_frames,
        generated_share=_mask_coverage, generated_basis="the mask's coverage (the filled pixels)",
    ),
    "relight": GeneratorSpec(
        name="relight", label="Relight", layer="Relight",
        required_inputs=("plate",), optional_inputs=(),
        default_model="genvfx.relight.normalnet", version_of=_relight_version, load_model=_load_relight,
        run_frame=None, run_frames=_run_relight_frames,
        pass_channels={"Normal": ("X", "Y", "Z"), "Depth": ("Z",), "Confidence": ("V",)},
        generated_basis="the whole frame (every pass is estimated by the model)",
    ),
    "collapse": GeneratorSpec(
        name="collapse", label="Collapse Sim", layer="Collapse",
        required_inputs=("plate", "mask"), optional_inputs=("clean",),
        default_model="genvfx.collapse.sim", version_of=_collapse_version, load_model=_load_collapse,
        run_frame=None, run_frames=_run_collapse_frames,
        pass_channels={"Normal": ("X", "Y", "Z"), "Depth": ("Z",), "Vector": ("X", "Y", "Z", "W"),
                       "FragmentID": ("V",)},
        generated_basis="the fragments' and dust's alpha and the revealed clean plate",
    ),
}


def generator_spec(name: str) -> GeneratorSpec:
    try:
        return GENERATORS[name]
    except KeyError:
        raise BadInput(f"Unknown generator '{name}'", f"Known generators: {', '.join(GENERATORS)}.") from None
