"""Ray-cast the fragments with NVIDIA Warp (``wp.Mesh`` + ``mesh_query_ray``, CPU or CUDA).

Each pixel is sampled ``supersample``² times. A ray walks through up to
:data:`MAX_LAYERS` surfaces front to back: each hit is carried back to the fragment's
rest pose and projected into the plate, whose pixel there is the surface's colour on the
front face (nearest texel, so that at rest every sample of a pixel reads that pixel and
the start frame gives the plate back exactly) and whose mask value is the surface's
coverage (so fragments are cut to the building's outline). Inner faces take a material
derived from the plate, grained like broken concrete (:data:`CONCRETE`). Surfaces are
shaded by the change of their normal from rest under one light: at rest the factor is
exactly 1. Behind a front face the ray leaves the same
fragment without drawing its back face: a front texel's coverage is the whole of that
fragment along the ray, so a soft mask edge shows plate × coverage and then what lies
behind the fragment.

The first solid hit gives Depth (distance along the view axis), Normal, FragmentID
(fragment index + 1) and the rest point, from which :func:`motion_vectors` derives
Blender's 4-channel Vector pass.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .geometry import Camera

MAX_LAYERS = 6
#: The broken concrete of inner faces: octaves of noise over the rest pose (feature size in
#: metres, share of the face's brightness), so a chunk's fracture shows grain and stains
#: that stay on it as it tumbles, instead of one flat colour.
CONCRETE = ((2.0, 0.55), (0.6, 0.35), (0.2, 0.2))
CONCRETE_FIELD = 0x5EED
MAX_BANDS = 16           # threads a CPU launch is cut into, at most (one a core)
NO_DEPTH = 1.0e10        # Depth where no fragment is, as Blender's background


@lru_cache(maxsize=1)
def _kernel():
    import warp as wp

    wp.config.quiet = True
    wp.init()

    @wp.func
    def concrete(point: wp.vec3, frequency: wp.vec3, share: wp.vec3) -> float:
        """The brightness of broken concrete at a rest-pose point (around 1): three octaves
        of noise, ``frequency`` per metre, each ``share`` of the brightness."""
        field = wp.uint32(CONCRETE_FIELD)
        grain = (share[0] * wp.noise(field, point * frequency[0]) + share[1] * wp.noise(field, point * frequency[1])
                 + share[2] * wp.noise(field, point * frequency[2]))
        return wp.max(1.0 + grain, 0.2)

    @wp.kernel
    def trace(mesh: wp.uint64, face_fragment: wp.array(dtype=wp.int32), face_front: wp.array(dtype=wp.int32),
              rotations: wp.array(dtype=wp.mat33), positions: wp.array(dtype=wp.vec3),
              rest_positions: wp.array(dtype=wp.vec3), inner: wp.array(dtype=wp.vec3),
              fade: wp.array(dtype=wp.float32),
              plate: wp.array2d(dtype=wp.vec3), mask: wp.array2d(dtype=wp.float32),
              focal: float, supersample: int, light: wp.vec3, ambient: float,
              concrete_frequency: wp.vec3, concrete_share: wp.vec3, first: int,
              colour_out: wp.array2d(dtype=wp.vec4), depth_out: wp.array2d(dtype=wp.float32),
              id_out: wp.array2d(dtype=wp.int32), rest_out: wp.array2d(dtype=wp.vec3),
              normal_out: wp.array2d(dtype=wp.vec3)):
        i, j = wp.tid()
        i = i + first           # the band of rows this launch traces starts at row ``first``
        height = mask.shape[0]
        width = mask.shape[1]
        x = (float(j) + 0.5) / float(supersample)
        y = (float(i) + 0.5) / float(supersample)
        direction = wp.vec3((x - float(width) * 0.5) / focal, -(y - float(height) * 0.5) / focal, -1.0)
        origin = wp.vec3(0.0, 0.0, 0.0)
        colour = wp.vec4(0.0, 0.0, 0.0, 0.0)
        depth = float(1.0e10)
        fragment_id = int(0)
        rest_point = wp.vec3(0.0, 0.0, 0.0)
        normal_first = wp.vec3(0.0, 0.0, 0.0)
        exiting = int(-1)      # a fragment whose front face the ray went through: skip its back face
        for layer in range(6):
            if colour[3] < 0.999:
                query = wp.mesh_query_ray(mesh, origin, direction, 1.0e7)
                if query.result:
                    hit = origin + query.t * direction
                    fragment = face_fragment[query.face]
                    if fragment == exiting:
                        exiting = -1
                        origin = hit + direction * (1.0e-4 * wp.max(query.t, 1.0))
                        continue
                    rotation = rotations[fragment]
                    rest = wp.transpose(rotation) * (hit - positions[fragment]) + rest_positions[fragment]
                    rest_depth = wp.max(-rest[2], 1.0e-6)
                    column = int(wp.floor(float(width) * 0.5 + focal * rest[0] / rest_depth))
                    row = int(wp.floor(float(height) * 0.5 - focal * rest[1] / rest_depth))
                    column = wp.clamp(column, 0, width - 1)
                    row = wp.clamp(row, 0, height - 1)
                    coverage = mask[row, column] * fade[fragment]
                    if coverage > 0.0:
                        normal = query.normal
                        rest_normal = wp.transpose(rotation) * normal
                        lit = ambient + wp.max(wp.dot(normal, light), 0.0)
                        grain = concrete(rest, concrete_frequency, concrete_share)
                        surface = inner[fragment] * (grain * lit / (ambient + wp.max(light[2], 0.0)))
                        if face_front[query.face] == 1:
                            surface = plate[row, column] * (lit / (ambient + wp.max(wp.dot(rest_normal, light), 0.0)))
                            exiting = fragment
                        weight = (1.0 - colour[3]) * coverage
                        colour = colour + wp.vec4(surface[0] * weight, surface[1] * weight, surface[2] * weight, weight)
                        if fragment_id == 0 and coverage >= 0.5:
                            depth = -hit[2]
                            fragment_id = fragment + 1
                            rest_point = rest
                            normal_first = normal
                    origin = hit + direction * (1.0e-4 * wp.max(query.t, 1.0))
        colour_out[i, j] = colour
        depth_out[i, j] = depth
        id_out[i, j] = fragment_id
        rest_out[i, j] = rest_point
        normal_out[i, j] = normal_first

    return wp, trace


def launch_in_bands(wp, kernel, dim: tuple[int, ...], inputs: list, outputs: list, device: str) -> None:
    """Launch ``kernel`` over ``dim``, whose last input is the first index of the launch
    along the first axis. Warp runs a CPU launch on one thread (and lets go of the GIL
    while it runs), so on the CPU the first axis is cut into one band a core, launched
    from as many threads; on a GPU it is one launch."""
    bands = 1 if not str(device).startswith("cpu") else max(1, min(len(os.sched_getaffinity(0)), MAX_BANDS, dim[0]))
    edges = np.linspace(0, dim[0], bands + 1).astype(int)

    def band(index: int) -> None:
        first, last = int(edges[index]), int(edges[index + 1])
        wp.launch(kernel, dim=(last - first, *dim[1:]), inputs=[*inputs, first], outputs=outputs, device=device)

    if bands == 1:
        band(0)
        return
    with ThreadPoolExecutor(bands) as pool:
        list(pool.map(band, range(bands)))


@lru_cache(maxsize=1)
def _shadow_kernel():
    wp, _ = _kernel()

    @wp.kernel
    def occlude(mesh: wp.uint64, face_fragment: wp.array(dtype=wp.int32), fade: wp.array(dtype=wp.float32),
                points: wp.array(dtype=wp.vec3), own: wp.array(dtype=wp.int32), light: wp.vec3,
                reach: float, first: int, out: wp.array(dtype=wp.float32)):
        i = wp.tid() + first
        origin = points[i]
        shade = float(0.0)
        for hop in range(4):
            if shade == 0.0:
                query = wp.mesh_query_ray(mesh, origin, light, reach)
                if query.result:
                    fragment = face_fragment[query.face]
                    if fragment != own[i] and fade[fragment] >= 0.5:
                        shade = 1.0
                    origin = origin + light * (query.t + 1.0e-3 * reach)
        out[i] = shade

    return wp, occlude


def shadowed(scene: Scene, positions: np.ndarray, rotations: np.ndarray, opacity: np.ndarray, points: np.ndarray,
             own: np.ndarray, reach: float, device: str = "cpu") -> np.ndarray:
    """1 where a ray from each of ``points`` (N×3) toward the scene's light meets a
    fragment (other than the point's ``own`` fragment index, -1 for none, and not one
    mostly faded) within ``reach`` metres, else 0."""
    wp, occlude = _shadow_kernel()
    if len(points) == 0:
        return np.zeros(0, np.float32)
    world = np.einsum("vij,vj->vi", rotations[scene.vertex_fragment], scene.vertices) + positions[scene.vertex_fragment]
    light = scene.light / np.linalg.norm(scene.light)
    with wp.ScopedDevice(device):
        mesh = wp.Mesh(points=wp.array(world.astype(np.float32), dtype=wp.vec3),
                       indices=wp.array(scene.triangles.ravel(), dtype=wp.int32))
        out = wp.zeros(len(points), dtype=wp.float32)
        start = points + light * (1.0e-4 * reach)
        inputs = [mesh.id, wp.array(scene.face_fragment, dtype=wp.int32),
                  wp.array(opacity.astype(np.float32), dtype=wp.float32), wp.array(start.astype(np.float32), dtype=wp.vec3),
                  wp.array(own.astype(np.int32), dtype=wp.int32), wp.vec3(*light.tolist()), float(reach)]
        launch_in_bands(wp, occlude, (len(points),), inputs, [out], device)
        return out.numpy()


@dataclass
class Scene:
    """What stays the same over a shot: the fragments' meshes and the plate they carry."""

    vertices: np.ndarray       # V×3 (rest, relative to each fragment's body origin)
    triangles: np.ndarray      # T×3 into vertices
    vertex_fragment: np.ndarray  # V fragment index
    face_fragment: np.ndarray  # T
    face_front: np.ndarray     # T (1 = carries the plate)
    inner: np.ndarray          # N×3 inner material colour per fragment
    plate: np.ndarray          # H×W×3 (the plate at the start frame)
    mask: np.ndarray           # H×W coverage of the building
    rest_positions: np.ndarray  # N×3 body origins at rest
    light: np.ndarray          # 3, toward the light (camera space)
    ambient: float


