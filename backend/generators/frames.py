"""What every generator needs to make frames from files: reading a frame's plate and
mask at the job's proxy scale, the finiteness check, resizing, a frame's seed, the
passes with header entries of their own (:class:`FramePasses`), and the folders for
files kept beside the layers, and the Blender processes that write there (:class:`SideFiles`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import BadInput
from ..files import layers
from ..files.hashing import file_sha256, json_sha256
from ..process import blender


class FramePasses(dict):
    """A frame's passes with header entries of their own (e.g. the light a frame was split
    with), which the executor adds to the frame's EXR header, and, when the generator
    knows it better than its spec's rule, the share of the frame it generated."""

    def __init__(self, passes: dict, header: dict[str, str] | None = None, generated: float | None = None):
        super().__init__(passes)
        self.header = dict(header or {})
        self.generated = generated


def frame_seed(seed: int, frame: int) -> int:
    """A frame's random seed, derived from (seed, frame) so frames differ but repeat."""
    return (int(seed) * 1_000_003 + int(frame) * 7919) % (2**31 - 1)


def resize(image: np.ndarray, scale: float, interpolation=None) -> np.ndarray:
    """``image`` scaled by ``scale`` (area filter unless another OpenCV interpolation is given)."""
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


def read_rgba(read, job, role: str, frame: int, what: str) -> np.ndarray:
    """Input ``role``'s frame, checked, at the job's proxy scale (``what`` names it in errors)."""
    return resize(check_finite(read.rgba(role, frame), what, frame), float(job.proxy))


def read_plate(read, job, frame: int) -> np.ndarray:
    """A frame's plate at the job's proxy scale."""
    return read_rgba(read, job, "plate", frame, "plate")


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
    return resize(plate, scale), resize(mask, scale)


@dataclass(frozen=True)
class SideFiles:
    """Where a generator keeps files beside its layers: ``folder`` is the job's own
    output folder; ``shared`` outlives the job's key (the generator's folder in the
    cache), or is None when the job writes to a folder of the user's (``--out``)."""

    folder: Path
    shared: Path | None = None

    @staticmethod
    def content(read, roles: tuple[str, ...], frame: int, **extra) -> str:
        """A hash of ``frame``'s input files for ``roles`` and of ``extra``: what a side
        file made from them answers to."""
        files = {role: file_sha256(read.path(role, frame)) for role in roles}
        return json_sha256({**files, **extra})

    @staticmethod
    def partial(path: Path, extension: str = "") -> Path:
        """Where a side file is written before it is renamed into ``path``."""
        return layers.partial_path(path, extension)

    @staticmethod
    def read_layer(path: Path, layer: str, header_key: str, content: str) -> dict[str, np.ndarray] | None:
        """``{pass: array}`` of ``layer`` in ``path`` when it was made for ``content``, else None."""
        if not path.is_file():
            return None
        try:
            if layers.read_header(path).get(header_key) == content:
                return layers.read_layers(path)[layer]
        except BadInput:
            pass
        return None

    @staticmethod
    def write_layer(path: Path, layer: str, passes: dict[str, np.ndarray], header_key: str, content: str) -> None:
        layers.write_layer(path, layer, passes, {header_key: content})

    @staticmethod
    def write_rgba(path: Path, pixels: np.ndarray) -> Path:
        """An H×W×4 (or H×W, written as grey) image as a plain RGBA EXR, for another
        program (Blender) to read."""
        if pixels.ndim == 2:
            pixels = np.dstack([pixels, pixels, pixels, np.ones_like(pixels)])
        return layers.write_channels(path, {name: np.ascontiguousarray(pixels[..., i], np.float32)
                                            for i, name in enumerate("RGBA")})

    def blender(self, module: str, arguments: list[str], prefix: str, log_name: str):
        """Run ``genvfx.<module>.main(arguments)`` in a Blender process that writes
        beside the layers, logging to ``log_name`` there; yields its announcements
        (see :func:`genvfx.backend.process.blender.announcements`)."""
        return blender.announcements(module, arguments, prefix, self.folder / log_name)

    @staticmethod
    def read_render(path: Path) -> dict[str, dict[str, np.ndarray]]:
        """``{view layer: {pass: array}}`` of a multilayer render (Blender's)."""
        return layers.read_layers(path)
