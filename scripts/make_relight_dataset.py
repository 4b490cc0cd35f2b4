#!/usr/bin/env python
"""Render the Relight network's training and evaluation scenes with Cycles.

Run from the repository root with the venv's Python (``bpy`` as a module)::

    .venv/bin/python scripts/make_relight_dataset.py --out data/relight/train --split train
    .venv/bin/python scripts/make_relight_dataset.py --out data/relight/eval --split eval
    .venv/bin/python scripts/make_relight_dataset.py --out data/relight/pan --pan 16

Each scene is a random procedural street (``street_kit``): road and sidewalks, rows of
buildings of random heights, setbacks and facade materials with windows and
shopfronts, rubble piles, props, parked cars and crates, lit by one of Blender's
bundled HDRIs (random rotation and strength) and, often, a sun. Several random cameras
look at each scene (street level to a few floors up, any heading, tilted up or down,
18-50 mm).

Every view is saved as ``<scene>_<view>.npz`` holding float16 arrays:

* ``image`` H x W x 3, the Cycles render, scene-linear Rec.709;
* ``normal`` H x W x 3, the Normal pass turned into camera space (+X right, +Y up,
  +Z toward the camera), zero where there is no surface (sky);
* ``albedo`` H x W x 3, the Diffuse Color pass;
* ``depth`` H x W, the Depth pass (metres along the view axis; inf for the sky).

``--split eval`` draws other seeds and a different set of facade materials (painted
boards, tiles, corrugated metal, stone blocks) so that the evaluation measures scenes the
network has never seen. ``--pan N`` renders one scene as an N-frame camera pan instead
(for the temporal flicker measure). Everything is seeded: the same arguments build the
same scenes.
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

from street_kit import (MeshBuilder, Shader, build_debris, configure_render, facade, mat_asphalt,
                        mat_brick, mat_concrete, mat_glass, mat_gravel, mat_paving, mat_plain,
                        mat_plaster, mat_rubble, mat_stripes, mat_wood, read_passes)

HDRIS = ("city.exr", "courtyard.exr", "forest.exr", "interior.exr", "night.exr", "studio.exr",
         "sunrise.exr", "sunset.exr")
SPLIT_SEEDS = {"train": 1000, "train-more": 200000, "eval": 900000, "pan": 500000}


def _tone(rng, lo, hi):
    base = rng.uniform(lo, hi)
    return tuple(min(1.0, base * rng.uniform(0.75, 1.25)) for _ in range(3))


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


def mat_pattern(name, rng):
    """A facade of a procedural pattern the other palettes lack (checker, cells, magic,
    mottled colour): variety of appearance, so that shape is learnt rather than texture."""
    s = Shader(name)
    kind = rng.choice(("checker", "cells", "magic", "mottled"))
    a, b = _tone(rng, 0.05, 0.8), _tone(rng, 0.05, 0.8)
    if kind == "checker":
        n = s.node("ShaderNodeTexChecker")
        s.set(n, Vector=s.uv, Scale=rng.uniform(0.5, 6.0), Color1=(*a, 1.0), Color2=(*b, 1.0))
        colour = n.outputs["Color"]
    elif kind == "cells":
        colour = s.ramp(s.voronoi(s.uv, rng.uniform(0.5, 5.0)).outputs["Distance"], [(0.0, a), (0.6, b)])
    elif kind == "magic":
        n = s.node("ShaderNodeTexMagic")
        s.set(n, Vector=s.uv, Scale=rng.uniform(0.2, 2.0))
        colour = s.mix(0.5, n.outputs["Color"], a, blend="MULTIPLY")
    else:
        colour = s.ramp(s.noise(s.uv, rng.uniform(0.3, 8.0)).outputs["Factor"], [(0.3, a), (0.7, b)])
    s.set(s.bsdf, Base_Color=colour, Roughness=rng.uniform(0.2, 0.95), Metallic=rng.choice((0.0, 0.0, 0.5)))
    return s.material


def wall_materials(rng, split: str):
    """Facade materials: the training palette, or a disjoint one for evaluation."""
    if split == "eval":
        return [
            mat_wood("Boards"),
            mat_tiles("Tiles", _tone(rng, 0.3, 0.7), rng.uniform(0.15, 0.4)),
            mat_corrugated("Corrugated", _tone(rng, 0.2, 0.5)),
            mat_stripes("Painted", _tone(rng, 0.2, 0.6), _tone(rng, 0.2, 0.6), rng.uniform(0.2, 0.6)),
            mat_rubble("StoneBlocks", _tone(rng, 0.3, 0.55), scale=rng.uniform(1.0, 3.0)),
            mat_plain("Render", _tone(rng, 0.2, 0.8), roughness=rng.uniform(0.3, 0.9),
                      noise_amount=rng.uniform(0.1, 0.5)),
        ]
    walls = []
    kinds = ("brick", "concrete", "plaster") + (("pattern", "pattern") if split == "train-more" else ())
    for i in range(6):
        kind = rng.choice(kinds)
        if kind == "pattern":
            walls.append(mat_pattern(f"Pattern{i}", rng))
            continue
        if kind == "brick":
            c1 = _tone(rng, 0.1, 0.5)
            walls.append(mat_brick(f"Brick{i}", c1, tuple(c * 0.8 for c in c1)))
        elif kind == "concrete":
            walls.append(mat_concrete(f"Concrete{i}", tone=_tone(rng, 0.25, 0.6),
                                      panels=rng.choice((None, (3.0, 1.5), (1.5, 1.5)))))
        else:
            walls.append(mat_plaster(f"Plaster{i}", _tone(rng, 0.25, 0.7)))
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
    metal = mat_plain("Metal", _tone(rng, 0.03, 0.3), roughness=0.4, metallic=0.8)
    crate = mat_wood("Crate") if split != "eval" else mat_plain("Crate", _tone(rng, 0.2, 0.6))
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
        paint = mat_plain("CarPaint", _tone(rng, 0.02, 0.7), roughness=0.3, coat=1.0)
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
                   mat_gravel("Gravel") if split != "eval" else metal)
    props.build(col)


def world_light(scene, rng):
    import bpy
    from mathutils import Vector

    world = bpy.data.worlds.new("World")
    scene.world = world
    nt = world.node_tree
    nt.nodes.clear()
    env = nt.nodes.new("ShaderNodeTexEnvironment")
    hdri = rng.choice(HDRIS)
    hdri_dir = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "studiolights" / "world"
    env.image = bpy.data.images.load(str(hdri_dir / hdri), check_existing=True)
    coord = nt.nodes.new("ShaderNodeTexCoord")
    mapping = nt.nodes.new("ShaderNodeMapping")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, rng.uniform(0.0, math.tau))
    background = nt.nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = rng.uniform(0.3, 1.5)
    out = nt.nodes.new("ShaderNodeOutputWorld")
    nt.links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
    nt.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    nt.links.new(env.outputs["Color"], background.inputs["Color"])
    nt.links.new(background.outputs["Background"], out.inputs["Surface"])
    if rng.random() < 0.65:
        sun_data = bpy.data.lights.new("Sun", "SUN")
        sun_data.energy = rng.uniform(1.5, 6.0)
        sun_data.angle = math.radians(rng.uniform(0.5, 5.0))
        sun_data.color = (1.0, rng.uniform(0.8, 1.0), rng.uniform(0.65, 1.0))
        sun = bpy.data.objects.new("Sun", sun_data)
        azimuth, elevation = rng.uniform(0.0, math.tau), math.radians(rng.uniform(8.0, 75.0))
        to_sun = Vector((math.cos(azimuth) * math.cos(elevation),
                         math.sin(azimuth) * math.cos(elevation), math.sin(elevation)))
        sun.rotation_euler = (-to_sun).to_track_quat("-Z", "Y").to_euler()
        scene.collection.objects.link(sun)
    return hdri


def build_scene(seed: int, split: str):
    import bpy

    rng = random.Random(seed)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    col = scene.collection
    mats = {
        "glass": mat_glass("Glass"),
        "frame": mat_plain("WindowFrame", _tone(rng, 0.05, 0.7), roughness=0.45),
        "sill": mat_concrete("Stone", tone=_tone(rng, 0.3, 0.6), panels=None, stains=0.3),
        "riser": mat_plain("Riser", _tone(rng, 0.02, 0.2), roughness=0.4),
        "signs": [mat_plain(f"Sign{i}", _tone(rng, 0.03, 0.6), roughness=0.35) for i in range(3)],
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
    hdri = world_light(scene, rng)
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.sensor_width = 36.0
    cam_data.clip_end = 1000.0
    cam = bpy.data.objects.new("Camera", cam_data)
    col.objects.link(cam)
    scene.camera = cam
    for flag in ("use_pass_normal", "use_pass_diffuse_color", "use_pass_z"):
        setattr(scene.view_layers[0], flag, True)
    return scene, rng, (rw, sw), hdri


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
    to_camera = np.array(scene.camera.matrix_world.to_3x3().transposed(), dtype=np.float32)
    normal = world_normal @ to_camera.T
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    surface = (length > 0.5) & (depth[..., None] < 1e5)
    normal = np.where(surface, normal / np.maximum(length, 1e-6), 0.0)
    depth = np.where(surface[..., 0], depth, np.inf)
    return {"image": image, "normal": normal, "albedo": albedo, "depth": depth}


def save_view(path: Path, view: dict):
    arrays = {k: np.nan_to_num(v, posinf=65000.0).astype(np.float16) for k, v in view.items()}
    arrays["depth"] = np.where(np.isfinite(view["depth"]), arrays["depth"], np.float16(np.inf))
    np.savez_compressed(path, **arrays)


def setup_render(scene, args, seed):
    configure_render(scene, args.width, args.height, args.samples, seed)
    scene.render.image_settings.media_type = "MULTI_LAYER_IMAGE"
    scene.render.image_settings.color_depth = "32"
    scene.render.use_persistent_data = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", choices=("train", "train-more", "eval"), default="train",
                        help="train-more: training scenes whose facades also take procedural patterns")
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--views", type=int, default=6, help="cameras per scene")
    parser.add_argument("--first", type=int, default=0, help="first scene index (to resume)")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--pan", type=int, default=0, help="render one N-frame pan instead")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="genvfx_relight_") as tmp:
        if args.pan:
            seed = SPLIT_SEEDS["pan"]
            scene, rng, street, hdri = build_scene(seed, "eval")
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
            scene, rng, street, hdri = build_scene(seed, args.split)
            setup_render(scene, args, seed)
            for view in range(args.views):
                path = out / f"{index:04d}_{view:02d}.npz"
                random_camera(scene.camera, rng, street)
                if path.exists():
                    continue
                save_view(path, render_view(scene, Path(tmp)))
            print(f"scene {index} ({hdri}) done at {time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
