"""Collapse Sim's simulation in Blender: the ``Collapse.sim.npz`` the backend writes
beside the layers, turned into keyframed objects.

The backend works in camera space: the camera at the origin looking down -Z, +X right,
+Y up, metres. Blender is Z-up, so every point becomes Blender's ``(x, -z, y)``
(:data:`CAMERA_TO_BLENDER`, a rotation of +90° about X): the camera looks down +Y with
+Z up, the ground is the plane z = ``ground``. A fragment's rotation R becomes
``M R Mᵀ`` and its position ``M p``, so its vertices land where the backend drew them.
"""

from __future__ import annotations

import math
import os

import bpy
import numpy as np
from mathutils import Matrix

from ..backend.generators.collapse import SIMULATION_FILE
from ..errors import BadInput

#: Camera space (x right, y up, -z forward) → Blender world (x right, y forward, z up).
CAMERA_TO_BLENDER = np.array(((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)))


def simulation_path(pattern: str) -> str:
    """``Collapse.sim.npz`` beside a result's layers (``pattern``: its '#' sequence)."""
    return os.path.join(os.path.dirname(bpy.path.abspath(pattern)), SIMULATION_FILE)


def read_simulation(pattern: str) -> dict:
    """The arrays of the simulation beside ``pattern`` (see genvfx.backend.generators.collapse.write_simulation)."""
    path = simulation_path(pattern)
    if not os.path.isfile(path):
        raise BadInput(f"There is no simulation beside the layers ({path})",
                       "Generate the Collapse Sim node again.")
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _fcurves(obj, data_path: str, frames: np.ndarray, values: np.ndarray, interpolation: str) -> None:
    """Keys ``values`` (F×C) on ``obj``'s ``data_path`` channels at ``frames``."""
    if obj.animation_data is None:
        obj.animation_data_create()
    if obj.animation_data.action is None:
        obj.animation_data.action = bpy.data.actions.new(f"{obj.name} Action")
    action = obj.animation_data.action
    for index in range(values.shape[1]):
        curve = action.fcurve_ensure_for_datablock(obj, data_path, index=index)
        curve.keyframe_points.add(len(frames))
        keys = np.stack([frames, values[:, index]], axis=1).astype(np.float32)
        curve.keyframe_points.foreach_set("co", keys.ravel())
        for point in curve.keyframe_points:
            point.interpolation = interpolation
        curve.update()


def _quaternions(rotations: np.ndarray) -> np.ndarray:
    """F×3×3 rotation matrices as F×4 quaternions (w, x, y, z), without sign flips between frames."""
    out = np.array([Matrix(matrix.tolist()).to_quaternion()[:] for matrix in rotations])
    for index in range(1, len(out)):
        if np.dot(out[index], out[index - 1]) < 0.0:
            out[index] = -out[index]
    return out


