"""Relight: normal, albedo, shading, residual and depth passes of a plate, and the plate
under a new light.

``load(manifest, device)`` gives an estimator for a model from the registry: a callable
``(image) -> Estimate`` (normals, relative depth, confidence, and albedo when the model
makes it). The embedded default (``genvfx.relight.normalnet``) is a small U-Net trained
by genvfx on Cycles renders (:mod:`.network`, :mod:`.normalnet`); production models run
through :mod:`.adapters` (Marigold normals and intrinsics with diffusers, depth models
with transformers). :func:`frame_passes` turns an estimate into the node's passes with
the neutral light fitted to the plate (:mod:`.light`, :mod:`.intrinsic`).
"""

from __future__ import annotations

import numpy as np

from ...errors import GenVFXError
from .adapters import LOADERS
from .estimate import Estimate
from .intrinsic import relight, split
from .light import Light, fit_light

#: Relight's version in cache keys: bump when the passes for the same inputs change.
GENERATOR_VERSION = "4"  # 4: the sky only where it reaches the frame's top


def load(manifest, device: str = "auto"):
    """The estimator for ``manifest`` (a :class:`~genvfx.models.registry.ModelManifest`)."""
    if manifest.slot != "relight":
        raise GenVFXError("model", f"Model '{manifest.id}' is a {manifest.slot} model, not a Relight model",
                          "Pick a model made for Relight (slot 'relight').")
    kind = manifest.option("kind", "normalnet" if manifest.framework == "onnx" else None)
    loader = LOADERS.get((manifest.framework, kind))
    if loader is None:
        known = ", ".join(f"{f}/{k}" for f, k in sorted(LOADERS))
        raise GenVFXError("model", f"Model '{manifest.id}' ({manifest.framework}, kind {kind}) has no Relight adapter",
                          f"Relight runs these framework/kind pairs: {known}.")
    return loader(manifest, device)


def frame_passes(image: np.ndarray, estimate: Estimate, neutral: Light, light: Light | None = None,
                 mode: str = "recombine") -> dict[str, np.ndarray]:
    """The Relight layer's passes for one frame. ``Combined`` is the plate under ``light``
    (the plate itself, to float precision, when ``light`` is None: the neutral light)."""
    parts = split(image, estimate.normal, estimate.confidence, neutral, albedo=estimate.albedo)
    if light is None:
        rgb = parts["Albedo"] * parts["Shading"] + parts["Residual"]
    else:
        rgb = relight(parts, estimate.normal, light, mode, image=image)
    alpha = image[..., 3:4] if image.shape[-1] == 4 else np.ones_like(rgb[..., :1])
    return {
        "Combined": np.concatenate([rgb, alpha], axis=-1).astype(np.float32),
        "Normal": estimate.normal,
        **parts,
        "Depth": estimate.depth,
        "Confidence": estimate.confidence,
    }


def neutral_light(image: np.ndarray, estimate: Estimate) -> Light:
    return fit_light(image, estimate.normal, estimate.confidence)


__all__ = ["GENERATOR_VERSION", "Estimate", "Light", "frame_passes", "load", "neutral_light"]
