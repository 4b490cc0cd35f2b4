"""Reading input images of any kind as float32 scene-linear premultiplied RGBA."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import layers
from ...models import colour
from ...errors import BadInput

DISPLAY_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}


def _from_exr(path: Path) -> np.ndarray:
    found = layers.read_layers(path)
    for layer in sorted(found, key=lambda name: (name != "", name)):
        for pass_name in ("Combined", "Image", "Fill"):
            if pass_name in found[layer]:
                return found[layer][pass_name]
    first_layer = next(iter(found.values()))
    return next(iter(first_layer.values()))


def _from_display(path: Path) -> np.ndarray:
    import cv2

    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise BadInput(f"Cannot read image {path.name}", "The file is damaged or not an image.")
    if data.dtype == np.uint8:
        scaled = data.astype(np.float32) / 255.0
    elif data.dtype == np.uint16:
        scaled = data.astype(np.float32) / 65535.0
    else:  # float TIFFs are linear already
        scaled = data.astype(np.float32)
    if scaled.ndim == 3:
        scaled = scaled[..., [2, 1, 0, 3][: scaled.shape[2]]] if scaled.shape[2] >= 3 else scaled
    if data.dtype in (np.uint8, np.uint16):
        if scaled.ndim == 2:
            scaled = colour.srgb_to_linear(np.repeat(scaled[..., None], 3, axis=2))[..., 0]
        else:
            scaled = colour.srgb_to_linear(scaled)
            if scaled.shape[2] == 4:  # straight alpha in PNG/TIFF: premultiply
                scaled[..., :3] *= scaled[..., 3:4]
    return scaled


def read_image(path: str | Path) -> np.ndarray:
    """H×W×C (or H×W) float32, scene-linear; 8/16-bit files are decoded from sRGB via OCIO."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"File not found: {path}", "Check the path and the frame range.")
    suffix = path.suffix.lower()
    if suffix == ".exr":
        return _from_exr(path)
    if suffix in DISPLAY_SUFFIXES:
        return _from_display(path)
    raise BadInput(f"Unsupported image type '{suffix}' ({path.name})", "Use EXR, PNG, JPEG or TIFF.")


def as_rgba(image: np.ndarray) -> np.ndarray:
    """Any H×W / H×W×1 / ×3 / ×4 image as H×W×4 (opaque where there was no alpha)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    height, width, depth = image.shape
    if depth == 4:
        return image
    rgb = np.repeat(image, 3, axis=2) if depth == 1 else image[..., :3]
    return np.concatenate([rgb, np.ones((height, width, 1), np.float32)], axis=2)


def as_mask(image: np.ndarray) -> np.ndarray:
    """A mask from any image: its single channel, else alpha when it varies, else luminance."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[..., 0]
    if image.shape[2] == 4 and float(image[..., 3].min()) < 1.0:
        return image[..., 3]
    rgb = image[..., :3]
    return (0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]).astype(np.float32)


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file as H×W float32 in [0, 1]. 8-bit masks are taken as coverage values
    (not sRGB-decoded): 128 means half covered."""
    path = Path(path)
    if path.suffix.lower() in DISPLAY_SUFFIXES:
        import cv2

        data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if data is None:
            raise BadInput(f"Cannot read mask {path.name}", "The file is damaged or not an image.")
        scale = 65535.0 if data.dtype == np.uint16 else 255.0 if data.dtype == np.uint8 else 1.0
        data = data.astype(np.float32) / scale
        if data.ndim == 3:
            data = data[..., [2, 1, 0, 3][: data.shape[2]]] if data.shape[2] >= 3 else data
        return np.clip(as_mask(data), 0.0, 1.0)
    return np.clip(as_mask(read_image(path)), 0.0, 1.0)