def _plate_uvs(points: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Where camera-space ``points`` fall on the plate, 0-1 (v up, as Blender's UVs)."""
    width, height, focal = camera
    depth = np.maximum(-points[:, 2], 1e-6)
    x = width / 2.0 + focal * points[:, 0] / depth
    y = height / 2.0 - focal * points[:, 1] / depth
    return np.stack([x / width, 1.0 - y / height], axis=1)


def _fragment_mesh(name: str, vertices: np.ndarray, triangles: np.ndarray, front: np.ndarray, rest_points: np.ndarray,
                   camera: np.ndarray):
    """A fragment's mesh (Blender axes, about its body origin) with a ``Plate`` UV map (the
    camera's projection at rest) and a boolean face attribute ``front`` (faces that carry the plate)."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata((vertices @ CAMERA_TO_BLENDER.T).tolist(), [], triangles.tolist())
    uv = mesh.uv_layers.new(name="Plate")
    corner_uvs = _plate_uvs(rest_points, camera)[triangles.ravel()]
    uv.data.foreach_set("uv", corner_uvs.astype(np.float32).ravel())
    attribute = mesh.attributes.new("front", "BOOLEAN", "FACE")
    attribute.data.foreach_set("value", front.astype(bool))
    mesh.update()
    return mesh


def import_simulation(simulation: dict, scene, name: str = "Collapse Simulation"):
    """A new collection in ``scene``: one keyframed mesh object per fragment (location,
    rotation, a ``genvfx_opacity`` property, hidden once it has turned to dust), a ground
    plane and the plate's camera. Returns the collection."""
    frames = simulation["frames"].astype(np.float64)
    positions, rotations, opacity = simulation["positions"], simulation["rotations"], simulation["opacity"]
    camera = simulation["camera"].astype(np.float64)
    start_index = int(np.argmin(np.abs(frames - int(simulation["start"]))))
    m = CAMERA_TO_BLENDER

    collection = bpy.data.collections.new(name)
    scene.collection.children.link(collection)
    pieces = bpy.data.collections.new(f"{collection.name} Fragments")
    collection.children.link(pieces)

    vertex_ends = np.cumsum(simulation["vertex_counts"])
    triangle_ends = np.cumsum(simulation["triangle_counts"])
    for index in range(len(vertex_ends)):
        v0, v1 = vertex_ends[index] - simulation["vertex_counts"][index], vertex_ends[index]
        t0, t1 = triangle_ends[index] - simulation["triangle_counts"][index], triangle_ends[index]
        local = simulation["vertices"][v0:v1].astype(np.float64)
        rest = local @ rotations[start_index, index].T + positions[start_index, index]
        mesh = _fragment_mesh(f"Fragment {index:04d}", local, simulation["triangles"][t0:t1], simulation["front"][t0:t1],
                              rest, camera)
        obj = bpy.data.objects.new(mesh.name, mesh)
        pieces.objects.link(obj)
        obj.rotation_mode = "QUATERNION"
        obj["genvfx_opacity"] = 1.0
        _fcurves(obj, "location", frames, positions[:, index] @ m.T, "LINEAR")
        world_rotations = np.einsum("ij,fjk,lk->fil", m, rotations[:, index].astype(np.float64), m)
        _fcurves(obj, "rotation_quaternion", frames, _quaternions(world_rotations), "LINEAR")
        _fcurves(obj, '["genvfx_opacity"]', frames, opacity[:, index, None], "LINEAR")
        gone = np.nonzero(opacity[:, index] <= 0.0)[0]
        if len(gone):  # pulverised: hidden from the frame it has wholly turned to dust
            hidden = (np.arange(len(frames)) >= gone[0]).astype(np.float64)[:, None]
            _fcurves(obj, "hide_viewport", frames, hidden, "CONSTANT")
            _fcurves(obj, "hide_render", frames, hidden, "CONSTANT")

    collection.objects.link(_ground(positions[start_index] @ m.T, float(simulation["ground"])))
    camera_object = _camera(simulation, camera)
    collection.objects.link(camera_object)
    if scene.camera is None:
        scene.camera = camera_object
    return collection


def _ground(rest_positions: np.ndarray, ground: float):
    """A plane at z = ``ground`` under the building, wide enough for the debris."""
    centre = rest_positions.mean(axis=0)
    extent = max(float(np.ptp(rest_positions[:, 0])), float(np.ptp(rest_positions[:, 2])), 1.0)
    half = max(3.0 * extent, 0.5 * float(centre[1]))
    corners = [(centre[0] + sx * half, centre[1] + sy * half, ground) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    mesh = bpy.data.meshes.new("Collapse Ground")
    mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
    mesh.update()
    return bpy.data.objects.new("Collapse Ground", mesh)


def _camera(simulation: dict, camera: np.ndarray):
    """The plate's camera: at the origin looking down +Y (camera space's -Z), +Z up, with
    the backend's lens on a sensor as wide as the plate."""
    data = bpy.data.cameras.new("Collapse Camera")
    data.lens = float(simulation["lens_mm"])
    data.sensor_width = float(simulation["sensor_mm"])
    data.sensor_fit = "HORIZONTAL"
    data.clip_end = max(1000.0, 4.0 * float(np.abs(simulation["positions"][..., 2]).max()))
    obj = bpy.data.objects.new("Collapse Camera", data)
    obj.rotation_euler = (math.pi / 2.0, 0.0, 0.0)
    obj["genvfx_plate_size"] = [int(camera[0]), int(camera[1])]
    return obj
