"""The light model Relight uses, in the backend and in the node's compositor group alike.

One directional light with wrap plus an ambient term, lighting surfaces by their
camera-space normal ``n``::

    lambert(n) = max(0, (n · d + wrap) / (1 + wrap))
    shading(n) = ambient + intensity · colour · lambert(n)

``d`` is the unit direction *toward* the light in camera space (+X right, +Y up, +Z
toward the camera). The backend fits this model to the plate (:func:`fit_light`), the
**neutral light**, and writes ``Shading`` with it; the node's group evaluates the same
formula with the light the artist drags, so the neutral light gives the plate back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from ...errors import BadInput
from .estimate import SURFACE

REC709_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class Light:
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    ambient: float = 0.2
    wrap: float = 0.25

    def __post_init__(self):
        d = np.asarray(self.direction, dtype=np.float64)
        length = float(np.linalg.norm(d))
        if not np.isfinite(d).all() or length < 1e-6:
            raise BadInput(f"The light direction {tuple(self.direction)} has no direction",
                           "Give three numbers that are not all zero, e.g. --light-dir 0.5,0.7,0.5.")
        object.__setattr__(self, "direction", tuple(float(v) for v in d / length))
        if len(self.colour) != 3 or min(self.colour) < 0 or not np.isfinite(self.colour).all():
            raise BadInput(f"The light colour {tuple(self.colour)} is not an RGB colour",
                           "Give three numbers of 0 or more, e.g. --light-color 1,0.9,0.8.")
        for name in ("intensity", "ambient"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise BadInput(f"The light's {name} must be 0 or more, got {value}", "")
        if not 0.0 <= self.wrap <= 1.0:
            raise BadInput(f"The light's wrap must lie in 0-1, got {self.wrap}", "")

    @property
    def azimuth_elevation(self) -> tuple[float, float]:
        """Degrees: azimuth around the view axis from +Z toward +X, elevation toward +Y."""
        x, y, z = self.direction
        return math.degrees(math.atan2(x, z)), math.degrees(math.asin(max(-1.0, min(1.0, y))))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Light":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def with_(self, **changes) -> "Light":
        return replace(self, **changes)


def direction_from_angles(azimuth: float, elevation: float) -> tuple[float, float, float]:
    """The unit direction for azimuth/elevation in degrees (see Light.azimuth_elevation)."""
    a, e = math.radians(azimuth), math.radians(elevation)
    return (math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a))


def lambert(normal: np.ndarray, light: Light) -> np.ndarray:
    """H×W wrapped cosine of the normals (zero normals, e.g. the sky, get the wrap term)."""
    d = np.asarray(light.direction, dtype=np.float32)
    cosine = normal.astype(np.float32) @ d
    return np.maximum((cosine + np.float32(light.wrap)) / np.float32(1.0 + light.wrap), np.float32(0.0))


def shading(normal: np.ndarray, light: Light) -> np.ndarray:
    """H×W×3 shading of the normals under ``light``."""
    lit = lambert(normal, light)[..., None] * (np.float32(light.intensity) * np.asarray(light.colour, np.float32))
    return np.float32(light.ambient) + lit


def _sphere(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over the sphere (a Fibonacci lattice)."""
    i = np.arange(count, dtype=np.float64) + 0.5
    y = 1.0 - 2.0 * i / count
    r = np.sqrt(np.maximum(0.0, 1.0 - y * y))
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.stack([r * np.sin(phi), y, r * np.cos(phi)], axis=1)


def _best_direction(n: np.ndarray, y: np.ndarray, candidates: np.ndarray, wrap: float):
    """The candidate direction whose wrapped cosine best explains ``y`` linearly
    (``y ≈ a + b · lambert``, b > 0), with its a and b."""
    x = np.maximum((n @ candidates.T + wrap) / (1.0 + wrap), 0.0)          # pixels × candidates
    xm, ym = x.mean(axis=0), y.mean()
    cov = ((x - xm) * (y - ym)[:, None]).mean(axis=0)
    var = np.maximum(((x - xm) ** 2).mean(axis=0), 1e-12)
    score = np.where(cov > 0, cov * cov / var, -np.inf)
    best = int(np.argmax(score))
    slope = cov[best] / var[best] if np.isfinite(score[best]) else 0.0
    return candidates[best], float(ym - slope * xm[best]), float(slope)


