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
                  rng: np.random.Generator) -> np.ndarray:
    """``count`` seeds in the slab; with ``falloff`` > 0 their density rises toward
    ``origin`` (so fragments are finer there), by rejection sampling."""
    low, size = building.low, building.size
    scale = 0.35 * float(np.linalg.norm(size[:2]))
    seeds = np.empty((0, 3))
    while len(seeds) < count:
        candidates = low + rng.random((4 * count, 3)) * size
        distance = np.linalg.norm(candidates - origin, axis=1)
        weight = (1.0 - falloff) + falloff * np.exp(-distance / scale)
        keep = rng.random(len(candidates)) < weight
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


def fracture(building: Building, count: int, origin: np.ndarray, falloff: float, seed: int) -> Fracture:
    """Voronoi cells of ``count`` seeds in the slab (cells that fail to form are dropped
    with their welds; with distinct random seeds that does not happen in practice)."""
    from scipy.spatial import Voronoi

    rng = np.random.default_rng([int(seed), 0xC011A95E])
    seeds = scatter_seeds(building, count, origin, falloff, rng)
    diagram = Voronoi(_mirrored(seeds, building.low, building.high))
    tolerance = 1e-6 * float(np.linalg.norm(building.size))
    fragments, index_of = [], {}
    for i in range(count):
        region = diagram.regions[diagram.point_region[i]]
        if not region or -1 in region:
            continue
        points = np.clip(diagram.vertices[region], building.low, building.high)
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
