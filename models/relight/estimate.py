"""What every Relight estimator gives back, and the resizing they share.

An estimator is a callable ``(image H×W×4 float32 scene-linear) -> Estimate``. Models
run at their own working size; :func:`to_working_size` and :func:`from_working_size`
bring a frame there and back, so that any plate size works (a plate smaller than the
working size is scaled up, never refused).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import exposure_normalised

#: Depth given to pixels that are not surfaces (sky): far behind every surface.
FAR = 1000.0
#: Confidence above which a pixel counts as a surface. The network is sure of the sky
#: (confidence near 0); bright, flat, distant facades get 0.3-0.4 and are surfaces.
SURFACE = 0.25


@dataclass
class Estimate:
    normal: np.ndarray        # H×W×3 unit camera-space normals (+X right, +Y up, +Z to camera)
    depth: np.ndarray         # H×W relative depth, median surface depth 1, larger = farther
    confidence: np.ndarray    # H×W in [0, 1]: how sure the model is that this is a surface
    albedo: np.ndarray | None = None   # H×W×3 when the model estimates it (intrinsics models)


def to_working_size(image: np.ndarray, long_side: int, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The frame scaled so its long side is ``long_side``, padded (edge reflection) at the
    bottom and right to a multiple of ``multiple``; and that padding (rows, columns)."""
    import cv2

    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    rgb = np.ascontiguousarray(image[..., :3], dtype=np.float32)
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pad_rows = (-small.shape[0]) % multiple
    pad_cols = (-small.shape[1]) % multiple
    if pad_rows or pad_cols:
        mode = cv2.BORDER_REFLECT_101 if min(small.shape[:2]) > 1 else cv2.BORDER_REPLICATE
        small = cv2.copyMakeBorder(small, 0, pad_rows, 0, pad_cols, mode)
    return small, (pad_rows, pad_cols)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide: ``source`` (H×W×C) made to follow the
    edges of ``guide`` (H×W) within ``radius`` pixels."""
    import cv2

    def box(x):
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    var_i = box(guide * guide) - mean_i * mean_i
    out = np.empty_like(source)
    for c in range(source.shape[2]):
        p = source[..., c]
        mean_p = box(p)
        a = (box(guide * p) - mean_i * mean_p) / (var_i + eps)
        b = mean_p - a * mean_i
        out[..., c] = box(a) * guide + box(b)
    return out


def sky_from_above(confidence: np.ndarray) -> np.ndarray:
    """``confidence`` with the sky kept to what the sky can be: regions below the surface
    threshold that reach the frame's top edge. A patch the model doubts in the middle of a
    frame (a bright brick facade, a pale wall lit flat) is a surface, at the threshold's
    confidence: a hole in the albedo there shows more than sky seen through a gap would."""
    import cv2

    sky = (confidence <= SURFACE).astype(np.uint8)
    if not sky.any():
        return confidence
    count, labels = cv2.connectedComponents(sky, connectivity=4)
    from_above = np.zeros(count, bool)
    from_above[np.unique(labels[0])] = True
    from_above[0] = False
    enclosed = (sky > 0) & ~from_above[labels]
    return np.where(enclosed, np.float32(min(1.0, SURFACE + 0.05)), confidence).astype(np.float32)


def _display_grey(image: np.ndarray) -> np.ndarray:
    return (exposure_normalised(image) @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)


def from_working_size(image: np.ndarray, normal: np.ndarray, log_depth: np.ndarray,
                      confidence: np.ndarray, albedo: np.ndarray | None = None) -> Estimate:
    """Bring working-size outputs back to ``image``'s size and conventions."""
    import cv2

    height, width = image.shape[:2]

    def up(x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape[:2] == (height, width):
            return x
        return cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR)

    normal = up(normal)
    scale = max(height, width) / max(log_depth.shape)
    if scale > 1.5:
        normal = guided_filter(_display_grey(image), normal, radius=max(2, int(round(scale))), eps=1e-3)
    normal = normal / np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-6)
    confidence = sky_from_above(np.clip(up(confidence), 0.0, 1.0))
    if image.shape[-1] == 4:
        confidence = np.where(image[..., 3] > 0.5, confidence, 0.0)
    log_depth = up(log_depth)
    surface = confidence > SURFACE
    reference = float(np.median(log_depth[surface])) if surface.any() else float(np.median(log_depth))
    depth = np.exp(np.clip(log_depth - reference, -20.0, np.log(FAR) - 1.0))
    depth = np.where(surface, depth, FAR)
    return Estimate(normal=normal.astype(np.float32), depth=depth.astype(np.float32),
                    confidence=confidence.astype(np.float32),
                    albedo=None if albedo is None else np.clip(up(albedo), 0.0, 1.0))
