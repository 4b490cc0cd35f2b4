"""Dense optical flow between plates (OpenCV's DIS, no weights), shared by the
generators that carry results along a shot: grey encoding, flow, warping and the
forward/backward consistency check (Sundaram et al. 2010)."""

from __future__ import annotations

import numpy as np

#: forward/backward check: |f + b|² <= a (|f|² + |b|²) + b
CONSISTENCY = (0.01, 0.5)


def grey8(plate: np.ndarray) -> np.ndarray:
    """Luminance, display-encoded, 8-bit: 0..1 (power 1/2.2) on 0..204, then highlights up
    to 16.0 on a log scale on 204..255, so HDR highlights keep some detail."""
    y = np.maximum(plate[..., 0] * 0.2126 + plate[..., 1] * 0.7152 + plate[..., 2] * 0.0722, 0.0)
    encoded = 0.8 * np.minimum(y, 1.0) ** (1.0 / 2.2)
    bright = y > 1.0
    if bright.any():  # the logarithm only where it is needed: most plates have few highlights
        encoded[bright] = 0.8 + 0.2 * np.minimum(np.log2(y[bright]) / 4.0, 1.0)
    return (encoded * 255.0 + 0.5).astype(np.uint8)


def dis_flow(grey_from: np.ndarray, grey_to: np.ndarray) -> np.ndarray:
    """H×W×2 (x, y) displacement of each pixel of ``grey_from`` into ``grey_to`` (uint8)."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(grey_from, grey_to, None)


def warp(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``p + field(p)`` (bilinear, edges clamped)."""
    import cv2

    height, width = field.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(np.ascontiguousarray(image, dtype=np.float32), xs + field[..., 0], ys + field[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def squared_length(v: np.ndarray) -> np.ndarray:
    """|v|² of displacements (…×2), x then y (as summing the last axis does, faster)."""
    return v[..., 0] ** 2 + v[..., 1] ** 2


def consistent(forward: np.ndarray, backward_at_target: np.ndarray) -> np.ndarray:
    """Where a forward flow and the backward flow sampled where it lands agree."""
    error = squared_length(forward + backward_at_target)
    scale = squared_length(forward) + squared_length(backward_at_target)
    return error <= CONSISTENCY[0] * scale + CONSISTENCY[1]
