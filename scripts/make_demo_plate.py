#!/usr/bin/env python
"""Build the demo shot for genvfx: a procedural street plate rendered with Cycles.

Run from the repository root with the venv's Python (``bpy`` as a module)::

    .venv/bin/python scripts/make_demo_plate.py --out assets/demo

Everything is made here with ``bpy`` (no external assets): a street with a road,
sidewalks, six building facades with procedural brick/concrete/plaster materials,
window grids, shopfronts, street furniture, two parked cars, and one rubble pile on the
left sidewalk -- the object the demo removes with "Debris Fill". The world is lit by
Blender's bundled CC0 HDRI ``city.exr`` plus a sun lamp.

Outputs in ``--out``:

* ``plate.0001.exr`` ... ``plate.0008.exr``: scene-linear RGBA, half float, single part,
  channels ``R G B A`` (no layer prefix), DWAA (or ZIP) compressed.
* ``mask.0001.png`` ... ``mask.0008.png``: 8-bit grey, 255 on the rubble pile (rendered
  coverage of the pile alone, every other object a holdout, dilated by ``--dilate`` px).

The scene layout is seeded (``--seed``, default 7): the same seed builds the same scene.
Cycles' own sampling is seeded from the same value, so re-runs on the same machine and
Blender build give the same pixels up to denoiser/threading noise.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from street_kit import (MeshBuilder, build_debris, configure_render, facade, hdri_world, mat_asphalt,
                        mat_brick, mat_concrete, mat_glass, mat_paving, mat_plain, mat_plaster,
                        render_to)

WIDTH, HEIGHT = 640, 360
FRAMES = range(1, 9)
HDRI = "city.exr"
TARGET_NAME = "DebrisPile"


def build_scene(seed: int):
    import bpy
    from mathutils import Vector

    rng = random.Random(seed)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    col = scene.collection

    mats = {
        "glass": mat_glass("Glass"),
        "frame": mat_plain("WindowFrame", (0.62, 0.62, 0.60), roughness=0.45),
        "sill": mat_concrete("Stone", tone=(0.55, 0.53, 0.49), panels=None, stains=0.3),
        "riser": mat_plain("Riser", (0.05, 0.06, 0.07), roughness=0.4),
        "signs": [mat_plain("SignRed", (0.45, 0.04, 0.03), roughness=0.35),
                  mat_plain("SignGreen", (0.03, 0.18, 0.09), roughness=0.35),
                  mat_plain("SignNavy", (0.03, 0.05, 0.18), roughness=0.35),
                  mat_plain("SignCream", (0.6, 0.52, 0.35), roughness=0.4)],
    }
    walls = [
        mat_brick("BrickRed", (0.30, 0.085, 0.05), (0.22, 0.07, 0.045)),
        mat_concrete("ConcretePanels", tone=(0.40, 0.39, 0.37)),
        mat_plaster("PlasterCream", (0.58, 0.50, 0.38)),
        mat_brick("BrickBuff", (0.46, 0.34, 0.22), (0.38, 0.27, 0.17), mortar=(0.4, 0.38, 0.35)),
        mat_plaster("PlasterGrey", (0.36, 0.38, 0.40)),
        mat_brick("BrickDark", (0.16, 0.07, 0.05), (0.12, 0.06, 0.045)),
    ]

    # ground: road x in [-4, 4], sidewalks to +-7 (top at 0.15), far end at y = 44
    ground = MeshBuilder("Street")
    asphalt, paving, curb = mat_asphalt("Asphalt"), mat_paving("Paving"), mat_concrete(
        "Curb", tone=(0.45, 0.44, 0.42), panels=(1.0, 50.0), stains=0.2)
    ground.aabox((-4.0, -20.0, -0.2), (4.0, 44.0, 0.0), asphalt)
    ground.aabox((-40.0, 44.0, -0.2), (40.0, 54.0, 0.0), asphalt)        # cross street
    ground.aabox((-40.0, 54.0, -0.2), (40.0, 57.0, 0.15), paving)
    for sgn in (-1, 1):
        ground.aabox((sgn * 4.25, -20.0, -0.2), (sgn * 7.0, 44.0, 0.15), paving)
        ground.aabox((sgn * 4.0, -20.0, -0.2), (sgn * 4.25, 44.0, 0.15), curb)
    paint = mat_plain("RoadPaint", (0.7, 0.7, 0.66), roughness=0.6, noise_amount=0.35)
    y = -18.0
    while y < 43.0:                                                       # dashed centre line
        ground.aabox((-0.06, y, 0.0), (0.06, y + 3.0, 0.004), paint)
        y += 6.0
    for sgn in (-1, 1):                                                   # edge lines
        ground.aabox((sgn * 3.7 - 0.05, -20.0, 0.0), (sgn * 3.7 + 0.05, 44.0, 0.004), paint)
    ground.build(col)

    # buildings: left side face at x = -7 (facing +x), right at x = +7, back across at y = 46
    wall_builders = [MeshBuilder(f"Building{i + 1}") for i in range(6)]
    details = MeshBuilder("Windows")
    left = [(-12.0, 4.0, 11.5), (4.0, 19.0, 9.0), (19.0, 44.0, 14.5)]
    right = [(-12.0, 16.0, 13.0), (16.0, 44.0, 9.5)]
    order = list(range(6))
    rng.shuffle(order)
    signs = list(mats["signs"])
    rng.shuffle(signs)
    k = 0
    for (y0, y1, h) in left:
        mats["sign"] = signs[k % len(signs)]
        facade(wall_builders[k], details, "left", -7.0, y0, y1, h + rng.uniform(-0.5, 0.5),
               walls[order[k]], mats, rng)
        k += 1
    for (y0, y1, h) in right:
        mats["sign"] = signs[k % len(signs)]
        facade(wall_builders[k], details, "right", 7.0, y0, y1, h + rng.uniform(-0.5, 0.5),
               walls[order[k]], mats, rng)
        k += 1
    mats["sign"] = signs[k % len(signs)]
    facade(wall_builders[k], details, "back", 56.5, -18.0, 18.0, 17.0, walls[order[k]], mats, rng,
           shop=True)
    for b in wall_builders:
        b.build(col)
    details.build(col)

    # props: lamp posts, bins, bollards, parked cars
    props = MeshBuilder("Props")
    metal = mat_plain("DarkMetal", (0.06, 0.065, 0.07), roughness=0.45, metallic=0.8)
    bin_mat = mat_plain("BinGreen", (0.02, 0.09, 0.04), roughness=0.5)
    lamp_mat = mat_plain("LampGlass", (0.8, 0.78, 0.7), roughness=0.2)
    for (x, y) in ((-4.55, 3.5), (-4.55, 22.0), (-4.55, 38.0), (4.55, 9.0), (4.55, 27.0)):
        sgn = -1 if x < 0 else 1
        props.cylinder((x, y, 0.15 + 3.0), 0.07, 6.0, metal, segments=12)
        props.cylinder((x, y, 0.15 + 0.4), 0.12, 0.8, metal, segments=12)
        props.aabox((min(x, x - sgn * 1.1), y - 0.04, 6.05), (max(x, x - sgn * 1.1), y + 0.04, 6.15),
                    metal)
        props.aabox((x - sgn * 1.1 - 0.25, y - 0.14, 5.95), (x - sgn * 1.1 + 0.25, y + 0.14, 6.12),
                    lamp_mat)
    for (x, y) in ((5.4, 5.0), (-6.4, 24.5), (5.6, 20.5)):
        props.cylinder((x, y, 0.15 + 0.45), 0.3, 0.9, bin_mat, segments=20)
        props.cylinder((x, y, 0.15 + 0.93), 0.33, 0.06, bin_mat, segments=20)
    for i in range(6):
        props.cylinder((4.6, 12.0 + i * 1.4, 0.15 + 0.45), 0.08, 0.9, metal, segments=10)
    props.aabox((-6.9, 28.0, 0.15), (-6.2, 29.6, 0.6), mat_plain("Planter", (0.3, 0.29, 0.27), 0.8))

    car_colours = [(0.45, 0.02, 0.02), (0.02, 0.06, 0.25), (0.6, 0.6, 0.62), (0.05, 0.05, 0.05)]
    rng.shuffle(car_colours)
    tyre = mat_plain("Tyre", (0.02, 0.02, 0.02), roughness=0.7)
    car_glass = mats["glass"]
    for index, (x, y) in enumerate(((2.7, 15.5), (2.7, 31.0))):
        paint_mat = mat_plain(f"CarPaint{index}", car_colours[index], roughness=0.3, coat=1.0)
        props.aabox((x - 0.9, y - 2.15, 0.32), (x + 0.9, y + 2.15, 0.95), paint_mat)       # body
        props.aabox((x - 0.78, y - 1.2, 0.95), (x + 0.78, y + 0.9, 1.42), car_glass)       # cabin
        props.aabox((x - 0.8, y - 1.05, 1.42), (x + 0.8, y + 0.8, 1.48), paint_mat)        # roof
        props.aabox((x - 0.85, y - 2.2, 0.35), (x + 0.85, y - 2.1, 0.55), metal)           # bumpers
        props.aabox((x - 0.85, y + 2.1, 0.35), (x + 0.85, y + 2.2, 0.55), metal)
        for (dx, dy) in ((-0.82, -1.4), (0.82, -1.4), (-0.82, 1.4), (0.82, 1.4)):
            props.cylinder((x + dx, y + dy, 0.33), 0.33, 0.22, tyre, rotation=(0.0, math.pi / 2, 0.0),
                           segments=20)
    props.build(col)

    # the object to remove: a rubble pile on the left sidewalk, in front of building 2
    build_debris(rng, col, TARGET_NAME)

    # world: bundled HDRI (CC0, Poly Haven) + sun
    hdri_world(scene, HDRI, strength=0.6, rotation_degrees=115.0)

    sun_data = bpy.data.lights.new("Sun", "SUN")
    sun_data.energy = 5.0
    sun_data.angle = math.radians(1.5)
    sun_data.color = (1.0, 0.93, 0.84)
    sun = bpy.data.objects.new("Sun", sun_data)
    to_sun = Vector((0.75, -0.35, 0.62)).normalized()
    sun.rotation_euler = (-to_sun).to_track_quat("-Z", "Y").to_euler()
    col.objects.link(sun)

    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = 32.0
    cam_data.sensor_width = 36.0
    cam_data.clip_end = 500.0
    cam = bpy.data.objects.new("Camera", cam_data)
    col.objects.link(cam)
    scene.camera = cam
    return scene


def camera_pose(frame: int):
    """Slow dolly forward + truck right with a small pan, frames 1..8."""
    from mathutils import Vector

    t = (frame - FRAMES[0]) / (len(FRAMES) - 1)
    location = Vector((-0.5, -1.6, 1.65)).lerp(Vector((0.2, -0.7, 1.62)), t)
    target = Vector((-4.6, 10.0, 1.35)).lerp(Vector((-3.2, 11.0, 1.4)), t)
    rotation = (target - location).to_track_quat("-Z", "Y").to_euler()
    return location, rotation



def write_plate(path: Path, rgba: np.ndarray, codec: str, comment: str):
    import OpenEXR

    compression = {"zip": OpenEXR.ZIP_COMPRESSION, "dwaa": OpenEXR.DWAA_COMPRESSION,
                   "piz": OpenEXR.PIZ_COMPRESSION}[codec]
    rgba = np.nan_to_num(rgba, nan=0.0, posinf=65000.0, neginf=0.0)
    rgba[..., :3] = np.clip(rgba[..., :3], 0.0, 65000.0)
    channels = {c: np.ascontiguousarray(rgba[..., i].astype(np.float16)) for i, c in enumerate("RGBA")}
    header = {"compression": compression, "type": OpenEXR.scanlineimage, "comments": comment}
    tmp = path.with_name(f".{path.name}.partial")
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(tmp))
    os.replace(tmp, path)


def linear_to_srgb8(rgb: np.ndarray) -> np.ndarray:
    x = np.clip(np.nan_to_num(rgb[..., :3].astype(np.float32)), 0.0, 1.0)
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return (np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)


README = """\
# Demo shot: street plate with a rubble pile

