"""What the production Relight adapters share: the embedded estimator they build on
(for what their model does not estimate) and plate colour handling."""

from __future__ import annotations

import numpy as np

from ...colour import linear_to_srgb
from ...registry import find_model
from ..normalnet import NormalNetEstimator

EMBEDDED = "genvfx.relight.normalnet"


def embedded_estimator(device: str):
    """The shipped NormalNet: the normals, depth and confidence a production model
    does not give."""
    return NormalNetEstimator(find_model(EMBEDDED, slot="relight"), device)


def display_rgb(image: np.ndarray, colour_space: str) -> np.ndarray:
    """H×W×3 float32 in [0, 1] in the model's input colour space (photographs: sRGB),
    exposure kept; values above 1 are clipped as a photograph's would be."""
    rgb = np.nan_to_num(np.asarray(image[..., :3], dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    rgb = np.clip(rgb, 0.0, 1.0)
    if colour_space == "srgb":
        rgb = linear_to_srgb(rgb)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def unit(normal: np.ndarray) -> np.ndarray:
    return (normal / np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-6)).astype(np.float32)
