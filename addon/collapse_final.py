"""Collapse Sim's final frames, rendered by Cycles from ``Collapse.sim.npz``.

The simulation's fragments become keyframed objects (:mod:`.collapse_simulation`) that
carry the start frame's plate on their front faces (projected as at rest, cut to the
mask) and their inner colour elsewhere; the debris becomes one mesh of small chunks a
frame (with a ``velocity`` attribute, so Cycles blurs it); the dust grid becomes a
volume (Geometry Nodes' Volume Cube sampling the grid's densities, broken up by two
octaves of noise carried by the wind) lit by the sun and the sky, self-shadowing and
shadowing the rest; the ground is a shadow catcher. A sky and a sun as bright as the
plate's average light light it all; the plate's colours are scaled once per shot (an
albedo gain) so that the fragments at rest give the plate back.

Three view layers are rendered into one multilayer EXR a frame:

- ``Solid``: fragments, debris and the shadows on the ground (alpha), motion-blurred,
  with the dust present only to shade them (indirect only);
- ``Dust``: the dust, with the solids as holdouts where they are opaque, motion-blurred;
- ``Motion``: one sample without motion blur, for Depth, Vector, Normal and the
  fragments' Object Index (FragmentID) and Cryptomatte.

Runs in any Blender (the ``bpy`` module or Blender's binary):
``python -m genvfx.addon.collapse_final JOB.json``, or
``blender -b --factory-startup --python-expr ...`` (see
:mod:`genvfx.backend.process.blender`). The job file names the simulation, the plate
and mask of the start frame, the frames, the output pattern, samples and motion blur.
Each frame written is announced on stdout as ``genvfx-final {"frame": N, "path": P, "seconds": S}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import bpy
import numpy as np
from mathutils import Vector

from ..backend.generators.collapse import FINAL_ANNOUNCE
from ..models.collapse.render import CONCRETE
from .collapse_simulation import CAMERA_TO_BLENDER, import_simulation
from .group_nodes import math_node, socket_by_id

SOLID, DUST, MOTION = "Solid", "Dust", "Motion"
CALIBRATION_SAMPLES = 8
GAIN = "Plate Gain"
HOLDOUT = "genvfx_holdout"  # a view layer property: 1 where the solids are holdouts
SUN, SKY = 1.0, 0.5         # the sun's irradiance / π and the sky's radiance, in the plate's average light
DUST_LIGHT = 3.0            # the light on the dust over the light on the rest (see build_scene)
ALBEDO = 0.95               # the dust's scattering albedo (its tint's brightest channel)
CHUNK = 0.8                 # a debris chunk's half-size over its radius (an irregular octahedron)
DETAIL = ((1.6, 0.6), (0.55, 0.4))    # noise octaves: texel size in grid cells, weight (as the preview's)
NOISE_TEXELS = 3.0          # the preview's noise texels in one unit of Blender's Noise Texture (feature size)


def _node(tree, kind: str, **settings):
    node = tree.nodes.new(kind)
    for name, value in settings.items():
        setattr(node, name, value)
    return node


def _math(tree, operation: str, a, b=None, c=None):
    return math_node(tree, operation, a, b, f"Math {len(tree.nodes)}", (0, 0), c=c)


def _image(path: str, colourspace: str):
    image = bpy.data.images.load(path, check_existing=False)
    image.colorspace_settings.name = colourspace
    return image


def _gained(tree, colour):
    """``colour`` (taken from the plate) × the shot's albedo gain (a Value node named
    :data:`GAIN`, set by :func:`calibrate`)."""
    gain = _node(tree, "ShaderNodeValue", name=GAIN)
    gain.outputs["Value"].default_value = 1.0
    scaled = _node(tree, "ShaderNodeVectorMath", operation="SCALE")
    tree.links.new(colour, socket_by_id(scaled.inputs, "Vector"))
    tree.links.new(gain.outputs["Value"], scaled.inputs["Scale"])
    return scaled.outputs["Vector"]


def _concrete(tree, colour):
    """``colour`` (an inner face's) grained like broken concrete: the preview's octaves
    (:data:`genvfx.models.collapse.render.CONCRETE`) of Blender's noise over the
    fragment's own coordinates, so the grain stays on the chunk as it tumbles."""
    coordinates = _node(tree, "ShaderNodeTexCoord")
    grain = 1.0
    for size, share in CONCRETE:
        noise = _node(tree, "ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 1.0 / size
        noise.inputs["Detail"].default_value = 0.0
        tree.links.new(coordinates.outputs["Object"], noise.inputs["Vector"])
        grain = _math(tree, "MULTIPLY_ADD", _math(tree, "SUBTRACT", noise.outputs["Fac"], 0.5), 2.0 * share, grain)
    scaled = _node(tree, "ShaderNodeVectorMath", operation="SCALE")
    tree.links.new(colour, socket_by_id(scaled.inputs, "Vector"))
    tree.links.new(_math(tree, "MAXIMUM", grain, 0.2), scaled.inputs["Scale"])
    return scaled.outputs["Vector"]


def _held_out(tree, shader):
    """``shader``, or a holdout in a view layer whose ``HOLDOUT`` property is 1 (the
    Dust layer: the solids cut the dust behind them out, but only where they are
    opaque, which a collection's holdout would not respect)."""
    flag = _node(tree, "ShaderNodeAttribute", attribute_name=HOLDOUT, attribute_type="VIEW_LAYER")
    holdout = _node(tree, "ShaderNodeHoldout")
    mix = _node(tree, "ShaderNodeMixShader")
    tree.links.new(flag.outputs["Fac"], mix.inputs["Fac"])
    tree.links.new(shader, socket_by_id(mix.inputs, "Shader"))
    tree.links.new(holdout.outputs["Holdout"], socket_by_id(mix.inputs, "Shader_001"))
    return mix.outputs["Shader"]


def fragment_material(plate_path: str, mask_path: str):
    """The fragments' material: the plate on front faces (its mask's coverage as alpha,
    faded by ``genvfx_opacity``), the object's colour (its inner colour) elsewhere."""
    material = bpy.data.materials.new("Collapse Fragment")
    material.use_nodes = True
    tree = material.node_tree
    tree.nodes.clear()
    uv = _node(tree, "ShaderNodeUVMap", uv_map="Plate")
    plate = _node(tree, "ShaderNodeTexImage", image=_image(plate_path, "Linear Rec.709"), interpolation="Closest",
                  extension="EXTEND")
    mask = _node(tree, "ShaderNodeTexImage", image=_image(mask_path, "Non-Color"), interpolation="Closest",
                 extension="EXTEND")
    tree.links.new(uv.outputs["UV"], plate.inputs["Vector"])
    tree.links.new(uv.outputs["UV"], mask.inputs["Vector"])
    front = _node(tree, "ShaderNodeAttribute", attribute_name="front", attribute_type="GEOMETRY")
    info = _node(tree, "ShaderNodeObjectInfo")
    opacity = _node(tree, "ShaderNodeAttribute", attribute_name="genvfx_opacity", attribute_type="OBJECT")
    colour = _node(tree, "ShaderNodeMix", data_type="RGBA")
    tree.links.new(front.outputs["Fac"], socket_by_id(colour.inputs, "Factor_Float"))
    tree.links.new(_concrete(tree, info.outputs["Color"]), socket_by_id(colour.inputs, "A_Color"))
    tree.links.new(plate.outputs["Color"], socket_by_id(colour.inputs, "B_Color"))
    # coverage: the mask on front faces, whole elsewhere; times the fragment's opacity
    coverage = _math(tree, "MULTIPLY", _math(tree, "ADD", _math(tree, "MULTIPLY", front.outputs["Fac"],
                                                                   _math(tree, "SUBTRACT", mask.outputs["Color"], 1.0)),
                                             1.0), opacity.outputs["Fac"])
    diffuse = _node(tree, "ShaderNodeBsdfDiffuse")
    tree.links.new(_gained(tree, socket_by_id(colour.outputs, "Result_Color")), diffuse.inputs["Color"])
    transparent = _node(tree, "ShaderNodeBsdfTransparent")
    mix = _node(tree, "ShaderNodeMixShader")
    tree.links.new(coverage, mix.inputs["Fac"])
    tree.links.new(transparent.outputs["BSDF"], socket_by_id(mix.inputs, "Shader"))
    tree.links.new(_held_out(tree, diffuse.outputs["BSDF"]), socket_by_id(mix.inputs, "Shader_001"))
    output = _node(tree, "ShaderNodeOutputMaterial")
    tree.links.new(mix.outputs["Shader"], output.inputs["Surface"])
    return material


def debris_material():
    material = bpy.data.materials.new("Collapse Debris")
    material.use_nodes = True
    tree = material.node_tree
    tree.nodes.clear()
    colour = _node(tree, "ShaderNodeAttribute", attribute_name="colour", attribute_type="GEOMETRY")
    diffuse = _node(tree, "ShaderNodeBsdfDiffuse")
    tree.links.new(_gained(tree, colour.outputs["Color"]), diffuse.inputs["Color"])
    output = _node(tree, "ShaderNodeOutputMaterial")
    tree.links.new(_held_out(tree, diffuse.outputs["BSDF"]), output.inputs["Surface"])
    return material


def _chunk_shape(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` irregular octahedra (6 vertices, 8 triangles each) about the origin,
    unit radius, each with its own random stretch and orientation (seeded)."""
    rng = np.random.default_rng(0xDEB2)
    base = np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], np.float64)
    faces = np.array([(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)])
    stretch = rng.uniform(0.55, 1.0, (count, 6, 1)) * CHUNK
    q, _ = np.linalg.qr(rng.normal(size=(count, 3, 3)))
    return np.einsum("pij,pvj->pvi", q, base[None] * stretch), faces


def _frame_index(frames: np.ndarray, frame: int) -> int:
    """Where ``frame`` lies in an array simulated at ``frames`` (clamped to its ends)."""
    return int(np.clip(frame - int(frames[0]), 0, len(frames) - 1))


def debris_mesh(simulation: dict, frame: int, old=None):
    """The debris alive at ``frame`` as one mesh (Blender axes) with ``colour`` and
    ``velocity`` (metres a second) point attributes; replaces ``old``'s data."""
    frames = simulation["debris_frames"]
    i = _frame_index(frames, frame) if len(frames) else 0
    mesh = bpy.data.meshes.new("Collapse Debris")
    if len(frames) and simulation["debris_alive"].shape[1]:
        live = np.nonzero(simulation["debris_alive"][i])[0]
        shape, faces = _chunk_shape(simulation["debris_alive"].shape[1])
        positions = simulation["debris_positions"].astype(np.float64)
        before, after = positions[max(i - 1, 0)], positions[min(i + 1, len(frames) - 1)]
        velocity = (after - before) / max(min(i + 1, len(frames) - 1) - max(i - 1, 0), 1) * float(simulation["fps"])
        radius = simulation["debris_radius"][live, None, None]
        points = (positions[i, live, None] + shape[live] * radius) @ CAMERA_TO_BLENDER.T
        triangles = (faces[None] + 6 * np.arange(len(live))[:, None, None]).reshape(-1, 3)
        mesh.from_pydata(points.reshape(-1, 3).tolist(), [], triangles.tolist())
        per_point = np.repeat(np.arange(len(live)), 6)
        colour = np.concatenate([simulation["debris_colour"][live], np.ones((len(live), 1))], axis=1)[per_point]
        mesh.attributes.new("colour", "FLOAT_COLOR", "POINT").data.foreach_set(
            "color", colour.astype(np.float32).ravel())
        moving = (velocity[live] @ CAMERA_TO_BLENDER.T)[per_point]
        mesh.attributes.new("velocity", "FLOAT_VECTOR", "POINT").data.foreach_set(
            "vector", moving.astype(np.float32).ravel())
    mesh.materials.append(bpy.data.materials["Collapse Debris"])
    mesh.update()
    if old is not None:
        previous = old.data
        old.data = mesh
        bpy.data.meshes.remove(previous)
    return mesh


def _dust_points(simulation: dict):
    """A point per dust cell (Blender axes) with a ``density`` attribute."""
    shape = simulation["dust_density"].shape[1:]
    low, cell = simulation["dust_low"], float(simulation["dust_cell"])
    index = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), -1).reshape(-1, 3)
    centres = (low + cell * index) @ CAMERA_TO_BLENDER.T
    mesh = bpy.data.meshes.new("Collapse Dust Cells")
    mesh.vertices.add(len(centres))
    mesh.vertices.foreach_set("co", centres.astype(np.float32).ravel())
    mesh.attributes.new("density", "FLOAT", "POINT")
    mesh.update()
    return mesh, centres


def dust_volume_nodes(low: np.ndarray, high: np.ndarray, resolution: tuple[int, int, int]):
    """Geometry Nodes: the cells' points → a volume whose ``density`` grid is, at every
    voxel, the density of the nearest cell."""
    group = bpy.data.node_groups.new("Collapse Dust Volume", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    inputs = group.nodes.new("NodeGroupInput")
    outputs = group.nodes.new("NodeGroupOutput")
    position = group.nodes.new("GeometryNodeInputPosition")
    nearest = group.nodes.new("GeometryNodeSampleNearest")
    group.links.new(inputs.outputs["Geometry"], nearest.inputs["Geometry"])
    group.links.new(position.outputs["Position"], nearest.inputs["Sample Position"])
    attribute = group.nodes.new("GeometryNodeInputNamedAttribute")
    attribute.data_type = "FLOAT"
    attribute.inputs["Name"].default_value = "density"
    sample = group.nodes.new("GeometryNodeSampleIndex")
    sample.data_type = "FLOAT"
    group.links.new(inputs.outputs["Geometry"], sample.inputs["Geometry"])
    group.links.new(attribute.outputs["Attribute"], sample.inputs["Value"])
    group.links.new(nearest.outputs["Index"], sample.inputs["Index"])
    cube = group.nodes.new("GeometryNodeVolumeCube")
    group.links.new(sample.outputs["Value"], cube.inputs["Density"])
    cube.inputs["Min"].default_value = [float(v) for v in low]
    cube.inputs["Max"].default_value = [float(v) for v in high]
    for axis, count in zip("XYZ", resolution):
        cube.inputs[f"Resolution {axis}"].default_value = int(count)
    group.links.new(cube.outputs["Volume"], outputs.inputs["Geometry"])
    return group


def dust_material(simulation: dict):
    """Principled Volume: the grid's density × extinction, broken up by two octaves of
    noise (the preview's detail), scattering the dust's tint. The noise drifts through
    Mapping nodes named ``Drift <size>``, whose Location :func:`set_frame` sets."""
    material = bpy.data.materials.new("Collapse Dust")
    material.use_nodes = True
    tree = material.node_tree
    tree.nodes.clear()
    cell = float(simulation["dust_cell"])
    coordinates = _node(tree, "ShaderNodeTexCoord")
    detail = None
    for size, weight in DETAIL:
        mapping = _node(tree, "ShaderNodeMapping", name=f"Drift {size}")
        mapping.inputs["Scale"].default_value = [1.0 / (NOISE_TEXELS * cell * size)] * 3
        tree.links.new(coordinates.outputs["Object"], mapping.inputs["Vector"])
        noise = _node(tree, "ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 1.0
        noise.inputs["Detail"].default_value = 1.0
        tree.links.new(mapping.outputs["Vector"], noise.inputs["Vector"])
        term = _math(tree, "MULTIPLY", noise.outputs["Fac"], weight)
        detail = term if detail is None else _math(tree, "ADD", detail, term)
    density = _math(tree, "MULTIPLY", _math(tree, "MAXIMUM", _math(tree, "MULTIPLY_ADD", detail, 2.4, -0.55), 0.0),
                    float(simulation["dust_extinction"]))
    volume = _node(tree, "ShaderNodeVolumePrincipled")
    tint = np.asarray(simulation["dust_tint"], float)
    albedo = np.clip(tint / max(float(tint.max()), 1e-6) * ALBEDO, 0.0, 1.0)
    volume.inputs["Color"].default_value = (*albedo, 1.0)
    volume.inputs["Density Attribute"].default_value = "density"
    tree.links.new(density, volume.inputs["Density"])
    output = _node(tree, "ShaderNodeOutputMaterial")
    tree.links.new(volume.outputs["Volume"], output.inputs["Volume"])
    return material


def _collection(scene, name: str, parent=None):
    collection = bpy.data.collections.new(name)
    (parent or scene.collection).children.link(collection)
    return collection


def _layer_collection(view_layer, name: str):
    stack = [view_layer.layer_collection]
    while stack:
        current = stack.pop()
        if current.name == name:
            return current
        stack.extend(current.children)
    raise KeyError(name)


def build_scene(simulation: dict, plate_path: str, mask_path: str, samples: int, motion_blur: bool):
    """A fresh scene for the final frames of ``simulation``; returns (scene, objects)
    where ``objects`` holds what :func:`set_frame` updates."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    width, height, _ = (int(v) for v in simulation["camera"])
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
    render.film_transparent = True
    render.use_motion_blur = motion_blur
    render.motion_blur_shutter = 0.5
    render.fps = max(1, int(round(float(simulation["fps"]))))
    render.use_persistent_data = True
    render.image_settings.media_type = "MULTI_LAYER_IMAGE"
    render.image_settings.file_format = "OPEN_EXR_MULTILAYER"
    render.image_settings.color_depth = "32"
    render.image_settings.exr_codec = "ZIP"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = max(1, int(samples))
    cycles.use_adaptive_sampling = True
    cycles.use_denoising = True
    cycles.max_bounces, cycles.diffuse_bounces, cycles.glossy_bounces = 4, 1, 0
    cycles.volume_bounces, cycles.transparent_max_bounces = 1, 8
    cycles.seed = 0
    # ray-marched volumes: less noise in the dust's alpha (which the denoiser leaves alone) and faster
    if hasattr(cycles, "volume_biased"):     # Blender 5.0's switch; other versions march as they do
        cycles.volume_biased = True
    scene.view_settings.view_transform = "Standard"

    collection = import_simulation(simulation, scene)
    fragments = next(child for child in collection.children if child.name.endswith("Fragments"))
    material = fragment_material(plate_path, mask_path)
    for index, obj in enumerate(sorted(fragments.objects, key=lambda o: o.name)):
        obj.data.materials.append(material)
        obj.color = (*(float(v) for v in simulation["inner"][index]), 1.0)
        obj.pass_index = index + 1
    scene.camera = next(obj for obj in collection.objects if obj.type == "CAMERA")
    ground = next(obj for obj in collection.objects if obj.type == "MESH")
    collection.objects.unlink(ground)
    catcher = _collection(scene, "Collapse Shadow Catcher")
    catcher.objects.link(ground)
    ground.is_shadow_catcher = True

    debris_material()
    debris_collection = _collection(scene, "Collapse Debris")
    debris = bpy.data.objects.new("Collapse Debris", debris_mesh(simulation, int(simulation["start"])))
    debris_collection.objects.link(debris)

    dust_collection = _collection(scene, "Collapse Dust")
    cells, centres = _dust_points(simulation)
    dust = bpy.data.objects.new("Collapse Dust", cells)
    dust_collection.objects.link(dust)
    shape = simulation["dust_density"].shape[1:]
    modifier = dust.modifiers.new("Dust Volume", "NODES")
    modifier.node_group = dust_volume_nodes(centres.min(0), centres.max(0), (shape[0], shape[2], shape[1]))
    cells.materials.append(dust_material(simulation))

    tint = np.asarray(simulation["dust_tint"], float)
    sun_energy = SUN * np.pi * float(tint @ [0.2126, 0.7152, 0.0722])
    _sun(scene, "Collapse Sun", simulation["light"], sun_energy)
    # Cycles' few volume bounces leave thick dust near single scattering (about a quarter of a white
    # surface's brightness): a second sun, linked to the dust only, brings it to what it would take
    boost = _sun(scene, "Collapse Dust Sun", simulation["light"], (DUST_LIGHT - 1.0) * sun_energy)
    boost.light_linking.receiver_collection = dust_collection
    world = bpy.data.worlds.new("Collapse Sky")
    world.use_nodes = True
    scene.world = world
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (*tint, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = SKY

    _view_layers(scene, fragments.name)
    objects = {"debris": debris, "dust": dust}
    return scene, objects


def _sun(scene, name: str, toward: np.ndarray, energy: float):
    """A sun shining from ``toward`` (camera space, toward the light)."""
    data = bpy.data.lights.new(name, "SUN")
    data.angle = np.radians(2.0)
    data.energy = float(energy)
    obj = bpy.data.objects.new(name, data)
    obj.rotation_mode = "QUATERNION"
    obj.rotation_quaternion = Vector((CAMERA_TO_BLENDER @ np.asarray(toward, float)).tolist()).to_track_quat("Z", "Y")
    scene.collection.objects.link(obj)
    return obj


def _view_layers(scene, fragments: str) -> None:
    solid = scene.view_layers[0]
    solid.name = SOLID
    dust = scene.view_layers.new(DUST)
    motion = scene.view_layers.new(MOTION)
    for layer in (solid, dust, motion):
        layer.use_pass_combined = True
    _layer_collection(solid, "Collapse Dust").indirect_only = True
    dust[HOLDOUT] = 1.0
    _layer_collection(dust, "Collapse Shadow Catcher").exclude = True
    for name in ("Collapse Dust", "Collapse Shadow Catcher"):
        _layer_collection(motion, name).exclude = True
    motion.samples = 1
    motion.use_motion_blur = False
    motion.cycles.use_denoising = False
    motion.use_pass_z = motion.use_pass_vector = motion.use_pass_normal = True
    motion.use_pass_object_index = True
    motion.use_pass_cryptomatte_object = True


def set_frame(scene, objects: dict, simulation: dict, frame: int) -> None:
    """Pose everything at ``frame``: the fragments by their keys, the debris and the
    dust's densities and noise drift from the arrays."""
    scene.frame_set(frame)
    debris_mesh(simulation, frame, objects["debris"])
    frames = simulation["dust_frames"]
    density = simulation["dust_density"][_frame_index(frames, frame)].astype(np.float32).ravel()
    dust = objects["dust"].data
    dust.attributes["density"].data.foreach_set("value", density)
    dust.update()
    t = (frame - int(frames[0])) / float(simulation["fps"])
    drift = np.asarray(simulation["dust_wind"], float) * t + np.array([0.0, float(simulation["dust_rise"]) * t, 0.0])
    tree = objects["dust"].data.materials[0].node_tree
    for octave, (size, _) in enumerate(DETAIL):
        # the noise is sampled at (P - drift × (1 + octave / 2)) × scale: Mapping scales, then adds Location
        moved = CAMERA_TO_BLENDER @ (drift * (1.0 + 0.5 * octave))
        tree.nodes[f"Drift {size}"].inputs["Location"].default_value = \
            (-moved / (NOISE_TEXELS * float(simulation["dust_cell"]) * size)).tolist()


def _quick_solid(scene, path: str) -> np.ndarray:
    """The Solid layer at the current frame, few samples, no motion blur (H×W×4)."""
    samples, blur = scene.cycles.samples, scene.render.use_motion_blur
    scene.cycles.samples, scene.render.use_motion_blur = CALIBRATION_SAMPLES, False
    for layer in scene.view_layers:
        layer.use = layer.name == SOLID
    scene.render.filepath = path
    settings = scene.render.image_settings
    settings.media_type, settings.file_format = "IMAGE", "OPEN_EXR"
    try:
        bpy.ops.render.render(write_still=True)
    finally:
        settings.media_type, settings.file_format = "MULTI_LAYER_IMAGE", "OPEN_EXR_MULTILAYER"
        scene.cycles.samples, scene.render.use_motion_blur = samples, blur
        for layer in scene.view_layers:
            layer.use = True
    pixels = _read_rgba(path)
    os.remove(path)
    return pixels


def calibrate(scene, objects: dict, simulation: dict, plate: np.ndarray, mask: np.ndarray, folder: str) -> float:
    """The albedo gain on the plate's colours that makes the fragments at rest give the
    plate back under the shot's light: over the mask's solid core, the median ratio of
    plate to a quick render of the Solid layer at the start frame (light is linear)."""
    set_frame(scene, objects, simulation, int(simulation["start"]))
    set_gain(1.0)
    pixels = _quick_solid(scene, os.path.join(folder, "calibration.exr"))
    weights = np.array([0.2126, 0.7152, 0.0722])
    rendered = pixels[..., :3] @ weights
    core = (mask >= 0.999) & (pixels[..., 3] > 0.99) & (rendered > 1e-5)
    gain = float(np.median((plate[..., :3] @ weights)[core] / rendered[core])) if core.sum() >= 16 else 1.0
    set_gain(gain)
    return gain


def set_gain(gain: float) -> None:
    for material in bpy.data.materials:
        if material.node_tree is not None and GAIN in material.node_tree.nodes:
            material.node_tree.nodes[GAIN].outputs["Value"].default_value = gain


def _read_rgba(path: str) -> np.ndarray:
    """An image file's pixels, H×W×C, top row first (Blender's images are bottom-up)."""
    image = bpy.data.images.load(path)
    pixels = np.array(image.pixels[:], np.float32).reshape(image.size[1], image.size[0], image.channels)[::-1]
    bpy.data.images.remove(image)
    return pixels


def run(job: dict) -> None:
    with np.load(job["simulation"], allow_pickle=False) as data:
        simulation = {name: data[name] for name in data.files}
    scene, objects = build_scene(simulation, job["plate"], job["mask"], int(job["samples"]), bool(job["motion_blur"]))
    folder = os.path.dirname(job["pattern"])
    os.makedirs(folder, exist_ok=True)
    plate = _read_rgba(job["plate"])
    mask = _read_rgba(job["mask"])[..., 0]
    gain = calibrate(scene, objects, simulation, plate, mask, folder)
    print(FINAL_ANNOUNCE + json.dumps({"albedo_gain": gain}), flush=True)
    for frame in job["frames"]:
        started = time.perf_counter()
        set_frame(scene, objects, simulation, int(frame))
        path = job["pattern"].replace("####", f"{int(frame):04d}")
        partial = path + ".partial.exr"
        scene.render.filepath = partial
        bpy.ops.render.render(write_still=True)
        os.replace(partial, path)
        print(FINAL_ANNOUNCE + json.dumps({"frame": int(frame), "path": path,
                                           "seconds": round(time.perf_counter() - started, 3)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    with open(argv[0], encoding="utf-8") as handle:
        run(json.load(handle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
