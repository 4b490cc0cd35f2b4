"""Real photographs (scikit-image, CC0/BSD) as scene-linear plates, and masks."""

from __future__ import annotations

import numpy as np
from genvfx.backend.files import layers
from genvfx.models import colour


def photo_linear(name: str = "astronaut", size: tuple[int, int] | None = None) -> np.ndarray:
    """A scikit-image photograph as H×W×4 float32 scene-linear RGBA."""
    import cv2
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3]
    if size is not None:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    rgb = colour.srgb_to_linear(image.astype(np.float32) / 255.0)
    return np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,), np.float32)], axis=2)


def rect_mask(height: int, width: int, box: tuple[float, float, float, float]) -> np.ndarray:
    """A mask with 1 inside ``box`` = (top, left, bottom, right) as fractions."""
    mask = np.zeros((height, width), np.float32)
    top, left, bottom, right = box
    mask[int(top * height):int(bottom * height), int(left * width):int(right * width)] = 1.0
    return mask


def write_plate(path, rgba: np.ndarray) -> None:
    """A plain single-layer RGBA EXR, the way a plate comes from a camera or a render."""
    import OpenEXR

    channels = {name: np.ascontiguousarray(rgba[..., i]) for i, name in enumerate("RGBA")}
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels) as exr:
        exr.write(str(path))


def write_mask_png(path, mask: np.ndarray) -> None:
    import cv2

    cv2.imwrite(str(path), (np.clip(mask, 0, 1) * 255 + 0.5).astype(np.uint8))


