#!/usr/bin/env python
"""Render Debris Fill's ground truth: moving-camera shots, each WITH and WITHOUT the object
to remove, with Cycles' true motion and artist-style masks.

Run from the repository root with the venv's Python (``bpy`` as a module)::

    .venv/bin/python scripts/make_fill_truth.py                      # every shot
    .venv/bin/python scripts/make_fill_truth.py --shots crates_truck,park_rock
    .venv/bin/python scripts/make_fill_truth.py --list

Writes ``data/fill_truth/<shot>/`` (``--out``):

* ``plate.####.exr``  scene-linear RGBA, half float, channels ``R G B A``: the shot as shot,
  object in it (alpha 1);
* ``truth.####.exr``  the same frame rendered without the object (and so without its
  shadow): the true clean plate;
* ``mask.####.png``   8-bit, 255 where the fill must work: the object's own coverage (Cycles'
  object-index pass) united with what it changes in the frame (where plate and truth
  differ by more than ``--diff`` in display-encoded values after a light blur: its
  shadow, its reflection), cleaned of specks, then dilated by ``--dilate`` px as an
  artist draws a roto;
* ``object.####.png`` the object's own coverage alone (undilated), for reference;
* ``vector.####.npz`` the truth's true motion, float32 H x W x 2 arrays ``to_prev`` and
  ``to_next``: the pixel (x, y) of this frame (x right, y DOWN, pixels) shows the same
  surface point at (x + dx, y + dy) in the previous / next frame. Converted from Cycles'
  Vector pass, whose convention is checked on every shot (see below);
* ``shot.json``       frames, size, camera move, object, mask coverage, render settings,
  the Vector-pass check.

**Cycles' Vector pass** has 4 channels in pixels, in Blender's raster space (y UP). As
measured here (Blender 5.0.1, on a truck and a dolly; the manual's wording "motion
towards the previous and next frame" leaves the signs open): ``XY`` = position in the
previous frame minus position now, and ``ZW`` = position now minus position in the NEXT
frame (both point backwards in time). So, rows down, ``to_prev = (X, -Y)`` and
``to_next = (-Z, W)``. The maker checks this on each shot: it warps truth frame 2 to
frame 1 (and 1 to 2) under all four sign conventions, records the residuals in
``shot.json`` and stops if the convention used is not the best. The raw pass is kept
(``raw`` in the npz) so a wrong convention can be fixed without rendering again.

Shots (256x160 unless said; frames 1..N; camera keyframed at every frame, 0 and N+1
included, so that Cycles knows the motion at both ends):

* ``crates_truck``  8 f  a stack of crates on a left pavement; the camera trucks right
  while turning to keep them (parallax between kerb, shop band and facade);
* ``van_shadow``    8 f  a van-sized box parked against the left kerb, its sun shadow over
  kerb and pavement; slow dolly along the right lane;
* ``park_rock``    24 f  not a street: a park with grass, a gravel path with edging boards
  and a brick wall (photographic textures from ``skimage.data``), trees; a boulder by the
  path; truck left-to-right;
* ``bin_pan``      24 f  a sign on a pole and a litter bin fixed in the world; the camera
  pans past them (about 9 px a frame) while trucking a little;
* ``rubble_dolly24`` 24 f  a rubble pile on a pavement; dolly in with a slow pan;
* ``demo``          8 f  the README demo shot (``scripts/make_demo_plate.py``'s scene and
  camera, imported, at 40 %: 256x144): plate and truth re-rendered together so both have
  the same sampling; the truth mask also covers the pile's contact shadow.

Everything is seeded; the same arguments give the same scenes (and, on the same machine
and Blender build, the same pixels up to denoiser/threading noise). Costs about 10-20 s a
frame on 2 busy CPU cores at 12-16 samples + OpenImageDenoise (two renders a frame).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from street_kit import (MeshBuilder, Shader, configure_render, hdri_world, mat_concrete,  # noqa: E402
                        mat_plain, mat_rubble, mat_stripes, mat_wood, read_passes)

WIDTH, HEIGHT = 256, 160
TARGET_INDEX = 7          # object-index pass value of every object to remove


# ------------------------------------------------------------------------------ shots

@dataclass
class Shot:
    name: str
    frames: int
    build: Callable            # (seed) -> (scene, target object names)
    pose: Callable             # (t in [0, 1] over the shot, may go a little beyond) -> (loc, target or Euler)
    seed: int
    what: str
    move: str
    percent: int = 100
    size: tuple = (WIDTH, HEIGHT)
    lens: float | None = None


def _street(seed: int, keep_pile: bool):
    """The demo's procedural street (``make_demo_plate.build_scene``), with or without its
    rubble pile; returns the scene."""
    import bpy
    import make_demo_plate as demo

    scene = demo.build_scene(seed)
    if not keep_pile:
        bpy.data.objects.remove(bpy.data.objects[demo.TARGET_NAME], do_unlink=True)
    return scene


def build_crates(seed: int):
    scene = _street(seed, keep_pile=False)
    rng = random.Random(seed + 1)
    crates = MeshBuilder("Crates")
    wood, dark = mat_wood("CrateWood"), mat_plain("CrateDark", (0.12, 0.08, 0.05), 0.85, noise_amount=0.3)
    x0, y0, z0 = -5.7, 12.0, 0.15
    layout = [(0.0, 0.0, 0, 0.8), (0.85, 0.1, 0, 0.75), (-0.8, -0.05, 0, 0.7), (0.35, 0.05, 1, 0.72),
              (-0.4, 0.0, 1, 0.65), (0.05, -0.1, 2, 0.6)]
    heights = {}
    for dy, dx, level, size in layout:
        z = z0 + sum(heights.get(l, 0.0) for l in range(level))
        heights.setdefault(level, size)
        crates.box((x0 + dx, y0 + dy, z + size / 2), (size, size, size),
                   wood if rng.random() < 0.6 else dark, rotation=(0.0, 0.0, rng.uniform(-0.25, 0.25)))
    crates.box((x0, y0, z0 + 0.06), (1.2, 2.4, 0.12), dark)          # pallet
    crates.build(scene.collection, pass_index=TARGET_INDEX)
    return scene, ["Crates"]


def pose_crates(t):
    loc = (-1.2 + 1.6 * t, 1.5 + 0.5 * t, 1.6)
    target = (-5.2 + 0.6 * t, 13.0, 1.0)
    return loc, target


def build_van(seed: int):
    scene = _street(seed, keep_pile=False)
    van = MeshBuilder("Van")
    body = mat_plain("VanWhite", (0.62, 0.62, 0.6), roughness=0.35, coat=0.5)
    glass = mat_plain("VanGlass", (0.02, 0.022, 0.025), roughness=0.08)
    tyre = mat_plain("VanTyre", (0.02, 0.02, 0.02), roughness=0.7)
    x, y0, y1 = -2.95, 17.0, 22.6
    van.aabox((x - 1.0, y0, 0.38), (x + 1.0, y1, 2.45), body)                 # box body
    van.aabox((x - 0.95, y0 - 0.95, 0.38), (x + 0.95, y0, 1.55), body)        # bonnet
    van.aabox((x - 0.9, y0 - 0.45, 1.55), (x + 0.9, y0 + 0.02, 2.2), glass)   # windscreen
    van.aabox((x - 1.01, y0 + 0.1, 1.4), (x + 1.01, y0 + 0.9, 2.1), glass)     # side windows
    for wy in (y0 - 0.3, y1 - 0.9):
        for wx in (x - 0.95, x + 0.95):
            van.cylinder((wx, wy, 0.38), 0.38, 0.25, tyre, rotation=(0.0, math.pi / 2, 0.0), segments=20)
    van.build(scene.collection, pass_index=TARGET_INDEX)
    return scene, ["Van"]


def pose_van(t):
    loc = (1.9, 1.0 + 3.0 * t, 1.65)
    target = (-3.6, 21.0 + 1.0 * t, 1.1)
    return loc, target


def build_bin_sign(seed: int):
    scene = _street(seed, keep_pile=False)
    props = MeshBuilder("SignBin")
    metal = mat_plain("SignPole", (0.3, 0.31, 0.32), roughness=0.4, metallic=0.8)
    board = mat_stripes("SignBoard", (0.55, 0.03, 0.02), (0.8, 0.8, 0.78), width=0.25)
    bin_mat = mat_plain("LitterBin", (0.05, 0.05, 0.055), roughness=0.5)
    props.cylinder((-4.65, 9.0, 0.15 + 1.3), 0.04, 2.6, metal, segments=10)
    props.aabox((-4.7, 8.6, 2.0), (-4.64, 9.4, 2.7), board)
    props.cylinder((-5.35, 9.6, 0.15 + 0.5), 0.32, 1.0, bin_mat, segments=20)
    props.cylinder((-5.35, 9.6, 0.15 + 1.02), 0.35, 0.05, bin_mat, segments=20)
    props.build(scene.collection, pass_index=TARGET_INDEX)
    return scene, ["SignBin"]


def pose_bin_pan(t):
    loc = (0.9 + 0.6 * t, -1.0, 1.6)
    yaw = math.radians(45.0 - 40.0 * t)           # degrees to the left of +y
    target = (loc[0] - 10.0 * math.sin(yaw), loc[1] + 10.0 * math.cos(yaw), 1.25)
    return loc, target


def build_rubble(seed: int):
    import make_demo_plate as demo

    return _street(seed, keep_pile=True), [demo.TARGET_NAME]


def pose_rubble24(t):
    loc = (-0.6 + 0.9 * t, -3.5 + 4.5 * t, 1.75 - 0.1 * t)
    target = (-5.0 - 0.4 * t, 10.5 + 1.0 * t, 1.0)
    return loc, target


def _image_material(name: str, photo: np.ndarray, tint, metres: float, roughness=0.9, bump=0.3):
    """A material from a grey photograph (skimage.data), tinted and tiled every ``metres``."""
    import bpy

    h, w = photo.shape[:2]
    image = bpy.data.images.new(name, w, h, alpha=False)
    grey = photo.astype(np.float32) / 255.0
    rgba = np.concatenate([np.repeat(grey[::-1, :, None], 3, axis=2), np.ones((h, w, 1), np.float32)], 2)
    image.pixels.foreach_set(rgba.ravel())
    image.pack()
    s = Shader(name)
    mapping = s.node("ShaderNodeMapping")
    s.set(mapping, Vector=s.uv, Scale=(1.0 / metres, 1.0 / metres, 1.0))
    tex = s.node("ShaderNodeTexImage")
    tex.image = image
    s.link(mapping.outputs["Vector"], tex.inputs["Vector"])
    patches = s.noise(s.uv, 0.15, detail=3)
    patch_col = s.ramp(patches.outputs["Factor"], [(0.35, tuple(c * 0.8 for c in tint)),
                                                   (0.65, tuple(min(1.0, c * 1.15) for c in tint))])
    base = s.mix(1.0, tex.outputs["Color"], patch_col, blend="MULTIPLY")
    s.set(s.bsdf, Base_Color=base, Roughness=roughness,
          Normal=s.bump(tex.outputs["Color"], bump, 0.01))
    return s.material


def build_park(seed: int):
    import bpy
    import skimage.data
    rng = random.Random(seed)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    col = scene.collection
    grass = _image_material("Grass", skimage.data.grass(), (0.16, 0.30, 0.07), 2.5)
    gravel = _image_material("Gravel", skimage.data.gravel(), (0.62, 0.55, 0.42), 1.5)
    brick = _image_material("WallBrick", skimage.data.brick(), (0.55, 0.25, 0.16), 1.6, bump=0.5)
    edging = mat_concrete("Edging", tone=(0.5, 0.49, 0.46), panels=(1.0, 50.0), stains=0.2)
    coping = mat_concrete("Coping", tone=(0.55, 0.53, 0.49), panels=None, stains=0.3)
    bark = mat_plain("Bark", (0.10, 0.07, 0.05), 0.9, noise_amount=0.4)
    leaves = mat_rubble("Leaves", (0.07, 0.16, 0.04), scale=4.0)
    wood = mat_wood("BenchWood")

    ground = MeshBuilder("Ground")
    ground.aabox((-40.0, -20.0, -0.2), (-1.35, 60.0, 0.0), grass)
    ground.aabox((1.35, -20.0, -0.2), (40.0, 60.0, 0.0), grass)
    ground.aabox((-1.2, -20.0, -0.2), (1.2, 60.0, -0.02), gravel)
    ground.aabox((-1.35, -20.0, -0.2), (-1.2, 60.0, 0.05), edging)     # edging boards
    ground.aabox((1.2, -20.0, -0.2), (1.35, 60.0, 0.05), edging)
    ground.aabox((-14.0, 15.0, 0.0), (-1.8, 15.4, 0.9), brick)        # low wall, a gap for the path
    ground.aabox((1.8, 15.0, 0.0), (14.0, 15.4, 0.9), brick)
    ground.aabox((-14.1, 14.95, 0.9), (-1.75, 15.45, 0.98), coping)
    ground.aabox((1.75, 14.95, 0.9), (14.1, 15.45, 0.98), coping)
    ground.build(col)

    trees = MeshBuilder("Trees")
    for (x, y) in ((-5.0, 9.0), (6.5, 11.0), (-3.2, 22.0), (4.0, 26.0), (9.0, 18.0), (-9.0, 17.0)):
        h = rng.uniform(2.8, 4.0)
        trees.cylinder((x, y, h / 2), 0.16, h, bark, segments=12)
        trees.rock(rng, (x, y, h + 0.8), (1.6, 1.6, 1.5), leaves, subdivisions=2, jitter=0.15)
    trees.aabox((-3.1, 12.0, 0.42), (-2.0, 13.6, 0.48), wood)           # bench seat
    trees.aabox((-3.1, 12.0, 0.0), (-2.95, 13.6, 0.42), bark)
    trees.aabox((-2.15, 12.0, 0.0), (-2.0, 13.6, 0.42), bark)
    trees.build(col)

    boulder = MeshBuilder("Boulder")
    stone = mat_rubble("BoulderStone", (0.36, 0.35, 0.33), scale=3.0)
    boulder.rock(rng, (2.3, 8.0, 0.25), (0.95, 0.75, 0.7), stone, subdivisions=2, jitter=0.2)
    boulder.rock(rng, (3.0, 8.6, 0.15), (0.45, 0.4, 0.35), stone, subdivisions=1, jitter=0.25)
    boulder.build(col, pass_index=TARGET_INDEX)

    hdri_world(scene, "forest.exr", 0.7, rotation_degrees=40.0)
    _sun(scene, (0.6, -0.55, 0.58), 4.5)
    _camera(scene)
    return scene, ["Boulder"]


def pose_park(t):
    loc = (-1.8 + 2.2 * t, 0.0, 1.55)
    target = (1.8 + 0.6 * t, 9.0, 0.35)
    return loc, target


def _sun(scene, to_sun, energy):
    import bpy
    from mathutils import Vector

    data = bpy.data.lights.new("Sun", "SUN")
    data.energy = energy
    data.angle = math.radians(1.5)
    data.color = (1.0, 0.94, 0.86)
    sun = bpy.data.objects.new("Sun", data)
    sun.rotation_euler = (-Vector(to_sun).normalized()).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(sun)


def _camera(scene, lens=32.0):
    import bpy

    data = bpy.data.cameras.new("Camera")
    data.lens, data.sensor_width, data.clip_end = lens, 36.0, 500.0
    cam = bpy.data.objects.new("Camera", data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return cam


def build_demo(seed: int):
    import make_demo_plate as demo

    return demo.build_scene(seed), [demo.TARGET_NAME]


def pose_demo(t):
    """The demo's own camera (``make_demo_plate.camera_pose``, frames 1..8; its lerp
    extrapolates to frames 0 and 9): returns (location, rotation)."""
    import make_demo_plate as demo

    return demo.camera_pose(demo.FRAMES[0] + t * (len(demo.FRAMES) - 1))


SHOTS = {s.name: s for s in [
    Shot("crates_truck", 8, build_crates, pose_crates, 3, "stack of crates on a pavement",
         "truck right 1.6 m, turning to keep them"),
    Shot("van_shadow", 8, build_van, pose_van, 5, "van-sized box at the kerb + its sun shadow",
         "dolly 3 m along the right lane"),
    Shot("park_rock", 24, build_park, pose_park, 21, "boulder by a gravel path (park)",
         "truck right 2.2 m"),
    Shot("bin_pan", 24, build_bin_sign, pose_bin_pan, 9, "sign on a pole + litter bin",
         "pan 40 deg right-to-left past them, truck 0.6 m"),
    Shot("rubble_dolly24", 24, build_rubble, pose_rubble24, 13, "rubble pile on a pavement",
         "dolly in 4.5 m with a slow pan"),
    Shot("demo", 8, build_demo, pose_demo, 7, "the demo's rubble pile (README shot)",
         "make_demo_plate.camera_pose", percent=40, size=(640, 360)),
]}


# --------------------------------------------------------------------------- rendering

def keyframe_camera(scene, shot: Shot):
    """Keyframe the camera at every frame, 0 and N+1 included (Cycles reads the motion
    of the Vector pass from the neighbouring frames)."""
    from mathutils import Vector

    cam = scene.camera
    if shot.lens:
        cam.data.lens = shot.lens
    previous = None
    for frame in range(0, shot.frames + 2):
        t = (frame - 1) / (shot.frames - 1)
        loc, aim = shot.pose(t)
        loc = Vector(loc)
        if hasattr(aim, "to_quaternion"):           # already a rotation (Euler)
            rotation = aim.copy()
            if previous is not None:
                rotation.make_compatible(previous)
        else:
            quat = (Vector(aim) - loc).to_track_quat("-Z", "Y")
            rotation = quat.to_euler("XYZ", previous) if previous is not None else quat.to_euler("XYZ")
        previous = rotation
        cam.location, cam.rotation_euler = loc, rotation
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
    action = cam.animation_data.action
    for fcurve in _fcurves(action):
        for key in fcurve.keyframe_points:
            key.interpolation = "LINEAR"


def _fcurves(action):
    if hasattr(action, "fcurves"):
        try:
            return list(action.fcurves)
        except Exception:      # noqa: BLE001 - layered actions (Blender 5) below
            pass
    curves = []
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                curves.extend(bag.fcurves)
    return curves


def render_passes(scene, path: Path) -> dict:
    import bpy

    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    passes = read_passes(path)
    rgba = np.stack([passes["Combined"][c] for c in "RGBA"], axis=-1)
    out = {"rgba": rgba}
    if "Vector" in passes:
        out["vector"] = np.stack([passes["Vector"][c] for c in "XYZW"], axis=-1)
    for name in ("IndexOB", "Object Index"):      # Blender 5 writes the long pass names
        if name in passes:
            out["index"] = next(iter(passes[name].values()))
    missing = [k for k in ("vector", "index") if k not in out]
    if missing:
        raise RuntimeError(f"{path.name}: no {missing} pass (have {sorted(passes)})")
    return out


def write_exr(path: Path, rgba: np.ndarray, comment: str):
    import OpenEXR

    rgba = np.nan_to_num(rgba, nan=0.0, posinf=65000.0, neginf=0.0).astype(np.float32)
    rgba[..., :3] = np.clip(rgba[..., :3], 0.0, 65000.0)
    channels = {c: np.ascontiguousarray(rgba[..., i].astype(np.float16)) for i, c in enumerate("RGBA")}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, "comments": comment}
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(path))


def srgb(rgb: np.ndarray) -> np.ndarray:
    x = np.clip(np.nan_to_num(rgb[..., :3].astype(np.float32)), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def warp(image: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``image`` sampled at (x + dx, y + dy) for every pixel (bilinear, border replicated)."""
    import cv2

    h, w = offset.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + offset[..., 0], ys + offset[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


CONVENTIONS = {  # name -> (to_prev from XYZW, to_next from XYZW), rows down
    "forward (-X,+Y | Z,-W)": (lambda v: np.stack([-v[..., 0], v[..., 1]], -1),
                                  lambda v: np.stack([v[..., 2], -v[..., 3]], -1)),
    "y not flipped (-X,-Y | Z,W)": (lambda v: np.stack([-v[..., 0], -v[..., 1]], -1),
                                    lambda v: np.stack([v[..., 2], v[..., 3]], -1)),
    "x flipped (X,+Y | -Z,-W)": (lambda v: np.stack([v[..., 0], v[..., 1]], -1),
                                 lambda v: np.stack([-v[..., 2], -v[..., 3]], -1)),
    "measured (X,-Y | -Z,W)": (lambda v: np.stack([v[..., 0], -v[..., 1]], -1),
                               lambda v: np.stack([-v[..., 2], v[..., 3]], -1)),
}
USED = "measured (X,-Y | -Z,W)"


def check_vector(truths: dict, vectors: dict) -> dict:
    """Warp truth frame 2 onto frame 1 (along to_next of frame 1) and frame 1 onto frame 2
    (along to_prev of frame 2) under each sign convention; mean abs error in sRGB."""
    f1, f2 = sorted(truths)[:2]
    a, b = srgb(truths[f1]), srgb(truths[f2])
    residual = {"no motion": float(np.abs(a - b).mean())}
    for name, (to_prev, to_next) in CONVENTIONS.items():
        e1 = np.abs(warp(b, to_next(vectors[f1])) - a).mean()
        e2 = np.abs(warp(a, to_prev(vectors[f2])) - b).mean()
        residual[name] = float((e1 + e2) / 2)
    best = min((k for k in residual if k != "no motion"), key=residual.get)
    mean_motion = float(np.linalg.norm(CONVENTIONS[USED][1](vectors[f1]), axis=-1).mean())
    return {"residual_srgb": residual, "best": best, "mean_motion_px": mean_motion}


def make_mask(plate: np.ndarray, truth: np.ndarray, index: np.ndarray, diff: float, dilate: int):
    import cv2

    obj = (np.abs(index - TARGET_INDEX) < 0.5).astype(np.uint8)
    d = np.abs(cv2.GaussianBlur(srgb(plate), (0, 0), 1.0) - cv2.GaussianBlur(srgb(truth), (0, 0), 1.0)).max(-1)
    changed = (d > diff).astype(np.uint8)
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    keep = np.zeros_like(changed)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] >= 12:
            keep[labels == label] = 1
    mask = np.maximum(obj, keep)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    if dilate > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1,) * 2))
    return obj, keep, mask


