#!/usr/bin/env python
"""Render the Relight network's training and evaluation scenes with Cycles.

Run from the repository root with the venv's Python (``bpy`` as a module)::

    .venv/bin/python scripts/make_relight_dataset.py --out data/relight/train --split train --scenes 112
    .venv/bin/python scripts/make_relight_dataset.py --out data/relight/eval-objects --split eval-objects
    .venv/bin/python scripts/make_relight_dataset.py --out data/relight/pan --pan 16

Scene kinds (each scene draws one from its split's mix, ``SPLIT_KINDS``):

* ``street`` (``street_kit``): road and sidewalks, rows of buildings of random heights,
  setbacks and facade materials with windows and shopfronts, rubble piles, props,
  parked cars and crates;
* ``objects``, ``rubble``, ``terrain``, ``yard``, ``interior`` (``scene_kinds``):
  primitives and clusters of them, heaps of debris, hills with boulders and trees,
  vehicles, benches, fences and figures, rooms with furniture; materials from
  photographs and procedural patterns.

Light: one of Blender's bundled HDRIs (random turn and strength) and, often, a sun;
night skies get lamps. Several cameras look at each scene: any heading, from near the
ground to a few storeys up, pitch and roll varied, 18-85 mm.

Every view is saved as ``<scene>_<view>_<kind>.npz`` holding float16 arrays:

* ``image`` H x W x 3, the Cycles render, scene-linear Rec.709;
* ``normal`` H x W x 3, the Normal pass turned into camera space (+X right, +Y up,
  +Z toward the camera), zero where there is no surface (sky);
* ``albedo`` H x W x 3, the Diffuse Color pass;
* ``depth`` H x W, the Depth pass (metres along the view axis; inf for the sky);
* evaluation splits only: ``relit``, the same view rendered again with the sun moved
  60-180 degrees round the sky, and ``sun`` / ``relit_sun``, the unit directions toward
  the two suns in camera space.

Splits: ``train``; ``eval`` (streets: other seeds and facade materials: boards, tiles,
corrugated metal, stone blocks, painted render); ``eval-objects`` (generic objects with
photographs never trained on); ``eval-unseen`` (interiors, a kind never trained on).
``--pan N`` renders one street as an N-frame camera pan instead (for the temporal
flicker measure). Everything is seeded: the same arguments build the same scenes, and a
run that stops resumes where it left off.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import scene_kinds
from scene_kinds import mat_pattern, tone
from street_kit import (MeshBuilder, Shader, build_debris, configure_render, facade, hdri_world, mat_asphalt,
                        mat_brick, mat_concrete, mat_glass, mat_gravel, mat_paving, mat_plain,
                        mat_plaster, mat_rubble, mat_stripes, mat_wood, read_passes)

HDRIS = ("city.exr", "courtyard.exr", "forest.exr", "interior.exr", "night.exr", "studio.exr",
         "sunrise.exr", "sunset.exr")
#: Skies whose light is spread out (the brightest 0.5 % of the sphere holds 7-25 % of
#: the energy; studio 95 %, sunrise 61 %, interior and night 43 %).
FILL_SKIES = ("courtyard.exr", "sunset.exr", "city.exr", "forest.exr")
SPLIT_SEEDS = {"train": 1000, "eval": 900000, "eval-objects": 910000, "eval-unseen": 920000, "pan": 500000}
#: What each split renders: the kinds of scene (drawn per scene in these proportions).
#: ``interior`` is never trained on: ``eval-unseen`` measures a kind the network never saw.
SPLIT_KINDS = {
    "train": ("street",) * 3 + ("objects",) * 4 + ("rubble", "terrain", "yard", "yard"),
    "eval": ("street",),
    "eval-objects": ("objects",),
    "eval-unseen": ("interior",),
}
#: Splits whose views are rendered a second time under another sun (the relit truth).
RELIT_SPLITS = ("eval", "eval-objects", "eval-unseen")


def mat_tiles(name, tone, size):
    s = Shader(name)
    b = s.brick(s.uv, tone, tuple(c * 0.85 for c in tone), (0.6, 0.6, 0.58), brick_width=size,
                row_height=size, mortar_size=0.006, offset=0.0)
    s.set(s.bsdf, Base_Color=b.outputs["Color"], Roughness=0.35,
          Normal=s.bump(b.outputs["Factor"], 0.4, 0.01, invert=True))
    return s.material


def mat_corrugated(name, tone):
    s = Shader(name)
    wave = s.node("ShaderNodeTexWave", wave_type="BANDS", bands_direction="X")
    s.set(wave, Vector=s.uv, Scale=6.0, Distortion=0.0)
    rust = s.noise(s.uv, 2.0, detail=6)
    base = s.mix(rust.outputs["Factor"], tone, (0.25, 0.10, 0.05))
    s.set(s.bsdf, Base_Color=base, Roughness=0.5, Metallic=0.6,
          Normal=s.bump(wave.outputs["Color"], 0.8, 0.03))
    return s.material


def wall_materials(rng, split: str):
    """Facade materials: the training palette, or a disjoint one for evaluation."""
    if split.startswith("eval"):
        return [
            mat_wood("Boards"),
            mat_tiles("Tiles", tone(rng, 0.3, 0.7), rng.uniform(0.15, 0.4)),
            mat_corrugated("Corrugated", tone(rng, 0.2, 0.5)),
            mat_stripes("Painted", tone(rng, 0.2, 0.6), tone(rng, 0.2, 0.6), rng.uniform(0.2, 0.6)),
            mat_rubble("StoneBlocks", tone(rng, 0.3, 0.55), scale=rng.uniform(1.0, 3.0)),
            mat_plain("Render", tone(rng, 0.2, 0.8), roughness=rng.uniform(0.3, 0.9),
                      noise_amount=rng.uniform(0.1, 0.5)),
        ]
    walls = []
    kinds = ("brick", "concrete", "plaster", "pattern")
    for i in range(6):
        kind = rng.choice(kinds)
        if kind == "pattern":
            walls.append(mat_pattern(f"Pattern{i}", rng))
            continue
        if kind == "brick":
            c1 = tone(rng, 0.1, 0.5)
            walls.append(mat_brick(f"Brick{i}", c1, tuple(c * 0.8 for c in c1)))
        elif kind == "concrete":
            walls.append(mat_concrete(f"Concrete{i}", tone=tone(rng, 0.25, 0.6),
                                      panels=rng.choice((None, (3.0, 1.5), (1.5, 1.5)))))
        else:
            walls.append(mat_plaster(f"Plaster{i}", tone(rng, 0.25, 0.7)))
    return walls


def building_row(rng, side, x_face, walls, mats, wall_builders, details):
    """Buildings along one side of the street, y from -25 to 70, with setbacks."""
    y = -25.0
    sgn = 1.0 if side == "left" else -1.0
    while y < 70.0:
        length = rng.uniform(6.0, 22.0)
        setback = rng.choice((0.0, 0.0, rng.uniform(0.5, 4.0)))
        height = rng.uniform(4.0, 30.0)
        builder = MeshBuilder(f"Building{len(wall_builders)}")
        wall_builders.append(builder)
        mats["sign"] = rng.choice(mats["signs"])
        facade(builder, details, side, x_face - sgn * setback, y, y + length, height,
               rng.choice(walls), mats, rng, shop=rng.random() < 0.5)
        y += length + rng.choice((0.0, 0.0, rng.uniform(1.0, 6.0)))


def clutter(rng, col, rw, sw, split):
    """Rubble piles, crates, cars and poles on the road and sidewalks."""
    props = MeshBuilder("Props")
    metal = mat_plain("Metal", tone(rng, 0.03, 0.3), roughness=0.4, metallic=0.8)
    crate = mat_wood("Crate") if not split.startswith("eval") else mat_plain("Crate", tone(rng, 0.2, 0.6))
    for _ in range(rng.randint(0, 3)):
        x = rng.choice((-1, 1)) * rng.uniform(0.0, rw + sw - 1.0)
        radii = (rng.uniform(0.8, 3.0), rng.uniform(0.8, 3.0), rng.uniform(0.6, 2.5))
        build_debris(rng, col, name=f"Rubble{x:.1f}", centre=(x, rng.uniform(0.0, 40.0), 0.1),
                     radii=radii, pass_index=0)
    for _ in range(rng.randint(2, 10)):
        x = rng.uniform(-rw - sw, rw + sw)
        size = (rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), rng.uniform(0.4, 2.0))
        props.box((x, rng.uniform(-5.0, 50.0), size[2] / 2), size, crate,
                  rotation=(0.0, 0.0, rng.uniform(0.0, math.tau)))
    for _ in range(rng.randint(0, 4)):
        x = rng.choice((-1, 1)) * rng.uniform(1.0, rw - 0.8)
        y = rng.uniform(0.0, 50.0)
        yaw = rng.uniform(-0.3, 0.3)
        paint = mat_plain("CarPaint", tone(rng, 0.02, 0.7), roughness=0.3, coat=1.0)
        props.box((x, y, 0.65), (1.8, 4.3, 0.65), paint, rotation=(0.0, 0.0, yaw))
        props.box((x, y - 0.15, 1.18), (1.56, 2.1, 0.45), mat_glass("CarGlass"),
                  rotation=(0.0, 0.0, yaw))
    for _ in range(rng.randint(0, 6)):
        x = rng.choice((-1, 1)) * (rw + rng.uniform(0.3, 0.8))
        h = rng.uniform(1.0, 7.0)
        props.cylinder((x, rng.uniform(-5.0, 50.0), h / 2), rng.uniform(0.05, 0.2), h, metal,
                       segments=16)
    for _ in range(rng.randint(0, 30)):
        x = rng.uniform(-rw - sw, rw + sw)
        size = rng.uniform(0.1, 0.6)
        props.rock(rng, (x, rng.uniform(-5.0, 50.0), size * 0.3), (size, size * 0.8, size * 0.6),
                   mat_gravel("Gravel") if not split.startswith("eval") else metal)
    props.build(col)


def add_sun(scene, rng, azimuth=None, elevation=None):
    """A sun of random warmth and size; its direction toward the sun in world space."""
    import bpy

    sun_data = bpy.data.lights.new("Sun", "SUN")
    sun_data.energy = rng.uniform(1.5, 6.0)
    sun_data.angle = math.radians(rng.uniform(0.5, 5.0))
    sun_data.color = (1.0, rng.uniform(0.8, 1.0), rng.uniform(0.65, 1.0))
    sun = bpy.data.objects.new("Sun", sun_data)
    scene.collection.objects.link(sun)
    point_sun(sun, rng.uniform(0.0, math.tau) if azimuth is None else azimuth,
              math.radians(rng.uniform(8.0, 75.0)) if elevation is None else elevation)
    return sun


def point_sun(sun, azimuth: float, elevation: float):
    from mathutils import Vector

    to_sun = Vector((math.cos(azimuth) * math.cos(elevation), math.sin(azimuth) * math.cos(elevation),
                     math.sin(elevation)))
    sun.rotation_euler = (-to_sun).to_track_quat("-Z", "Y").to_euler()
    sun["azimuth"], sun["elevation"] = azimuth, elevation


def world_light(scene, rng, sun: str):
    """One of Blender's HDRIs (random turn and strength) and, often, a sun; night skies
    get lamps instead. ``sun="key"``: a strong sun under a dimmer, soft sky."""
    import bpy

    if sun == "key":
        # the sun is the key light, the sky a soft fill (skies whose own light is spread
        # out): moving the sun is then what moving the node's light means
        hdri = rng.choice(FILL_SKIES)
        hdri_world(scene, hdri, rng.uniform(0.2, 0.6), rng.uniform(0.0, 360.0))
        add_sun(scene, rng).data.energy = rng.uniform(3.0, 6.0)
        return hdri
    hdri = rng.choice(HDRIS)
    hdri_world(scene, hdri, rng.uniform(0.3, 1.5), rng.uniform(0.0, 360.0))
    if sun == "often" and hdri != "night.exr" and rng.random() < 0.65:
        add_sun(scene, rng)
    elif hdri == "night.exr":
        for i in range(rng.randint(1, 3)):
            lamp = bpy.data.lights.new(f"Lamp{i}", "POINT")
            lamp.energy = rng.uniform(200.0, 3000.0)
            lamp.color = (1.0, rng.uniform(0.6, 1.0), rng.uniform(0.3, 0.9))
            obj = bpy.data.objects.new(f"Lamp{i}", lamp)
            obj.location = (rng.uniform(-10, 10), rng.uniform(-10, 20), rng.uniform(3.0, 8.0))
            scene.collection.objects.link(obj)
    return hdri


def build_street(scene, rng, split: str):
    col = scene.collection
    mats = {
        "glass": mat_glass("Glass"),
        "frame": mat_plain("WindowFrame", tone(rng, 0.05, 0.7), roughness=0.45),
        "sill": mat_concrete("Stone", tone=tone(rng, 0.3, 0.6), panels=None, stains=0.3),
        "riser": mat_plain("Riser", tone(rng, 0.02, 0.2), roughness=0.4),
        "signs": [mat_plain(f"Sign{i}", tone(rng, 0.03, 0.6), roughness=0.35) for i in range(3)],
    }
    walls = wall_materials(rng, split)
    rw, sw = rng.uniform(3.0, 6.0), rng.uniform(1.5, 4.0)
    ground = MeshBuilder("Street")
    asphalt, paving = mat_asphalt("Asphalt"), mat_paving("Paving")
    ground.aabox((-rw, -30.0, -0.2), (rw, 80.0, 0.0), asphalt)
    ground.aabox((-60.0, 80.0, -0.2), (60.0, 90.0, 0.0), asphalt)
    for sgn in (-1, 1):
        ground.aabox((min(sgn * rw, sgn * (rw + sw + 8)), -30.0, -0.2),
                     (max(sgn * rw, sgn * (rw + sw + 8)), 80.0, 0.15), paving)
    ground.build(col)
    wall_builders, details = [], MeshBuilder("Windows")
    building_row(rng, "left", -(rw + sw), walls, mats, wall_builders, details)
    building_row(rng, "right", rw + sw, walls, mats, wall_builders, details)
    wall_builders.append(MeshBuilder("Back"))
    facade(wall_builders[-1], details, "back", 92.0, -40.0, 40.0, rng.uniform(8.0, 30.0),
           rng.choice(walls), mats, rng)
    for builder in wall_builders:
        builder.build(col)
    details.build(col)
    clutter(rng, col, rw, sw, split)
    return (rw, sw)


def build_scene(seed: int, split: str, kind: str, photos):
    """The scene of ``kind`` for ``seed``; returns the scene, its rng, where cameras go,
    and the HDRI that lights it."""
    import bpy

    rng = random.Random(seed)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    if kind == "street":
        place = build_street(scene, rng, split)
    else:
        palette = scene_kinds.Palette(rng, photos)
        place = scene_kinds.BUILDERS[kind](scene.collection, rng, palette)
    hdri = world_light(scene, rng, "key" if split in RELIT_SPLITS else "often")
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.sensor_width = 36.0
    cam_data.clip_start = 0.05
    cam_data.clip_end = 1000.0
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    for flag in ("use_pass_normal", "use_pass_diffuse_color", "use_pass_z"):
        setattr(scene.view_layers[0], flag, True)
    return scene, rng, place, hdri


def place_camera(cam, rng, kind: str, place):
    if kind == "street":
        random_camera(cam, rng, place)
    else:
        scene_kinds.aim_camera(cam, rng, *place, kind)


def random_camera(cam, rng, street):
    """A street-level-to-rooftop camera with any heading and a moderate tilt."""
    from mathutils import Euler

    rw, sw = street
    height = math.exp(rng.uniform(math.log(1.2), math.log(18.0)))
    cam.location = (rng.uniform(-rw - sw + 0.5, rw + sw - 0.5), rng.uniform(-15.0, 35.0), height)
    heading = rng.uniform(-110.0, 110.0) if rng.random() < 0.8 else rng.uniform(-180.0, 180.0)
    pitch = rng.uniform(-35.0, 20.0) - (10.0 if height > 8.0 else 0.0)
    roll = rng.gauss(0.0, 3.0)
    # Blender cameras look down -Z: rotate 90 deg about X to look along +Y, then tilt and turn
    cam.rotation_euler = Euler((math.radians(90.0 + pitch), math.radians(roll), math.radians(heading)),
                               "XYZ")
    cam.data.lens = rng.uniform(18.0, 50.0)


def render_view(scene, tmp: Path) -> dict:
    import bpy

    path = tmp / "view.exr"
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    passes = read_passes(path)
    image = np.stack([passes["Combined"][c] for c in "RGB"], axis=-1)
    world_normal = np.stack([passes["Normal"][c] for c in "XYZ"], axis=-1)
    albedo = np.stack([passes["Diffuse Color"][c] for c in "RGB"], axis=-1)
    depth = passes["Depth"]["Z"]
    normal = world_normal @ to_camera(scene).T
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    surface = (length > 0.5) & (depth[..., None] < 1e5)
    normal = np.where(surface, normal / np.maximum(length, 1e-6), 0.0)
    depth = np.where(surface[..., 0], depth, np.inf)
    return {"image": image, "normal": normal, "albedo": albedo, "depth": depth}


def to_camera(scene) -> np.ndarray:
    """The 3x3 matrix from world to camera space (+X right, +Y up, +Z toward the camera)."""
    return np.array(scene.camera.matrix_world.to_3x3().transposed(), dtype=np.float32)


def sun_in_camera(scene, sun) -> np.ndarray:
    """Unit direction toward the sun in camera space."""
    a, e = sun["azimuth"], sun["elevation"]
    world = np.array([math.cos(a) * math.cos(e), math.sin(a) * math.cos(e), math.sin(e)], np.float32)
    return to_camera(scene) @ world


def render_relit_pair(scene, rng, tmp: Path) -> dict:
    """The view under its sun, and again under a second sun elsewhere in the sky (the
    truth a relight toward that sun is judged against); both suns in camera space."""
    sun = scene.objects["Sun"]
    view = render_view(scene, tmp)
    first = (sun["azimuth"], sun["elevation"])
    view["sun"] = sun_in_camera(scene, sun)
    point_sun(sun, first[0] + rng.choice((-1, 1)) * math.radians(rng.uniform(60.0, 180.0)),
              math.radians(rng.uniform(15.0, 70.0)))
    view["relit"] = render_view(scene, tmp)["image"]
    view["relit_sun"] = sun_in_camera(scene, sun)
    point_sun(sun, *first)
    return view


def save_view(path: Path, view: dict):
    arrays = {k: np.nan_to_num(v, posinf=65000.0).astype(np.float16) for k, v in view.items()}
    arrays["depth"] = np.where(np.isfinite(view["depth"]), arrays["depth"], np.float16(np.inf))
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:     # whole or absent: training reads the folder as it fills
        np.savez_compressed(handle, **arrays)
    partial.replace(path)


def setup_render(scene, args, seed):
    configure_render(scene, args.width, args.height, args.samples, seed)
    scene.render.image_settings.media_type = "MULTI_LAYER_IMAGE"
    scene.render.image_settings.color_depth = "32"
    scene.render.use_persistent_data = True
    cycles = scene.cycles
    # the targets (normals, depth) are exact at any sample count; the picture needs
    # few bounces and few samples once denoised
    cycles.max_bounces, cycles.diffuse_bounces, cycles.glossy_bounces = 4, 2, 1
    cycles.adaptive_threshold = 0.05


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", choices=tuple(SPLIT_KINDS), default="train")
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--views", type=int, default=8, help="cameras per scene")
    parser.add_argument("--first", type=int, default=0, help="first scene index (to resume)")
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--height", type=int, default=288)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--pan", type=int, default=0, help="render one N-frame pan instead")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="genvfx_relight_") as tmp:
        photos = scene_kinds.photo_paths(args.split, Path(tmp))
        if args.pan:
            seed = SPLIT_SEEDS["pan"]
            scene, rng, street, hdri = build_scene(seed, "eval", "street", photos)
            setup_render(scene, args, seed)
            random_camera(scene.camera, rng, street)
            start = scene.camera.rotation_euler.z
            for frame in range(args.pan):
                scene.camera.rotation_euler.z = start + math.radians(0.6 * frame)
                save_view(out / f"pan_{frame:04d}.npz", render_view(scene, Path(tmp)))
            print(f"pan of {args.pan} frames ({hdri}) in {time.time() - t0:.0f}s", flush=True)
            return 0
        for index in range(args.first, args.first + args.scenes):
            seed = SPLIT_SEEDS[args.split] + index
            kinds = SPLIT_KINDS[args.split]
            kind = kinds[random.Random(seed * 7 + 1).randrange(len(kinds))]
            paths = [out / f"{index:04d}_{view:02d}_{kind}.npz" for view in range(args.views)]
            if all(path.exists() for path in paths):
                continue
            scene, rng, place, hdri = build_scene(seed, args.split, kind, photos)
            setup_render(scene, args, seed)
            for path in paths:
                place_camera(scene.camera, rng, kind, place)
                view_rng = random.Random(f"{seed}-{path.name}")
                if path.exists():
                    continue
                if args.split in RELIT_SPLITS:
                    save_view(path, render_relit_pair(scene, view_rng, Path(tmp)))
                else:
                    save_view(path, render_view(scene, Path(tmp)))
            print(f"scene {index} {kind} ({hdri}) done at {time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
