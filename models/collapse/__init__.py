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

from .. import fill, registry
from .options import CollapseOptions
from .shot import CollapseShot

#: Collapse Sim's version in cache keys: bump when the passes for the same inputs change.
GENERATOR_VERSION = "3"
#: The version of the fill that makes the clean plate (a new one fills again).
CLEAN_PLATE_FILL_VERSION = fill.GENERATOR_VERSION
CLEAN_PLATE_FILL_MODEL = "genvfx.fill.patchmatch"


def load_clean_plate_fill(manifest, device: str):
    """Collapse Sim's model is the simulation itself (no weights); what it loads is the
    embedded Debris Fill, for the clean plate."""
    return fill.load(registry.find_model(CLEAN_PLATE_FILL_MODEL, slot="fill"), "cpu" if device == "cpu" else device)


__all__ = ["CLEAN_PLATE_FILL_VERSION", "GENERATOR_VERSION", "CollapseOptions", "CollapseShot", "load_clean_plate_fill"]