def _directions_around(direction, offsets: np.ndarray) -> np.ndarray:
    """Unit directions on a grid of azimuth and elevation ``offsets`` (degrees) round
    ``direction``."""
    azimuth = np.degrees(np.arctan2(direction[0], direction[2]))
    elevation = np.degrees(np.arcsin(np.clip(direction[1], -1.0, 1.0)))
    grid_a, grid_e = np.meshgrid(azimuth + offsets, np.clip(elevation + offsets, -90.0, 90.0))
    return np.array([direction_from_angles(a, e) for a, e in zip(grid_a.ravel(), grid_e.ravel())])


#: Pixel offsets whose pairs compare shading: near enough to share a material, far
#: enough apart that their normals differ across an edge or a curved surface.
PAIR_OFFSETS = ((0, 2), (2, 0), (0, 5), (5, 0), (3, 3), (3, -3))
#: Ratios of the directional light to the ambient tried by the fit.
RATIOS = np.geomspace(0.25, 16.0, 9)
#: Where the light is taken to be when the plate cannot tell (one flat surface): above,
#: a little to the right, in front.
DEFAULT_DIRECTION = np.array([0.3, 0.8, 0.52])
#: The long side the fit works at (it needs pairs of pixels, not detail).
FIT_SIZE = 384


def _neighbour_pairs(rgb: np.ndarray, luminance: np.ndarray, normal: np.ndarray, valid: np.ndarray,
                     limit: int = 5000):
    """Pairs of nearby surface pixels of the same chromaticity (so, mostly, the same
    material) whose normals differ: their normals and the difference of their log
    luminances, in which the albedo cancels."""
    chromaticity = rgb / np.maximum(rgb.sum(-1, keepdims=True), 1e-6)
    log_y = np.log(np.maximum(luminance, 1e-8))
    ceiling = np.percentile(luminance[valid], 99.5)       # clipped highlights say nothing
    unclipped = valid & (luminance < ceiling)
    h, w = luminance.shape
    first, second, difference = [], [], []
    for dy, dx in PAIR_OFFSETS:
        a = (slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx)))
        b = (slice(a[0].start + dy, a[0].stop + dy), slice(a[1].start + dx, a[1].stop + dx))
        keep = (unclipped[a] & unclipped[b]
                & (np.abs(chromaticity[a] - chromaticity[b]).sum(-1) < 0.04)
                & ((normal[a] * normal[b]).sum(-1) < np.cos(np.radians(2.0))))
        first.append(normal[a][keep])
        second.append(normal[b][keep])
        difference.append(log_y[a][keep] - log_y[b][keep])
    first, second, difference = np.concatenate(first), np.concatenate(second), np.concatenate(difference)
    if len(difference) > limit:
        pick = np.linspace(0, len(difference) - 1, limit).astype(np.int64)
        first, second, difference = first[pick], second[pick], difference[pick]
    return first, second, difference


def _pair_costs(first, second, difference, directions, ratios, wrap, delta=0.15):
    """Ratios × directions: the truncated squared error of the pairs' log-luminance
    differences against those the light predicts (cast shadows and material edges are
    the outliers the truncation ignores)."""
    lit_first = np.maximum((first @ directions.T + wrap) / (1.0 + wrap), 0.0)
    lit_second = np.maximum((second @ directions.T + wrap) / (1.0 + wrap), 0.0)
    costs = np.empty((len(ratios), len(directions)), np.float32)
    for k, ratio in enumerate(ratios):
        residual = difference[:, None] - (np.log1p(ratio * lit_first) - np.log1p(ratio * lit_second))
        costs[k] = np.minimum(residual * residual, delta * delta).mean(axis=0)
    return costs


def _at_fit_size(image, normal, weight):
    import cv2

    height, width = image.shape[:2]
    scale = FIT_SIZE / max(height, width)
    rgb = np.maximum(np.nan_to_num(image[..., :3].astype(np.float32)), 0.0)
    normal = np.nan_to_num(normal.astype(np.float32))
    weight = weight.astype(np.float32)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        normal = cv2.resize(normal, size, interpolation=cv2.INTER_AREA)
        length = np.linalg.norm(normal, axis=-1, keepdims=True)
        normal = np.where(length > 0.5, normal / np.maximum(length, 1e-6), 0.0).astype(np.float32)
        weight = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    return rgb, normal, weight


def _scaled_to_albedo(light: Light, luminance: np.ndarray, normal: np.ndarray) -> Light:
    """The light scaled so that albedo = plate / shading stays mostly under 1 (the 95th
    percentile of the surface albedo's luminance at 0.9)."""
    albedo = luminance / np.maximum(shading(normal, light) @ REC709_LUMA, 1e-12)
    scale = float(np.percentile(albedo, 95)) / 0.9 if albedo.size else 1.0
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    return light.with_(ambient=light.ambient * scale, intensity=light.intensity * scale)