An 8-frame 640x360 plate of a procedural street -- road, sidewalks, six building facades
(brick, concrete panels, plaster) with window grids and shopfronts, lamp posts, bins,
bollards, two parked cars -- and one rubble pile (broken concrete, bricks, planks, rebar)
on the left sidewalk in front of a shopfront. The pile is what the demo removes with
**Debris Fill**. The camera dollies forward and trucks right with a slight pan over
frames 1-8.

![frame 1](../../docs/demo_plate.png)

## Files

| File | Content |
|---|---|
| `plate.0001.exr` ... `plate.0008.exr` | scene-linear Rec.709 RGBA, half float, single part, channels `R G B A` (no layer prefix), {codec} compressed; alpha is 1 |
| `mask.0001.png` ... `mask.0008.png` | 8-bit grey, 255 on the rubble pile (its rendered coverage, dilated by {dilate} px), 0 elsewhere |

The pile covers {obj_lo:.1f}-{obj_hi:.1f} % of the frame ({mask_lo:.1f}-{mask_hi:.1f} % after dilation).
The masks hold the pile only: its contact shadow on the sidewalk is not masked.

## How it was made

Everything is built by [`scripts/make_demo_plate.py`](../../scripts/make_demo_plate.py) with
`bpy` (Blender {blender} as a Python module), no external assets:

    .venv/bin/python scripts/make_demo_plate.py --out assets/demo --seed {seed}

