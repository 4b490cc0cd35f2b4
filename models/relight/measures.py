"""How good Relight is against rendered truth: the Normal pass's angular error, the
trivial guesses any network must beat, and how close the plate relit toward another
light comes to the true render under that light. Used by the training script, the
evaluation benchmark and the tests."""

from __future__ import annotations

import numpy as np

from .intrinsic import relight, split
from .light import fit_light


def angular_errors(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Degrees between predicted and true unit normals, on the pixels that have a true
    normal (the sky has none)."""
    surface = np.abs(truth).sum(-1) > 0.5
    cos = np.clip((predicted[surface] * truth[surface]).sum(-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def facing_camera(height: int, width: int) -> np.ndarray:
    """Every surface faces the camera."""
    return np.broadcast_to(np.array([0.0, 0.0, 1.0], np.float32), (height, width, 3)).copy()


def ground_and_walls(height: int, width: int) -> np.ndarray:
    """The lower half is ground (facing up), the upper half walls facing the camera."""
    guess = facing_camera(height, width)
    guess[height // 2:] = (0.0, 1.0, 0.0)
    return guess


def summary(errors_per_view: list[np.ndarray]) -> dict:
    """Median over views of the mean error, and the share of all pixels under 22.5°."""
    means = [float(e.mean()) for e in errors_per_view if e.size]
    pixels = np.concatenate([e for e in errors_per_view if e.size]) if errors_per_view else np.zeros(0)
    return {"median_mean_deg": float(np.median(means)) if means else float("nan"),
            "under_22_5": float((pixels < 22.5).mean()) if pixels.size else float("nan"),
            "views": len(means)}


def relative_depth_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean |d - d*| / d* over surface pixels, the prediction scaled by the ratio of the
    medians first (Relight's depth is relative)."""
    surface = np.isfinite(truth) & (truth > 0)
    if not surface.any():
        return float("nan")
    scale = np.median(truth[surface]) / max(float(np.median(predicted[surface])), 1e-12)
    return float(np.mean(np.abs(predicted[surface] * scale - truth[surface]) / truth[surface]))


def display_encoded(rgb: np.ndarray, white: float) -> np.ndarray:
    """Scene-linear RGB as a viewer shows it: scaled so ``white`` is 1, clipped, gamma 2.2."""
    return np.clip(np.maximum(rgb[..., :3], 0.0) / white, 0.0, 1.0) ** (1.0 / 2.2)


def relit_toward(image: np.ndarray, estimate, direction) -> np.ndarray:
    """The plate relit as the node does it: the neutral light fitted to the plate, turned
    toward ``direction`` (camera space), recombined with the plate's albedo and residual."""
    neutral = fit_light(image, estimate.normal, estimate.confidence)
    parts = split(image, estimate.normal, estimate.confidence, neutral, albedo=estimate.albedo)
    return relight(parts, estimate.normal, neutral.with_(direction=tuple(float(v) for v in direction)))


def relit_psnr(got: np.ndarray, truth: np.ndarray, surface: np.ndarray) -> float:
    """PSNR (dB) over ``surface`` pixels of ``got`` against the true render ``truth``, both
    display-encoded with the truth's white point (98th percentile of its luminance)."""
    white = float(np.percentile(np.maximum(truth[..., :3], 0.0) @ np.array([0.2126, 0.7152, 0.0722]), 98)) or 1.0
    error = np.mean((display_encoded(got, white)[surface] - display_encoded(truth, white)[surface]) ** 2)
    return float(10.0 * np.log10(1.0 / max(float(error), 1e-12)))
