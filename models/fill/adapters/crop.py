"""Where a production inpainting model looks: padded crops around the hole, resized to
the model's native resolution, and the way back.

A model made for 512 or 1024 px works best when the hole and some context around it
fill its input at that size, whatever the plate's size. Each group of nearby hole
pixels becomes one :class:`Region`: its bounding box, padded by some context, grown to
the model's aspect ratio when the model takes a fixed size, and the size the crop is
resized to. Colours go to the model display-encoded (sRGB, clamped to 0..1: an HDR
highlight is tone-clamped for the model, never changed in the plate) and come back
scene-linear, through OpenColorIO.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import colour

#: More separate hole groups than this are inpainted as one crop (a mask of specks
#: must not cost hundreds of model runs).
MAX_REGIONS = 16


@dataclass(frozen=True)
class SizeRule:
    """The input sizes a model takes: a fixed ``(height, width)``, or any size that is a
    multiple of ``multiple``, best with the long side at ``resolution``."""

    resolution: int = 512
    multiple: int = 8
    fixed: tuple[int, int] | None = None

    def fit(self, height: int, width: int) -> tuple[int, int]:
        """The model-side size for a crop of ``height`` × ``width`` plate pixels."""
        if self.fixed:
            return self.fixed
        scale = self.resolution / max(height, width)
        snap = lambda side: max(self.multiple, int(round(side * scale / self.multiple)) * self.multiple)  # noqa: E731
        return snap(height), snap(width)


@dataclass(frozen=True)
class Region:
    """One crop of the plate: rows ``top:bottom``, columns ``left:right``; ``hole`` (the
    crop's size) marks the pixels this region fills; ``size`` is the model-side size."""

    top: int
    left: int
    bottom: int
    right: int
    hole: np.ndarray
    size: tuple[int, int]

    @property
    def window(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def regions(hole: np.ndarray, rule: SizeRule, context: float = 0.25, min_context: int = 32) -> list[Region]:
    """The crops that together cover every hole pixel. Hole pixels closer than
    ``min_context`` share a crop; each crop is the group's bounding box padded by
    ``max(min_context, context × its long side)`` pixels."""
    import cv2

    height, width = hole.shape
    if not hole.any():
        return []
    grow = cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, min_context // 2))
    count, labels = cv2.connectedComponents(grow, connectivity=8)
    groups = [hole & (labels == label) for label in range(1, count)]
    if len(groups) > MAX_REGIONS:
        groups = [hole]
    found = []
    for group in groups:
        rows, cols = np.nonzero(group)
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        pad = max(int(min_context), int(round(context * max(bottom - top, right - left))))
        top, left = max(0, top - pad), max(0, left - pad)
        bottom, right = min(height, bottom + pad), min(width, right + pad)
        if rule.fixed:
            top, bottom = _grow_span(top, bottom, (right - left) * rule.fixed[0] / rule.fixed[1], height)
            left, right = _grow_span(left, right, (bottom - top) * rule.fixed[1] / rule.fixed[0], width)
        window = slice(top, bottom), slice(left, right)
        found.append(Region(int(top), int(left), int(bottom), int(right), group[window].copy(),
                            rule.fit(bottom - top, right - left)))
    return found


def _grow_span(start: int, stop: int, want: float, limit: int) -> tuple[int, int]:
    """Widen ``start:stop`` about its centre to ``want`` pixels (never narrower), kept
    inside ``0:limit``."""
    want = min(limit, int(round(want)))
    extra = want - (stop - start)
    if extra <= 0:
        return start, stop
    start = max(0, start - extra // 2)
    stop = min(limit, start + want)
    return max(0, stop - want), stop


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` = (height, width): area averaging down, bicubic up."""
    import cv2

    height, width = size
    if image.shape[:2] == (height, width):
        return image.copy()
    shrinking = height * width < image.shape[0] * image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def model_mask(hole: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The hole at the model's size, 0/1 float32: any model pixel that covers part of a
    hole pixel is hole."""
    import cv2

    height, width = size
    coverage = cv2.resize(hole.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA
                          if height * width < hole.size else cv2.INTER_LINEAR)
    return (coverage > 1e-3).astype(np.float32)


def to_model(straight_rgb: np.ndarray, size: tuple[int, int], colour_space: str) -> np.ndarray:
    """Scene-linear straight RGB (crop) to the model's input: ``size``, 0..1, encoded
    for ``colour_space`` (``srgb`` or ``linear``)."""
    rgb = np.maximum(straight_rgb, 0.0)
    if colour_space == "srgb":
        rgb = colour.linear_to_srgb(rgb)
    # clamp before resampling, so a highlight does not bleed into its neighbours
    return np.clip(resize(np.clip(rgb, 0.0, 1.0), size), 0.0, 1.0).astype(np.float32)


def from_model(image: np.ndarray, size: tuple[int, int], colour_space: str) -> np.ndarray:
    """The model's H×W×3 output (0..1 in ``colour_space``) as scene-linear RGB at ``size``."""
    rgb = np.clip(np.nan_to_num(np.asarray(image, np.float32), nan=0.0), 0.0, 1.0)
    rgb = resize(rgb, size)
    if colour_space == "srgb":
        rgb = colour.srgb_to_linear(np.clip(rgb, 0.0, 1.0))
    return np.maximum(rgb, 0.0).astype(np.float32)
