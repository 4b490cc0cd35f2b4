"""Measures shared by the temporal tests and benchmark: the warping error of a filled
panning shot with known motion, and OpenCV's Telea inpainting as the smooth baseline."""

from __future__ import annotations

import numpy as np


def warp_errors(frames, hole: np.ndarray, pan: int) -> np.ndarray:
    """Per pair of frames, mean |fill_t − fill_{t−1} moved by the known pan| over the hole."""
    ys, xs = np.nonzero(hole)
    keep = xs + pan < hole.shape[1]
    ys, xs = ys[keep], xs[keep]
    return np.array([np.abs(after[ys, xs, :3] - before[ys, xs + pan, :3]).mean()
                     for before, after in zip(frames[:-1], frames[1:])])


def opencv_inpaint(plate: np.ndarray, hole: np.ndarray, method: str = "telea") -> np.ndarray:
    """OpenCV's inpainting (``telea`` or ``ns``, Navier–Stokes), per channel on 16 bits
    (its float path is unreliable)."""
    import cv2

    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    out = plate.copy()
    for channel in range(3):
        encoded = np.clip(plate[..., channel] * 65535 + 0.5, 0, 65535).astype(np.uint16)
        out[..., channel] = cv2.inpaint(encoded, hole.astype(np.uint8), 3, flag) / 65535.0
    return out


def telea(plate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV's Telea inpainting, the plain baseline."""
    return opencv_inpaint(plate, hole, "telea")
