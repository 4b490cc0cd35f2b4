"""Relight over a shot: per-frame passes smoothed along the optical flow.

A network run frame by frame flickers: its normals and depth wobble from frame to frame
even where the picture only moves. Each frame's estimate is blended with the previous
frame's *smoothed* estimate carried to the current frame by optical flow (DIS, backward
flow ``t → t−1``), where the flow passes the forward/backward consistency check and both
frames see a surface; elsewhere (disocclusions, sky, cuts) the frame keeps its own
estimate. Normals are blended as vectors and renormalised, depth in log space.

The filter is causal (each frame needs only the one before it, as written to the cache),
so a shot computed again after a stop gives the same bytes.
"""

from __future__ import annotations

import numpy as np

from ..flow import consistent, dis_flow, grey8, warp
from .estimate import SURFACE, Estimate

#: Share of the carried-over estimate in each frame's result (0 = no smoothing).
DEFAULT_STRENGTH = 0.6
#: Flow is measured on frames at most this wide (then scaled up): enough for the
#: smooth motion that matters here, and cheap at 1920×1080.
FLOW_WIDTH = 960


def shot_flow(plate_from: np.ndarray, plate_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow taking each pixel of ``plate_from`` to ``plate_to`` and where it is trusted."""
    import cv2

    height, width = plate_from.shape[:2]
    scale = min(1.0, FLOW_WIDTH / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))

    def small(plate):
        return grey8(cv2.resize(np.ascontiguousarray(plate[..., :3], dtype=np.float32), size,
                                interpolation=cv2.INTER_AREA) if scale < 1 else plate)

    a, b = small(plate_from), small(plate_to)
    forward, backward = dis_flow(a, b), dis_flow(b, a)
    trusted = consistent(forward, warp(backward, forward))
    if scale < 1:
        forward = cv2.resize(forward, (width, height), interpolation=cv2.INTER_LINEAR) / scale
        trusted = cv2.resize(trusted.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return forward, trusted


def smooth(previous_plate: np.ndarray, previous: Estimate, plate: np.ndarray, current: Estimate,
           strength: float = DEFAULT_STRENGTH) -> Estimate:
    """``current`` blended with ``previous`` (the smoothed estimate of the frame before)."""
    if strength <= 0:
        return current
    field, trusted = shot_flow(plate, previous_plate)
    carried_normal = warp(previous.normal, field)
    carried_depth = warp(np.log(np.maximum(previous.depth, 1e-6)), field)
    carried_confidence = warp(previous.confidence, field)
    use = trusted & (carried_confidence > SURFACE) & (current.confidence > SURFACE)
    weight = np.where(use, np.float32(strength), np.float32(0.0))[..., None]
    normal = (1.0 - weight) * current.normal + weight * carried_normal
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-6)
    log_depth = (1.0 - weight[..., 0]) * np.log(np.maximum(current.depth, 1e-6)) + weight[..., 0] * carried_depth
    confidence = (1.0 - weight[..., 0]) * current.confidence + weight[..., 0] * carried_confidence
    return Estimate(normal=normal.astype(np.float32), depth=np.exp(log_depth).astype(np.float32),
                    confidence=confidence.astype(np.float32), albedo=current.albedo)


def flicker(normals: list[np.ndarray], plates: list[np.ndarray]) -> float:
    """Mean angle (degrees) between each frame's normals and the previous frame's carried
    to it by the flow, over trusted pixels: how much the Normal pass boils."""
    angles = []
    for t in range(1, len(normals)):
        field, trusted = shot_flow(plates[t], plates[t - 1])
        carried = warp(normals[t - 1], field)
        length = np.linalg.norm(carried, axis=-1)
        carried /= np.maximum(length, 1e-6)[..., None]
        valid = trusted & (length > 0.5) & (np.linalg.norm(normals[t], axis=-1) > 0.5)   # no normal: sky
        cos = np.clip((normals[t] * carried).sum(-1), -1.0, 1.0)
        angles.append(np.degrees(np.arccos(cos[valid])).mean())
    return float(np.mean(angles))
