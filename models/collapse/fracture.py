"""Voronoi fracture of the building slab into convex fragments (scipy.spatial).

Seeds are scattered in the slab, denser near the collapse origin, and each seed's
Voronoi cell, bounded by mirroring the seeds across the slab's six faces, is a convex
polyhedron. Each fragment keeps its triangles (outward wound), which of them lie on the
slab's front face (those carry the plate; the rest show the inner material), its
centroid and volume. Neighbouring cells share a Voronoi face: those pairs are welded
until the failure front reaches the weld.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Building


@dataclass
class Fragment:
    centroid: np.ndarray       # rest position (world), the body's origin
    vertices: np.ndarray       # V×3, relative to the centroid
    triangles: np.ndarray      # T×3 vertex indices, wound outward
    front: np.ndarray          # T bools: the triangle lies on the slab's front face
    volume: float


@dataclass
class Fracture:
    fragments: list[Fragment]
    welds: np.ndarray          # W×2 fragment indices of neighbours
    weld_points: np.ndarray    # W×3 centre of the face they share


def scatter_seeds(building: Building, count: int, origin: np.ndarray, falloff: float,
                  rng: np.random.Generator, outline: np.ndarray | None = None) -> np.ndarray:
    """``count`` seeds in the slab (inside ``outline``'s planes when given); with
    ``falloff`` > 0 their density rises toward ``origin`` (so fragments are finer
    there), by rejection sampling."""
    low, size = building.low, building.size
    scale = 0.35 * float(np.linalg.norm(size[:2]))
    seeds = np.empty((0, 3))
    while len(seeds) < count:
        candidates = low + rng.random((4 * count, 3)) * size
        distance = np.linalg.norm(candidates - origin, axis=1)
        weight = (1.0 - falloff) + falloff * np.exp(-distance / scale)
        keep = rng.random(len(candidates)) < weight
        if outline is not None:
            keep &= np.all(candidates @ outline.T <= 0.0, axis=1)
        seeds = np.concatenate([seeds, candidates[keep]])[:count]
    return seeds


def _mirrored(seeds: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    copies = [seeds]
    for axis in range(3):
        for bound in (low[axis], high[axis]):
            mirror = seeds.copy()
            mirror[:, axis] = 2 * bound - mirror[:, axis]
            copies.append(mirror)
    return np.concatenate(copies)


def _hull_fragment(points: np.ndarray, front_z: float, tolerance: float) -> Fragment | None:
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(points)
    except (QhullError, ValueError):
        return None
    if hull.volume <= 0:
        return None
    vertices_used = np.unique(hull.simplices)
    remap = -np.ones(len(points), int)
    remap[vertices_used] = np.arange(len(vertices_used))
    verts = points[vertices_used]
    triangles = remap[hull.simplices]
    # the volume centroid (mean of tetrahedra from an inside point), not the vertex mean
    inside = verts.mean(axis=0)
    a, b, c = (verts[triangles[:, i]] for i in range(3))
    tet_volume = np.abs(np.einsum("ij,ij->i", np.cross(b - a, c - a), inside - a)) / 6.0
    centroid = ((a + b + c + inside) / 4.0 * tet_volume[:, None]).sum(0) / tet_volume.sum()
    # wind every triangle outward (qhull's simplices are unordered)
    normal = np.cross(b - a, c - a)
    inward = np.einsum("ij,ij->i", normal, (a + b + c) / 3.0 - centroid) < 0
    triangles[inward] = triangles[inward][:, ::-1]
    on_front = np.all(np.abs(verts[triangles][..., 2] - front_z) < tolerance, axis=1)
    return Fragment(centroid=centroid, vertices=verts - centroid, triangles=triangles.astype(np.int32),
                    front=on_front, volume=float(hull.volume))


def _cut(points: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """The corners of the convex polytope spanned by ``points`` cut by the planes through
    the origin (``n · p <= 0`` is kept): corners inside, and where edges cross a plane."""
    from scipy.spatial import ConvexHull, QhullError

    for normal in planes:
        side = points @ normal
        if (side <= 1e-9).all():
            continue
        if (side > -1e-9).all() or len(points) < 4:
            return np.zeros((0, 3))
        try:
            simplices = ConvexHull(points).simplices
        except (QhullError, ValueError):
            return np.zeros((0, 3))
        edges = np.unique(np.sort(np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]]),
                                  axis=1), axis=0)
        a, b = side[edges[:, 0]], side[edges[:, 1]]
        crossing = (a > 0) != (b > 0)
        t = (a[crossing] / (a[crossing] - b[crossing]))[:, None]
        cut = points[edges[crossing, 0]] + t * (points[edges[crossing, 1]] - points[edges[crossing, 0]])
        points = np.concatenate([points[side <= 0], cut])
    return points


def fracture(building: Building, count: int, origin: np.ndarray, falloff: float, seed: int,
             outline: np.ndarray | None = None) -> Fracture:
    """Voronoi cells of ``count`` seeds in the slab, cut by the planes of ``outline``
    (:func:`.geometry.outline_planes`) when given, so that no piece reaches past the
    building's silhouette (cells that fail to form are dropped with their welds)."""
    from scipy.spatial import Voronoi

    rng = np.random.default_rng([int(seed), 0xC011A95E])
    seeds = scatter_seeds(building, count, origin, falloff, rng, outline)
    diagram = Voronoi(_mirrored(seeds, building.low, building.high))
    tolerance = 1e-6 * float(np.linalg.norm(building.size))
    fragments, index_of = [], {}
    for i in range(count):
        region = diagram.regions[diagram.point_region[i]]
        if not region or -1 in region:
            continue
        points = np.clip(diagram.vertices[region], building.low, building.high)
        if outline is not None:
            points = _cut(points, outline)
            if len(points) < 4:
                continue
        fragment = _hull_fragment(points, building.front, tolerance * 100)
        if fragment is not None:
            index_of[i] = len(fragments)
            fragments.append(fragment)
    welds, weld_points = [], []
    for (i, j), ridge in zip(diagram.ridge_points, diagram.ridge_vertices):
        if i in index_of and j in index_of and -1 not in ridge:
            welds.append((index_of[i], index_of[j]))
            weld_points.append(np.clip(diagram.vertices[ridge], building.low, building.high).mean(axis=0))
    return Fracture(fragments, np.asarray(welds, np.int32).reshape(-1, 2), np.asarray(weld_points).reshape(-1, 3))
