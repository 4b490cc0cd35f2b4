"""Collapse Sim: bring down the building in a plate.

The masked building is lifted to a slab facing the camera (:mod:`.geometry`), broken
into Voronoi cells cut to the mask's outline (:mod:`.fracture`, scipy), dropped as
rigid bodies held by welds that fail from an origin, shattering when they strike the
ground or the pile (:mod:`.physics`, MuJoCo), ray-cast with NVIDIA Warp (:mod:`.render`),
joined by the small pieces they shed (:mod:`.debris`) and wrapped in dust, a density
grid advected and ray-marched with self-shadowing (:mod:`.dust`); :mod:`.shot` puts a
frame together over the clean plate (Debris Fill of the building's region).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from .. import fill, registry, relight
from .lighting import PLATE, PlateLight, fit_to_plate
from .options import CollapseOptions
from .shot import CollapseShot

#: Collapse Sim's version in cache keys: bump when the passes for the same inputs change
#: (the plate's light can be fitted with Relight's embedded network: its version is part of it).
GENERATOR_VERSION = f"5+relight{relight.GENERATOR_VERSION}"  # 5: loose fragments barely spin
#: The version of the fill that makes the clean plate (a new one fills again).
CLEAN_PLATE_FILL_VERSION = fill.GENERATOR_VERSION
CLEAN_PLATE_FILL_MODEL = "genvfx.fill.patchmatch"
PLATE_LIGHT_MODEL = "genvfx.relight.normalnet"


@dataclass
class CollapseModels:
    """What Collapse Sim loads (the simulation itself has no weights): the embedded Debris
    Fill, for the clean plate, and, when a job asks for the plate's light, Relight's
    embedded estimator."""

    fill: Callable
    device: str = "cpu"

    @cached_property
    def relight(self) -> Callable:
        return relight.load(registry.find_model(PLATE_LIGHT_MODEL, slot="relight"), self.device)

    def plate_light(self, plate: np.ndarray, options: CollapseOptions) -> PlateLight:
        """The sun the collapse is lit by: the default sun, the plate's own light (``light``
        "plate") or the artist's direction."""
        if options.light is None:
            return PlateLight()
        if options.light == PLATE:
            return fit_to_plate(plate, self.relight(plate))
        return PlateLight(options.light)


def load_models(manifest, device: str) -> CollapseModels:
    return CollapseModels(fill.load(registry.find_model(CLEAN_PLATE_FILL_MODEL, slot="fill"), device), device)


__all__ = ["CLEAN_PLATE_FILL_VERSION", "GENERATOR_VERSION", "CollapseModels", "CollapseOptions", "CollapseShot",
           "PlateLight", "load_models"]