- Cycles on the CPU, {samples} samples (adaptive){denoise}, 6 bounces.
- World light: Blender's bundled HDRI `datafiles/studiolights/world/{hdri}` through an
  Environment Texture node, plus a sun lamp for the shadows.
- Each frame is rendered to a temporary EXR by Blender, then re-written with the `OpenEXR`
  package (half float, {codec}).
- Masks: a second render per frame with every other object a holdout and a transparent
  film; the alpha (pile coverage, anti-aliased) is thresholded at 0.01 and dilated with
  OpenCV so no fringe of the pile remains outside the mask.
- Layout randomness (rubble pieces, window bays, materials per building) comes from
  `random.Random({seed})`; the same seed builds the same scene.

This run took {minutes:.1f} minutes on {cores} CPU cores.

## Licence

The HDRI is CC0, by Greg Zaal / Poly Haven (https://polyhaven.com/a/portland_landing_pad),
as bundled with Blender. The renders and masks in this folder are released under CC0 1.0
(public domain dedication).
"""


def write_readme(out: Path, args, samples: int, denoised: bool, elapsed: float, coverage: dict):
    import bpy

    objs = [c[0] for c in coverage.values()]
    masked = [c[1] for c in coverage.values()]
    text = README.format(
        codec=args.codec.upper(), dilate=args.dilate, obj_lo=min(objs), obj_hi=max(objs),
        mask_lo=min(masked), mask_hi=max(masked), blender=bpy.app.version_string, seed=args.seed,
        samples=samples, denoise=" + OpenImageDenoise" if denoised else ", no denoiser",
        hdri=HDRI, minutes=elapsed / 60.0, cores=os.cpu_count())
    (out / "README.md").write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="assets/demo", help="output folder (default assets/demo)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", type=int, default=32,
                        help="Cycles samples per pixel (x4 if OpenImageDenoise is unavailable)")
    parser.add_argument("--mask-samples", type=int, default=16)
    parser.add_argument("--percent", type=int, default=100, help="resolution percentage (tests)")
    parser.add_argument("--frames", default="1-8", help="frame range within 1-8, e.g. 1-8 or 4")
    parser.add_argument("--codec", choices=("dwaa", "zip", "piz"), default="dwaa")
    parser.add_argument("--dilate", type=int, default=3, help="mask dilation radius in pixels")
    parser.add_argument("--docs-png", default=None, help="also write frame 1 display-encoded here")
    parser.add_argument("--check-png", default=None,
                        help="also write frames first/last side by side with the mask in red here")
    parser.add_argument("--save-blend", default=None, help="also save the built scene here")
    args = parser.parse_args(argv)

    import bpy
    import cv2

    lo, _, hi = args.frames.partition("-")
    frames = [f for f in FRAMES if int(lo) <= f <= int(hi or lo)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    scene = build_scene(args.seed)
    denoised = configure_render(scene, WIDTH, HEIGHT, args.samples, args.seed, args.percent)
    cam = scene.camera
    if args.save_blend:
        bpy.ops.wm.save_as_mainfile(filepath=str(Path(args.save_blend).resolve()))
    print(f"scene built in {time.time() - t0:.1f}s (denoiser: {'OIDN' if denoised else 'off'})",
          flush=True)
    comment = (f"genvfx demo plate: procedural street, scripts/make_demo_plate.py --seed {args.seed}; "
               f"Cycles {scene.cycles.samples} spp{' + OIDN' if denoised else ''}; scene-linear "
               f"Rec.709; HDRI {HDRI} (CC0, Poly Haven via Blender)")
    samples = scene.cycles.samples
    plates, coverage = {}, {}
    with tempfile.TemporaryDirectory(prefix="genvfx_plate_") as tmp:
        tmp = Path(tmp)
        for frame in frames:
            t = time.time()
            scene.frame_set(frame)
            cam.location, cam.rotation_euler = camera_pose(frame)
            rgba = render_to(scene, tmp / f"beauty_{frame:04d}.exr")
            rgba[..., 3] = 1.0
            write_plate(out / f"plate.{frame:04d}.exr", rgba, args.codec, comment)
            plates[frame] = rgba
            print(f"frame {frame}: {time.time() - t:.1f}s, mean {rgba[..., :3].mean():.3f}, "
                  f"max {rgba[..., :3].max():.2f}", flush=True)

        # mask: the pile alone, everything else a holdout, no lighting needed
        for obj in scene.objects:
            if obj.type == "MESH" and obj.name != TARGET_NAME:
                obj.is_holdout = True
        scene.render.film_transparent = True
        scene.cycles.use_denoising = False
        scene.cycles.use_adaptive_sampling = False
        scene.cycles.samples = args.mask_samples
        scene.cycles.max_bounces = 0
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * args.dilate + 1,) * 2)
        masks = {}
        for frame in frames:
            scene.frame_set(frame)
            cam.location, cam.rotation_euler = camera_pose(frame)
            alpha = render_to(scene, tmp / f"mask_{frame:04d}.exr")[..., 3]
            mask = np.where(alpha > 0.01, 255, 0).astype(np.uint8)
            if args.dilate > 0:
                mask = cv2.dilate(mask, kernel)
            cv2.imwrite(str(out / f"mask.{frame:04d}.png"), mask)
            masks[frame] = mask
            coverage[frame] = (100.0 * (alpha > 0.5).mean(), 100.0 * (mask > 0).mean())
            print(f"mask {frame}: {100.0 * (alpha > 0.5).mean():.1f}% object, "
                  f"{100.0 * (mask > 0).mean():.1f}% masked", flush=True)
    elapsed = time.time() - t0
    print(f"total {elapsed:.1f}s", flush=True)
    if frames == list(FRAMES) and args.percent == 100:
        write_readme(out, args, samples, denoised, elapsed, coverage)

    if args.docs_png:
        Path(args.docs_png).parent.mkdir(parents=True, exist_ok=True)
        first = plates[frames[0]]
        cv2.imwrite(args.docs_png, cv2.cvtColor(linear_to_srgb8(first), cv2.COLOR_RGB2BGR))
    if args.check_png:
        tiles = []
        for frame in (frames[0], frames[-1]):
            rgb = linear_to_srgb8(plates[frame]).astype(np.float32)
            m = (masks[frame] > 0)[..., None]
            rgb = np.where(m, rgb * 0.5 + np.array([255, 0, 0]) * 0.5, rgb)
            tiles.append(rgb.astype(np.uint8))
        sheet = np.concatenate([tiles[0], np.full((tiles[0].shape[0], 8, 3), 255, np.uint8), tiles[1]], 1)
        cv2.imwrite(args.check_png, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
