"""What the worker knows of a generator: its layer, inputs, default model and how its
frames are made (:class:`GeneratorSpec`). Each generator's module defines its ``SPEC``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


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
    run_frame: Callable | None  # (FrameReader, job, frame, on_step, model) -> {pass: array}
    # For generators whose frames depend on each other (e.g. a fill carried along the shot):
    # (FrameReader, job, todo, results, progress_for, model, side) -> iterator of (frame, passes),
    # yielding every frame of ``todo`` once, in any order; ``results.read(frame)`` gives the
    # passes of a frame already written (cached or yielded earlier in this run),
    # ``progress_for(frame)`` the on_step(step, of) to report (and cancel) through, and
    # ``side`` (:class:`~.frames.SideFiles`) the folders for files kept beside the layers.
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
