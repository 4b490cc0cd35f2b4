"""Albedo / shading split and recombination.

Given the plate and its normals, the neutral light (:func:`.light.fit_light`) gives the
``Shading`` of every pixel; ``Albedo`` is the plate divided by it, kept in [0, 1]
(what does not fit a diffuse surface under that light — highlights, emitters, cast
shadows' excess — goes to ``Residual``); ``Residual`` is whatever remains, so that
``Image = Albedo × Shading + Residual`` holds to float precision by construction.
Pixels that are not surfaces (sky: confidence under ``SURFACE``) keep all of their light in
``Residual``: relighting leaves them alone.

:func:`relight` is the compositor group's arithmetic in numpy (the command line's
``Combined``, and the reference the group is tested against).
"""

from __future__ import annotations

import numpy as np

from .estimate import SURFACE
from .light import Light, shading

SHADING_FLOOR = 1e-4
MODES = ("recombine", "ratio")


def split(image: np.ndarray, normal: np.ndarray, confidence: np.ndarray, light: Light,
          albedo: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``Albedo``, ``Shading``, ``Residual`` (H×W×3 float32) of the plate's RGB; a model's
    own albedo estimate, when given, replaces plate / shading."""
    rgb = np.nan_to_num(image[..., :3].astype(np.float32))
    shade = shading(normal, light).astype(np.float32)
    surface = (confidence > SURFACE)[..., None]
    if albedo is None:
        albedo = np.clip(rgb / np.maximum(shade, SHADING_FLOOR), 0.0, 1.0)
    albedo = np.where(surface, albedo, 0.0).astype(np.float32)
    residual = (rgb - albedo * shade).astype(np.float32)
    return {"Albedo": albedo, "Shading": shade, "Residual": residual}


def relight(passes: dict[str, np.ndarray], normal: np.ndarray, light: Light, mode: str = "recombine",
            image: np.ndarray | None = None, extra_lights: tuple[Light, ...] = ()) -> np.ndarray:
    """The plate under ``light`` (and ``extra_lights``, whose ambient is ignored):
    ``Albedo × Shading' + Residual`` (recombine) or ``Image × Shading' / Shading`` (ratio,
    which keeps texture the albedo lost)."""
    new_shading = shading(normal, light)
    for extra in extra_lights:
        new_shading = new_shading + shading(normal, extra.with_(ambient=0.0))
    if mode == "recombine":
        return (passes["Albedo"] * new_shading + passes["Residual"]).astype(np.float32)
    if mode == "ratio":
        rgb = image[..., :3] if image is not None else passes["Albedo"] * passes["Shading"] + passes["Residual"]
        return (rgb * new_shading / np.maximum(passes["Shading"], SHADING_FLOOR)).astype(np.float32)
    raise ValueError(f"unknown relight mode {mode!r}; use one of {MODES}")