def build_scene(fragments, plate: np.ndarray, mask: np.ndarray, rest_positions: np.ndarray,
                inner: np.ndarray, light: np.ndarray, ambient: float) -> Scene:
    vertices, triangles, vertex_fragment, face_fragment, face_front = [], [], [], [], []
    offset = 0
    for index, fragment in enumerate(fragments):
        vertices.append(fragment.vertices)
        triangles.append(fragment.triangles + offset)
        vertex_fragment.append(np.full(len(fragment.vertices), index))
        face_fragment.append(np.full(len(fragment.triangles), index))
        face_front.append(fragment.front.astype(np.int32))
        offset += len(fragment.vertices)
    return Scene(np.concatenate(vertices), np.concatenate(triangles).astype(np.int32),
                 np.concatenate(vertex_fragment), np.concatenate(face_fragment).astype(np.int32),
                 np.concatenate(face_front).astype(np.int32), inner.astype(np.float32),
                 np.ascontiguousarray(plate[..., :3], np.float32), np.ascontiguousarray(mask, np.float32),
                 rest_positions, light.astype(np.float32), float(ambient))


@dataclass
class FragmentRender:
    colour: np.ndarray        # H×W×4 premultiplied
    depth: np.ndarray         # H×W
    normal: np.ndarray        # H×W×3
    fragment_id: np.ndarray   # H×W (0 = none)
    rest_points: np.ndarray   # (H·s)×(W·s)×3 per sample, for the vectors
    sample_ids: np.ndarray    # (H·s)×(W·s) per sample


