"""Collapse Sim: bring down the building in a plate.

The masked building is lifted to a slab facing the camera (:mod:`.geometry`), broken
into Voronoi cells (:mod:`.fracture`, scipy), dropped as rigid bodies held by welds
that fail from an origin (:mod:`.physics`, MuJoCo), ray-cast with NVIDIA Warp
(:mod:`.render`) and wrapped in dust (:mod:`.dust`); :mod:`.shot` puts a frame together
over the clean plate (Debris Fill of the building's region).
"""

from __future__ import annotations

from .options import CollapseOptions
from .shot import CollapseShot

#: Collapse Sim's version in cache keys: bump when the passes for the same inputs change.
GENERATOR_VERSION = "1"

__all__ = ["GENERATOR_VERSION", "CollapseOptions", "CollapseShot"]
