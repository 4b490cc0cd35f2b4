"""Pasting a generated crop back so that the hole's edge does not show.

Two corrections, both measured on a *ring*: the plate pixels just outside the hole,
which the model saw and (more or less) reproduced.

* :func:`match_colour` — the generated crop's per-channel mean and standard deviation
  over the ring are matched to the plate's (a model's colour cast or a VAE's shift in
  level is taken out; the gain is kept within 0.5..2).
* :func:`feather` — what still differs on the ring (plate − generated) is spread into
  the hole by normalised Gaussian interpolation and added with a weight that falls from
  1 at the hole's edge to 0 at ``width`` pixels inside it: the fill meets the plate
  without a step, and the middle of the hole stays as the model made it.

Only hole pixels are ever changed; the caller pastes them into a copy of the plate.
"""

from __future__ import annotations

import numpy as np

_MAX_GAIN = 2.0


def ring(hole: np.ndarray, width: int) -> np.ndarray:
    """Pixels outside ``hole`` within ``width`` pixels of it."""
    import cv2

    outside = (~hole).astype(np.uint8)
    if not outside.any() or not hole.any():
        return np.zeros_like(hole)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    return (distance > 0) & (distance <= max(1, width))


def depth(hole: np.ndarray) -> np.ndarray:
    """For each hole pixel, its distance from the nearest pixel outside the hole (1 at the edge)."""
    import cv2

    if hole.all():
        return np.full(hole.shape, np.inf, np.float32)
    return cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)


def match_colour(generated: np.ndarray, plate: np.ndarray, around: np.ndarray) -> np.ndarray:
    """``generated`` (H×W×3) with its mean/std over ``around`` matched to ``plate``'s."""
    if around.sum() < 4:
        return generated
    want, have = plate[around], generated[around]
    gain = (want.std(axis=0) + 1e-4) / (have.std(axis=0) + 1e-4)
    gain = np.clip(gain, 1.0 / _MAX_GAIN, _MAX_GAIN)
    out = (generated - have.mean(axis=0)) * gain + want.mean(axis=0)
    return np.maximum(out, 0.0).astype(np.float32)


def feather(generated: np.ndarray, plate: np.ndarray, hole: np.ndarray, width: float) -> np.ndarray:
    """``generated`` with the ring's residual (plate − generated) blended into the hole's
    edge over ``width`` pixels; pixels deeper than ``width`` are unchanged."""
    import cv2

    if width <= 0:
        return generated
    around = ring(hole, int(np.ceil(width)))
    if not around.any():
        return generated
    weight = around.astype(np.float32)
    residual = (plate - generated) * weight[..., None]
    sigma = max(1.0, width / 2.0)
    spread = cv2.GaussianBlur(residual, (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    valid = norm > 1e-3
    interpolated = np.where(valid[..., None], spread / np.maximum(norm, 1e-3)[..., None], 0.0)
    ramp = np.clip(1.0 - (depth(hole) - 1.0) / width, 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep
    out = generated + (ramp * hole)[..., None] * interpolated
    return np.maximum(out, 0.0).astype(np.float32)