def render_shot(shot: Shot, out: Path, samples: int, diff: float, dilate: int, percent: int | None,
                bounces: int = 4):
    import bpy
    import cv2

    t0 = time.time()
    folder = out / shot.name
    folder.mkdir(parents=True, exist_ok=True)
    scene, targets = shot.build(shot.seed)
    denoised = configure_render(scene, shot.size[0], shot.size[1], samples, shot.seed,
                                percent or shot.percent)
    scene.render.image_settings.media_type = "MULTI_LAYER_IMAGE"
    scene.render.image_settings.file_format = "OPEN_EXR_MULTILAYER"
    scene.render.image_settings.color_depth = "32"
    scene.render.use_motion_blur = False
    cycles = scene.cycles                    # fewer bounces than the demo: 2 busy CPU cores
    cycles.max_bounces, cycles.diffuse_bounces, cycles.glossy_bounces = bounces, min(bounces, 2), min(bounces, 2)
    layer = scene.view_layers[0]
    layer.use_pass_vector = True
    layer.use_pass_object_index = True
    for name in targets:
        bpy.data.objects[name].pass_index = TARGET_INDEX
    keyframe_camera(scene, shot)
    frames = list(range(1, shot.frames + 1))
    comment = f"genvfx fill truth: scripts/make_fill_truth.py shot {shot.name} seed {shot.seed}"
    plates, truths, vectors, indices = {}, {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="genvfx_filltruth_") as tmp:
        tmp = Path(tmp)
        for frame in frames:                         # with the object
            scene.frame_set(frame)
            r = render_passes(scene, tmp / f"plate_{frame:04d}.exr")
            plates[frame], indices[frame] = r["rgba"], r["index"]
            plates[frame][..., 3] = 1.0
            write_exr(folder / f"plate.{frame:04d}.exr", plates[frame], comment + " (plate)")
            print(f"  {shot.name} plate {frame}: {time.time() - t0:.0f}s", flush=True)
        for name in targets:
            bpy.data.objects[name].hide_render = True
        for frame in frames:                         # without it
            scene.frame_set(frame)
            r = render_passes(scene, tmp / f"truth_{frame:04d}.exr")
            truths[frame], vectors[frame] = r["rgba"], r["vector"]
            truths[frame][..., 3] = 1.0
            write_exr(folder / f"truth.{frame:04d}.exr", truths[frame], comment + " (truth)")
            print(f"  {shot.name} truth {frame}: {time.time() - t0:.0f}s", flush=True)
    for frame in frames:                             # the raw pass first, whatever the check says
        np.savez_compressed(folder / f"vector.{frame:04d}.npz", raw=vectors[frame].astype(np.float32))
    check = check_vector(truths, vectors)
    print(f"  {shot.name} Vector pass check: best '{check['best']}', residuals "
          + ", ".join(f"{k} {v:.4f}" for k, v in check["residual_srgb"].items()), flush=True)
    if check["best"] != USED and check["mean_motion_px"] > 0.5:
        raise RuntimeError(f"{shot.name}: the Vector pass does not follow the convention used: {check}")
    to_prev, to_next = CONVENTIONS[USED]
    coverage = {}
    for frame in frames:
        np.savez_compressed(folder / f"vector.{frame:04d}.npz",
                            to_prev=to_prev(vectors[frame]).astype(np.float32),
                            to_next=to_next(vectors[frame]).astype(np.float32),
                            raw=vectors[frame].astype(np.float32))
        obj, changed, mask = make_mask(plates[frame], truths[frame], indices[frame], diff, dilate)
        cv2.imwrite(str(folder / f"mask.{frame:04d}.png"), mask * 255)
        cv2.imwrite(str(folder / f"object.{frame:04d}.png"), obj * 255)
        coverage[frame] = {"object_pct": round(100 * float(obj.mean()), 2),
                           "changed_outside_object_pct": round(100 * float((changed & (1 - obj)).mean()), 2),
                           "mask_pct": round(100 * float(mask.mean()), 2)}
    h, w = plates[frames[0]].shape[:2]
    info = {"shot": shot.name, "frames": frames, "width": w, "height": h, "object": shot.what,
            "camera": shot.move, "seed": shot.seed, "samples": scene.cycles.samples,
            "bounces": [cycles.max_bounces, cycles.diffuse_bounces, cycles.glossy_bounces],
            "denoiser": "OIDN" if denoised else None, "mask_diff_threshold_srgb": diff,
            "mask_dilate_px": dilate, "vector_check": check, "coverage": coverage,
            "vector_convention": "to_prev/to_next: (dx, dy), x right, y down, pixels; "
                                 "from Cycles Vector XYZW as to_prev=(X,-Y), to_next=(-Z,W)",
            "seconds": round(time.time() - t0, 1), "blender": bpy.app.version_string}
    (folder / "shot.json").write_text(json.dumps(info, indent=1))
    masks = [c["mask_pct"] for c in coverage.values()]
    print(f"{shot.name}: {len(frames)} frames {w}x{h}, mask {min(masks):.1f}-{max(masks):.1f}% "
          f"in {time.time() - t0:.0f}s", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/fill_truth")
    parser.add_argument("--shots", default=",".join(SHOTS), help="comma-separated shot names")
    parser.add_argument("--samples", type=int, default=16, help="Cycles samples (+ OIDN)")
    parser.add_argument("--diff", type=float, default=0.06,
                        help="display-encoded difference plate/truth that counts as changed")
    parser.add_argument("--dilate", type=int, default=4, help="mask dilation radius in pixels")
    parser.add_argument("--percent", type=int, default=None, help="resolution percentage (tests)")
    parser.add_argument("--bounces", type=int, default=4, help="Cycles max bounces (diffuse/glossy <= 2)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for s in SHOTS.values():
            print(f"{s.name:16} {s.frames:3d} f  {s.what}; {s.move}")
        return 0
    out = Path(args.out)
    for name in [n.strip() for n in args.shots.split(",") if n.strip()]:
        if name not in SHOTS:
            parser.error(f"unknown shot {name!r} (have {', '.join(SHOTS)})")
        render_shot(SHOTS[name], out, args.samples, args.diff, args.dilate, args.percent, args.bounces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