def fit_light(image: np.ndarray, normal: np.ndarray, weight: np.ndarray, wrap: float = 0.25) -> Light:
    """The neutral light: the directional + ambient light that best explains how the
    plate's shading changes with its normals.

    Shading is read from pairs of nearby pixels of the same chromaticity whose normals
    differ (across an edge, over a curved surface): the ratio of their luminances is
    the ratio of their shadings, whatever the albedo. Every direction of a 700-point
    sphere and nine ratios of directional to ambient light (0.25-16) are tried, then
    directions within 6 degrees of the best and ratios within 1.4× of it; the error is
    truncated, so cast shadows and material edges do not pull the fit. When the plate
    gives too few such pairs (one flat surface), the fit falls back to the directional +
    ambient light that best explains the luminance itself with a constant albedo
    (:func:`_fit_by_correlation`). The result is scaled so that albedo = plate / shading
    stays mostly under 1. Deterministic; works at a long side of at most 384 pixels."""
    rgb, normal_small, weight_small = _at_fit_size(image, normal, weight)
    luminance = rgb @ REC709_LUMA
    valid = (weight_small > SURFACE) & (np.abs(normal_small).sum(-1) > 0.5) & (luminance > 0)
    if valid.sum() < 64:
        return _fit_by_correlation(image, normal, weight, wrap)
    first, second, difference = _neighbour_pairs(rgb, luminance, normal_small, valid)
    if len(difference) < 200:
        return _fit_by_correlation(image, normal, weight, wrap)
    directions = _sphere(700).astype(np.float32)
    costs = _pair_costs(first, second, difference, directions, RATIOS, wrap)
    costs += 1e-4 * (1.0 - directions @ DEFAULT_DIRECTION.astype(np.float32))[None]   # ties: the default
    k, j = np.unravel_index(int(np.argmin(costs)), costs.shape)
    local = _directions_around(directions[j], np.arange(-6.0, 6.5, 1.5)).astype(np.float32)
    ratios = RATIOS[k] * np.geomspace(0.7, 1.4, 7)
    costs = _pair_costs(first, second, difference, local, ratios, wrap)
    k, j = np.unravel_index(int(np.argmin(costs)), costs.shape)
    light = Light(direction=tuple(float(v) for v in local[j]), wrap=wrap, ambient=1.0, intensity=float(ratios[k]))
    return _scaled_to_albedo(light, luminance[valid], normal_small[valid])


def _fit_by_correlation(image: np.ndarray, normal: np.ndarray, weight: np.ndarray, wrap: float = 0.25) -> Light:
    """The directional + ambient light that best explains the plate's luminance from
    its normals, with a constant albedo.

    Every direction of a 2000-point sphere is tried (ambient and intensity solved in
    closed form for each), then the directions of a 200000-point sphere within 6 degrees
    of the best (about 550); ambient and intensity are kept at zero or more.
    Deterministic: a fixed subsample of at most 8000 surface pixels."""
    rgb = np.maximum(np.nan_to_num(image[..., :3].astype(np.float32)), 0.0)
    luminance = rgb @ REC709_LUMA
    w = (weight > SURFACE) & (np.abs(normal).sum(-1) > 0.5) & (luminance > 0)
    if w.sum() < 16:
        return Light(wrap=wrap, ambient=max(float(np.median(luminance)) / 0.5, 1e-3), intensity=0.0)
    n, y = normal[w].astype(np.float64), luminance[w].astype(np.float64)
    if len(n) > 8000:
        pick = np.linspace(0, len(n) - 1, 8000).astype(np.int64)
        n, y = n[pick], y[pick]
    y = np.minimum(y, np.percentile(y, 99))    # windows, glints: heavy tails the fit should not chase
    direction, ambient, intensity = _best_direction(n, y, _sphere(2000), wrap)
    local = _directions_around(direction, np.arange(-5.0, 5.25, 0.5))
    direction, ambient, intensity = _best_direction(n, y, np.vstack([direction[None], local]), wrap)
    if intensity <= 0:
        ambient, intensity = float(y.mean()), 0.0
    elif ambient < 0:
        cosine = np.maximum((n @ direction + wrap) / (1.0 + wrap), 0.0)
        ambient, intensity = 0.0, float((y * cosine).sum() / max((cosine ** 2).sum(), 1e-12))
    light = Light(direction=tuple(direction), wrap=wrap, ambient=float(max(ambient, 1e-6)), intensity=float(intensity))
    return _scaled_to_albedo(light, luminance[w], normal[w])