def _pixel_mean(samples: np.ndarray, supersample: int) -> np.ndarray:
    """Each pixel's mean over its supersample² samples (H·s×W·s[×C] → H×W[×C], C ≤ 4);
    OpenCV's area resize at an integer factor is exactly that box mean."""
    import cv2

    height, width = samples.shape[0] // supersample, samples.shape[1] // supersample
    return cv2.resize(np.ascontiguousarray(samples, np.float32), (width, height), interpolation=cv2.INTER_AREA)


def render_fragments(scene: Scene, camera: Camera, positions: np.ndarray, rotations: np.ndarray,
                     opacity: np.ndarray, supersample: int = 2, device: str = "cpu") -> FragmentRender:
    """The fragments at one pose (body origins, rotations, and each one's opacity)."""
    wp, trace = _kernel()
    world = np.einsum("vij,vj->vi", rotations[scene.vertex_fragment], scene.vertices) + positions[scene.vertex_fragment]
    with wp.ScopedDevice(device):
        mesh = wp.Mesh(points=wp.array(world.astype(np.float32), dtype=wp.vec3),
                       indices=wp.array(scene.triangles.ravel(), dtype=wp.int32))
        shape = (camera.height * supersample, camera.width * supersample)
        colour = wp.zeros(shape, dtype=wp.vec4)
        depth = wp.zeros(shape, dtype=wp.float32)
        ids = wp.zeros(shape, dtype=wp.int32)
        rest = wp.zeros(shape, dtype=wp.vec3)
        normal = wp.zeros(shape, dtype=wp.vec3)
        launch_in_bands(wp, trace, shape, [
            mesh.id, wp.array(scene.face_fragment, dtype=wp.int32), wp.array(scene.face_front, dtype=wp.int32),
            wp.array(rotations.astype(np.float32), dtype=wp.mat33), wp.array(positions.astype(np.float32), dtype=wp.vec3),
            wp.array(scene.rest_positions.astype(np.float32), dtype=wp.vec3), wp.array(scene.inner, dtype=wp.vec3),
            wp.array(opacity.astype(np.float32), dtype=wp.float32),
            wp.array(scene.plate, dtype=wp.vec3), wp.array(scene.mask, dtype=wp.float32),
            float(camera.focal), int(supersample), wp.vec3(*scene.light.tolist()), float(scene.ambient),
            wp.vec3(*(1.0 / size for size, _ in CONCRETE)), wp.vec3(*(share for _, share in CONCRETE)),
        ], [colour, depth, ids, rest, normal], device)
        colour, depth, ids, rest, normal = (array.numpy() for array in (colour, depth, ids, rest, normal))
    hit = ids > 0
    coverage = _pixel_mean(hit.astype(np.float32), supersample)
    depth_pixels = np.where(coverage > 0, _pixel_mean(np.where(hit, depth, 0.0), supersample) / np.maximum(coverage, 1e-6),
                            NO_DEPTH)
    normal_pixels = _pixel_mean(normal, supersample)
    length = np.linalg.norm(normal_pixels, axis=-1, keepdims=True)
    normal_pixels = np.where(length > 1e-6, normal_pixels / np.maximum(length, 1e-6), 0.0)
    first = ids[supersample // 2::supersample, supersample // 2::supersample]
    return FragmentRender(colour=_pixel_mean(colour, supersample).astype(np.float32),
                          depth=depth_pixels.astype(np.float32), normal=normal_pixels.astype(np.float32),
                          fragment_id=first.astype(np.float32), rest_points=rest, sample_ids=ids)


def motion_vectors(render: FragmentRender, camera: Camera, rest_positions: np.ndarray,
                   previous: tuple[np.ndarray, np.ndarray], current: tuple[np.ndarray, np.ndarray],
                   following: tuple[np.ndarray, np.ndarray], supersample: int) -> np.ndarray:
    """Blender's Vector pass: (X, Y) = motion from the previous frame to this one,
    (Z, W) = from this one to the next, in pixels with +Y up; 0 where no fragment is.
    Like Blender's, one value a pixel: the motion of the surface its middle sample sees
    (the one FragmentID names)."""
    middle = slice(supersample // 2, None, supersample)
    ids = render.sample_ids[middle, middle]
    hit = ids > 0
    fragment = np.maximum(ids - 1, 0)[hit]
    local = render.rest_points[middle, middle][hit] - rest_positions[fragment]

    def screen(pose):
        positions, rotations = pose
        world = np.einsum("nij,nj->ni", rotations[fragment], local) + positions[fragment]
        xy, _ = camera.project(world)
        return xy * np.array([1.0, -1.0])              # +Y up, as Blender's pixel space

    before, now, after = screen(previous), screen(current), screen(following)
    vectors = np.zeros(ids.shape + (4,), np.float32)
    vectors[hit] = np.concatenate([now - before, after - now], axis=1)
    return vectors
