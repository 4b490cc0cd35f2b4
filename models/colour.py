"""Colour conversions through OpenColorIO (never an 8-bit round trip).

genvfx works in scene-linear Rec.709 (Blender's default working space). Display-encoded
inputs (8- or 16-bit PNG, JPEG, TIFF) are decoded from sRGB to linear on the way in;
previews and contact sheets are encoded back to sRGB on the way out.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LINEAR = "Linear Rec.709 (sRGB)"
SRGB = "sRGB Encoded Rec.709 (sRGB)"


@lru_cache(maxsize=1)
def _config():
    import PyOpenColorIO as ocio

    return ocio.Config.CreateFromBuiltinConfig("cg-config-latest")


@lru_cache(maxsize=8)
def _cpu_processor(src: str, dst: str):
    return _config().getProcessor(src, dst).getDefaultCPUProcessor()


def convert(rgb: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert the first three channels of an H×W×C float image; alpha passes through."""
    out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    colour = np.ascontiguousarray(out[..., :3])
    _cpu_processor(src, dst).applyRGB(colour)
    out[..., :3] = colour
    return out


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    return convert(rgb, SRGB, LINEAR)


def linear_to_srgb(rgb: np.ndarray) -> np.ndarray:
    return convert(rgb, LINEAR, SRGB)


def to_display_8bit(rgba: np.ndarray) -> np.ndarray:
    """Scene-linear (premultiplied) RGBA or RGB to an 8-bit sRGB RGB image for previews."""
    rgb = np.nan_to_num(np.asarray(rgba, dtype=np.float32)[..., :3], nan=0.0, posinf=1.0, neginf=0.0)
    encoded = linear_to_srgb(np.clip(rgb, 0.0, 1.0))
    return (np.clip(encoded, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
