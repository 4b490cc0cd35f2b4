"""The sun a collapse is lit by: the direction the fragments are shaded from, their
shadows and the dust's, and the self-shadowing in the dust; and how strong it is against
the ambient (how dark those shadows are).

Three sources: a default sun (high on the left, in front); a direction the artist gives;
or the plate's own light, Relight's neutral light (:func:`~genvfx.models.relight.light.fit_light`:
a direction and the directional light's ratio to the ambient, read from how the plate's
shading changes with its normals), so a hazy plate gets faint shadows and a sunny one
hard shadows. The fit is not the default: on rendered views with a known sun
(``benchmarks/eval_relight.py``) it points further from the sun than the default does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import BadInput
from ..relight.light import fit_light

#: A sun high on the left, in front of the building (camera space: +X right, +Y up, +Z toward the camera).
DEFAULT_DIRECTION = (-0.45, 0.8, 0.4)
#: The light option that asks for the plate's own light (:func:`fit_to_plate`).
PLATE = "plate"
#: Ambient light on the fragments, in units of the directional light.
DEFAULT_AMBIENT = 0.35
AMBIENT_RANGE = (0.15, 3.0)
#: A fragment between a surface and the sun takes away this share of the surface's
#: directional light (soft, metres-wide fragments and light scattered in the street).
SHADOW_OF_DIRECT = 0.75
#: The sun is kept at least this high (degrees): a fitted light at the horizon (or below
#: it, a guess on a flat plate) would throw shadows across the whole frame.
MIN_ELEVATION = 20.0


@dataclass(frozen=True)
class PlateLight:
    direction: tuple[float, float, float] = DEFAULT_DIRECTION   # toward the light, camera space
    ambient: float = DEFAULT_AMBIENT                              # over the directional light
    fitted: bool = False                                          # read from the plate (else given)

    def __post_init__(self):
        d = np.asarray(self.direction, dtype=np.float64)
        length = float(np.linalg.norm(d)) if d.shape == (3,) else 0.0
        if not np.isfinite(d).all() or length < 1e-6:
            raise BadInput(f"The collapse's light direction {tuple(np.ravel(d))} has no direction",
                           "Give three numbers that are not all zero (x right, y up, z toward the camera), "
                           "e.g. --light-dir -0.5,0.8,0.4.")
        d = d / length
        elevation = math.degrees(math.asin(max(-1.0, min(1.0, d[1]))))
        if elevation < MIN_ELEVATION:
            flat = math.hypot(d[0], d[2])
            x, z = (d[0] / flat, d[2] / flat) if flat > 1e-6 else (0.0, 1.0)
            low = math.radians(MIN_ELEVATION)
            d = np.array([x * math.cos(low), math.sin(low), z * math.cos(low)])
        object.__setattr__(self, "direction", tuple(float(v) for v in d))
        object.__setattr__(self, "ambient", float(np.clip(self.ambient, *AMBIENT_RANGE)))

    @property
    def vector(self) -> np.ndarray:
        return np.array(self.direction, np.float64)

    @property
    def shadow(self) -> float:
        """The share of a surface's light a fragment between it and the sun takes away."""
        return SHADOW_OF_DIRECT / (1.0 + self.ambient)

    @classmethod
    def from_neutral(cls, neutral) -> "PlateLight":
        """From Relight's neutral light (a :class:`~genvfx.models.relight.light.Light`)."""
        ambient = neutral.ambient / neutral.intensity if neutral.intensity > 1e-9 else AMBIENT_RANGE[1]
        return cls(neutral.direction, ambient, fitted=True)

    def describe(self) -> str:
        x, y, z = self.direction
        azimuth, elevation = math.degrees(math.atan2(x, z)), math.degrees(math.asin(y))
        source = "fitted to the plate" if self.fitted else \
            "the default sun" if self == PlateLight() else "given"
        return (f"light {source}: azimuth {azimuth:.0f}°, elevation {elevation:.0f}°, "
                f"ambient {self.ambient:.2f} of the sun")


def fit_to_plate(plate: np.ndarray, estimate) -> PlateLight:
    """The plate's light from a Relight estimate of it (normals and surface confidence)."""
    return PlateLight.from_neutral(fit_light(plate, estimate.normal, estimate.confidence))
