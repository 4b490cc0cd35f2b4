"""The cache's side of a job: whether a frame is already written for a key, and the
frames written so far, read back (what generators whose frames depend on each other
build on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import GenVFXError
from ..files import layers
from .jobs import Job


def frame_is_current(path: Path, key: str) -> bool:
    """A cached frame counts only if it is whole and was made for this key."""
    if not path.is_file():
        return False
    try:
        return layers.read_header(path).get("genvfx.key") == key
    except GenVFXError:
        return False



class CachedFrames:
    """The frames of a job already written, read back: what generators whose frames depend
    on each other (a fill carried from its key frames) build on."""

    def __init__(self, job: Job, key: str):
        self.job, self.key = job, key

    def has(self, frame: int) -> bool:
        return frame_is_current(self.job.frame_path(self.key, frame), self.key)

    def read(self, frame: int) -> dict[str, np.ndarray]:
        """``{pass: array}`` of ``frame`` as written (float32, so exactly what was computed)."""
        return layers.read_layers(self.job.frame_path(self.key, frame))[self.job.layer]
