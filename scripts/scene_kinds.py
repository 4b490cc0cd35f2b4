"""Scenes of other kinds than streets for the Relight corpus, built with ``bpy``.

Each builder puts one seeded scene into the current (empty) Blender scene and returns
where the cameras should look (a centre and a radius). Kinds:

* ``objects``: clusters of primitives (boxes, slabs, spheres, cylinders, cones, stairs,
  stacks) standing, lying or leaning on a textured ground, at any scale from a
  tabletop to a building block;
* ``rubble``: heaps of broken concrete and brick, slabs and rocks on the ground;
* ``terrain``: hills, boulders and trees;
* ``yard``: vehicles, benches, bins, fences, people-sized figures and steps outdoors;
* ``interior``: a room with a window, furniture, shelves, doors and figures, lit by the
  sky through the window and by ceiling lights.

Materials come from photographs (scikit-image's sample images, Blender's bundled HDRIs
used as textures) and from procedural patterns; the evaluation splits use photographs
and patterns the training splits never see (:func:`photo_paths`).
"""

from __future__ import annotations

import math
from pathlib import Path

from street_kit import MeshBuilder, Shader, build_debris, mat_asphalt, mat_concrete, mat_gravel, mat_plain

KINDS = ("objects", "rubble", "terrain", "yard", "interior")
#: scikit-image sample photographs used as textures, by split.
TRAIN_PHOTOS = ("brick", "grass", "gravel", "astronaut", "coffee", "rocket", "hubble_deep_field",
                "immunohistochemistry", "moon", "coins", "cell", "retina")
EVAL_PHOTOS = ("camera", "chelsea", "cat", "clock", "text", "colorwheel", "page")
TRAIN_HDRI_TEXTURES = ("city.exr", "forest.exr", "sunset.exr", "night.exr")
EVAL_HDRI_TEXTURES = ("courtyard.exr", "interior.exr", "studio.exr")


def tone(rng, lo, hi):
    base = rng.uniform(lo, hi)
    return tuple(min(1.0, base * rng.uniform(0.75, 1.25)) for _ in range(3))


def photo_paths(split: str, folder: Path) -> list[Path]:
    """The split's photographs written once as PNGs into ``folder``, with the HDRIs that
    serve as textures (read from Blender's own files)."""
    import bpy
    import numpy as np
    import skimage.data
    from skimage.io import imsave

    evaluation = split.startswith("eval")
    paths = []
    for name in EVAL_PHOTOS if evaluation else TRAIN_PHOTOS:
        path = folder / f"{name}.png"
        if not path.exists():
            image = np.asarray(getattr(skimage.data, name)())
            if image.dtype == bool:
                image = image.astype(np.uint8) * 255
            imsave(path, image[..., :3] if image.ndim == 3 else image, check_contrast=False)
        paths.append(path)
    hdri_dir = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "studiolights" / "world"
    paths += [hdri_dir / name for name in (EVAL_HDRI_TEXTURES if evaluation else TRAIN_HDRI_TEXTURES)]
    return paths


def mat_photo(name, path: Path, rng):
    """A photograph on the surface (metric UVs, random scale and turn), tinted, with a
    little bump from its own brightness."""
    import bpy

    s = Shader(name)
    texture = s.node("ShaderNodeTexImage")
    texture.image = bpy.data.images.load(str(path), check_existing=True)
    texture.extension = "MIRROR"
    mapping = s.node("ShaderNodeMapping")
    scale = math.exp(rng.uniform(math.log(0.05), math.log(1.5)))
    s.set(mapping, Vector=s.uv, Scale=(scale, scale, 1.0), Rotation=(0.0, 0.0, rng.uniform(0.0, math.tau)))
    s.link(mapping.outputs["Vector"], texture.inputs["Vector"])
    colour = texture.outputs["Color"]
    if path.suffix == ".exr":        # an HDRI: bring it into the albedo range
        colour = s.mix(1.0, colour, (0.35, 0.35, 0.35), blend="MULTIPLY")
    colour = s.mix(rng.uniform(0.0, 0.8), colour, tone(rng, 0.3, 1.0), blend="MULTIPLY")
    s.set(s.bsdf, Base_Color=colour, Roughness=rng.uniform(0.3, 0.95),
          Metallic=rng.choice((0.0, 0.0, 0.0, 0.4)),
          Normal=s.bump(texture.outputs["Color"], rng.uniform(0.0, 0.4), 0.01))
    return s.material


def mat_pattern(name, rng):
    """A procedural pattern (checker, cells, magic, mottled colour): variety of
    appearance, so that shape is learnt rather than texture."""
    s = Shader(name)
    kind = rng.choice(("checker", "cells", "magic", "mottled"))
    a, b = tone(rng, 0.05, 0.8), tone(rng, 0.05, 0.8)
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


class Palette:
    """Random materials for one scene: photographs, patterns and plain paints, with a few
    very bright ones (white render, snow, lit paper) so that bright surfaces are not sky."""

    def __init__(self, rng, photos: list[Path], count: int = 8):
        self.rng = rng
        self.materials = []
        for i in range(count):
            pick = rng.random()
            if pick < 0.5:
                self.materials.append(mat_photo(f"Photo{i}", rng.choice(photos), rng))
            elif pick < 0.75:
                self.materials.append(mat_pattern(f"Pattern{i}", rng))
            elif pick < 0.9:
                self.materials.append(mat_plain(f"Paint{i}", tone(rng, 0.02, 0.9), roughness=rng.uniform(0.2, 0.9),
                                                metallic=rng.choice((0.0, 0.0, 0.7)),
                                                noise_amount=rng.uniform(0.0, 0.4)))
            else:
                self.materials.append(mat_plain(f"White{i}", tone(rng, 0.8, 0.95), roughness=rng.uniform(0.5, 0.95)))

    def pick(self):
        return self.rng.choice(self.materials)


# ----------------------------------------------------------------------------- pieces

def _stairs(builder, rng, x, y, z, scale, material):
    steps, yaw = rng.randint(3, 9), rng.uniform(0.0, math.tau)
    width, rise, run = rng.uniform(1.0, 3.0) * scale, 0.17 * scale * 4, 0.3 * scale * 4
    for i in range(steps):
        h = rise * (i + 1)
        offset = run * i
        builder.box((x + offset * math.cos(yaw), y + offset * math.sin(yaw), z + h / 2), (run, width, h),
                    material, rotation=(0.0, 0.0, yaw))


def primitive(builder, round_builder, rng, x, y, z, scale, material):
    """One primitive standing, lying or leaning at (x, y) on the ground at height z;
    returns its top height."""
    kind = rng.choice(("box", "box", "slab", "sphere", "cylinder", "lying", "cone", "stairs", "stack"))
    yaw = rng.uniform(0.0, math.tau)
    if kind == "box":
        size = [scale * rng.uniform(0.4, 2.0) for _ in range(3)]
        builder.box((x, y, z + size[2] / 2), size, material, rotation=(0.0, 0.0, yaw))
        return z + size[2]
    if kind == "slab":
        size = (scale * rng.uniform(1.0, 3.0), scale * rng.uniform(0.08, 0.3), scale * rng.uniform(1.0, 3.0))
        lean = rng.choice((0.0, rng.uniform(-0.5, 0.5), math.pi / 2))
        builder.box((x, y, z + 0.5 * size[2] * abs(math.cos(lean)) + 0.5 * size[1]), size, material,
                    rotation=(lean, 0.0, yaw))
        return z + size[2]
    if kind == "sphere":
        r = scale * rng.uniform(0.3, 1.2)
        round_builder.sphere((x, y, z + r), r, material)
        return z + 2 * r
    if kind == "cylinder":
        r, h = scale * rng.uniform(0.2, 1.0), scale * rng.uniform(0.5, 3.0)
        round_builder.cylinder((x, y, z + h / 2), r, h, material, segments=32)
        return z + h
    if kind == "lying":
        r, h = scale * rng.uniform(0.2, 0.7), scale * rng.uniform(1.0, 3.0)
        round_builder.cylinder((x, y, z + r), r, h, material, rotation=(math.pi / 2, 0.0, yaw), segments=32)
        return z + 2 * r
    if kind == "cone":
        r, h = scale * rng.uniform(0.3, 1.2), scale * rng.uniform(0.6, 2.5)
        segments = rng.choice((4, 6, 32))
        target = round_builder if segments == 32 else builder
        target.cylinder((x, y, z + h / 2), r, h, material, segments=segments, radius_top=0.0,
                        rotation=(0.0, 0.0, yaw))
        return z + h
    if kind == "stairs":
        _stairs(builder, rng, x, y, z, scale * 0.5, material)
        return z + scale
    top = z
    for _ in range(rng.randint(2, 4)):          # a stack of boxes
        size = [scale * rng.uniform(0.4, 1.2) for _ in range(3)]
        builder.box((x + rng.uniform(-0.1, 0.1) * scale, y, top + size[2] / 2), size, material,
                    rotation=(0.0, 0.0, yaw + rng.uniform(-0.4, 0.4)))
        top += size[2]
    return top


def ground(col, rng, palette, size=400.0):
    g = MeshBuilder("Ground")
    material = palette.pick() if rng.random() < 0.7 else rng.choice(
        (mat_asphalt("Asphalt"), mat_gravel("Gravel"), mat_concrete("Slab", tone=tone(rng, 0.3, 0.6))))
    g.aabox((-size / 2, -size / 2, -0.2), (size / 2, size / 2, 0.0), material)
    g.build(col)


def _two_builders(name):
    return MeshBuilder(name), MeshBuilder(name + "Round")


def _build(col, builders):
    flat, round_ = builders
    flat.build(col, smooth_angle=30.0)
    round_.build(col, smooth_angle=50.0)


# ----------------------------------------------------------------------------- kinds

def build_objects(col, rng, palette):
    scale = math.exp(rng.uniform(math.log(0.25), math.log(5.0)))
    ground(col, rng, palette)
    builders = _two_builders("Objects")
    spread = scale * rng.uniform(1.0, 3.0)
    for _ in range(rng.randint(3, 14)):
        x, y = rng.gauss(0.0, spread), rng.gauss(0.0, spread)
        primitive(*builders, rng, x, y, 0.0, scale * rng.uniform(0.6, 1.6), palette.pick())
    _build(col, builders)
    return (0.0, 0.0, scale * 0.8), spread * 1.5 + 2 * scale


def build_rubble(col, rng, palette):
    ground(col, rng, palette)
    builders = _two_builders("Rubble")
    for i in range(rng.randint(1, 3)):
        build_debris(rng, col, name=f"Heap{i}", centre=(rng.uniform(-6, 6), rng.uniform(-6, 6), 0.0),
                     radii=(rng.uniform(1.0, 4.0), rng.uniform(1.0, 4.0), rng.uniform(0.6, 3.0)), pass_index=0)
    for _ in range(rng.randint(10, 60)):
        size = math.exp(rng.uniform(math.log(0.1), math.log(1.5)))
        builders[0].rock(rng, (rng.uniform(-12, 12), rng.uniform(-12, 12), size * 0.3),
                         (size, size * rng.uniform(0.5, 1.0), size * rng.uniform(0.3, 0.8)), palette.pick())
    for _ in range(rng.randint(0, 8)):
        primitive(*builders, rng, rng.uniform(-10, 10), rng.uniform(-10, 10), 0.0, rng.uniform(0.5, 2.0),
                  palette.pick())
    _build(col, builders)
    return (0.0, 0.0, 1.0), 12.0


def build_terrain(col, rng, palette):
    waves = [(rng.uniform(0.01, 0.08), rng.uniform(0.0, math.tau), rng.uniform(0.0, math.tau),
              rng.uniform(0.5, 6.0)) for _ in range(6)]

    def height(x, y):
        return sum(a * math.sin(f * (x * math.cos(t) + y * math.sin(t)) + p)
                   for f, t, p, a in waves) * 0.8

    land = MeshBuilder("Terrain")
    land.heightfield((0.0, 0.0, 0.0), 300.0, 150, height, palette.pick())
    land.build(col, smooth_angle=60.0)
    builders = _two_builders("Things")
    bark, leaves = palette.pick(), palette.pick()
    for _ in range(rng.randint(0, 25)):
        x, y = rng.uniform(-60, 60), rng.uniform(-60, 60)
        h = rng.uniform(2.0, 10.0)
        builders[1].cylinder((x, y, height(x, y) + h / 2 - 0.3), h * 0.03, h, bark, segments=12)
        builders[1].sphere((x, y, height(x, y) + h), h * rng.uniform(0.2, 0.4), leaves, segments=16)
    for _ in range(rng.randint(3, 30)):
        x, y = rng.uniform(-40, 40), rng.uniform(-40, 40)
        size = math.exp(rng.uniform(math.log(0.3), math.log(5.0)))
        builders[0].rock(rng, (x, y, height(x, y) + size * 0.2), (size, size * 0.8, size * 0.6), palette.pick(),
                         subdivisions=2)
    _build(col, builders)
    return (0.0, 0.0, height(0.0, 0.0) + 1.5), 40.0


def _figure(round_builder, x, y, z, height, material, yaw):
    """A standing person-sized figure: legs, torso, arms and head."""
    h = height
    for side in (-1, 1):
        dx, dy = side * 0.09 * h * math.cos(yaw), side * 0.09 * h * math.sin(yaw)
        round_builder.cylinder((x + dx, y + dy, z + 0.24 * h), 0.06 * h, 0.48 * h, material, segments=16)
        ax, ay = side * 0.2 * h * math.cos(yaw), side * 0.2 * h * math.sin(yaw)
        round_builder.cylinder((x + ax, y + ay, z + 0.62 * h), 0.04 * h, 0.34 * h, material, segments=12)
    round_builder.cylinder((x, y, z + 0.64 * h), 0.15 * h, 0.34 * h, material, segments=20)
    round_builder.sphere((x, y, z + 0.9 * h), 0.075 * h, material, segments=16)


def _vehicle(builders, rng, x, y, paint, glass, tyre):
    yaw = rng.uniform(0.0, math.tau)
    length, width = rng.uniform(3.5, 6.0), rng.uniform(1.6, 2.1)
    c, s = math.cos(yaw), math.sin(yaw)
    builders[0].box((x, y, 0.75), (length, width, 0.7), paint, rotation=(0.0, 0.0, yaw))
    builders[0].box((x - 0.1 * length * c, y - 0.1 * length * s, 1.35), (length * 0.5, width * 0.9, 0.5), glass,
                    rotation=(0.0, 0.0, yaw))
    for along in (-0.32, 0.32):
        for side in (-0.5, 0.5):
            wx = x + along * length * c - side * width * s
            wy = y + along * length * s + side * width * c
            builders[1].cylinder((wx, wy, 0.35), 0.35, 0.25, tyre, rotation=(math.pi / 2, 0.0, yaw), segments=24)


def build_yard(col, rng, palette):
    ground(col, rng, palette)
    builders = _two_builders("Yard")
    glass = mat_plain("Glass", (0.05, 0.06, 0.07), roughness=0.05, metallic=0.3)
    tyre = mat_plain("Tyre", (0.03, 0.03, 0.03), roughness=0.8)
    for _ in range(rng.randint(0, 4)):
        _vehicle(builders, rng, rng.uniform(-10, 10), rng.uniform(-10, 10),
                 mat_plain("Paint", tone(rng, 0.02, 0.8), roughness=0.3, coat=1.0), glass, tyre)
    for _ in range(rng.randint(1, 8)):
        _figure(builders[1], rng.uniform(-8, 8), rng.uniform(-8, 8), 0.0, rng.uniform(1.5, 1.95), palette.pick(),
                rng.uniform(0.0, math.tau))
    for _ in range(rng.randint(0, 5)):           # benches and tables: a top on legs
        x, y, yaw = rng.uniform(-10, 10), rng.uniform(-10, 10), rng.uniform(0.0, math.tau)
        top, length = rng.uniform(0.45, 0.8), rng.uniform(1.0, 2.5)
        material = palette.pick()
        builders[0].box((x, y, top), (length, rng.uniform(0.4, 0.9), 0.06), material, rotation=(0.0, 0.0, yaw))
        for along in (-0.45, 0.45):
            builders[0].box((x + along * length * math.cos(yaw), y + along * length * math.sin(yaw), top / 2),
                            (0.06, 0.4, top), material, rotation=(0.0, 0.0, yaw))
    for _ in range(rng.randint(0, 6)):           # bins and bollards
        r = rng.uniform(0.1, 0.4)
        h = rng.uniform(0.6, 1.2)
        builders[1].cylinder((rng.uniform(-10, 10), rng.uniform(-10, 10), h / 2), r, h, palette.pick(), segments=24)
    if rng.random() < 0.6:                        # a fence
        x0, y0, yaw = rng.uniform(-12, 0), rng.uniform(-12, 12), rng.uniform(0.0, math.tau)
        material = palette.pick()
        for i in range(rng.randint(5, 30)):
            builders[0].box((x0 + 0.3 * i * math.cos(yaw), y0 + 0.3 * i * math.sin(yaw), 0.6), (0.08, 0.03, 1.2),
                            material, rotation=(0.0, 0.0, yaw))
    if rng.random() < 0.6:                        # a building block with steps
        material = palette.pick()
        x, y = rng.uniform(-20, 20), rng.uniform(12, 25)
        builders[0].box((x, y + 5.0, 4.0), (rng.uniform(8, 20), 10.0, 8.0), material)
        _stairs(builders[0], rng, x, y - 2.5, 0.0, 0.5, palette.pick())
    _build(col, builders)
    return (0.0, 0.0, 1.0), 12.0


def build_interior(col, rng, palette):
    import bpy

    width, depth, height = rng.uniform(4.0, 12.0), rng.uniform(4.0, 12.0), rng.uniform(2.5, 4.5)
    room = MeshBuilder("Room")
    walls, floor = palette.pick(), palette.pick()
    room.aabox((-width / 2, -depth / 2, -0.2), (width / 2, depth / 2, 0.0), floor)
    room.aabox((-width / 2, -depth / 2, height), (width / 2, depth / 2, height + 0.2), palette.pick())
    room.aabox((-width / 2 - 0.2, -depth / 2, 0.0), (-width / 2, depth / 2, height), walls)
    room.aabox((-width / 2, depth / 2, 0.0), (width / 2, depth / 2 + 0.2, height), walls)
    room.aabox((-width / 2, -depth / 2 - 0.2, 0.0), (width / 2, -depth / 2, height), walls)
    # the fourth wall has a window the sky lights the room through
    sill, head = rng.uniform(0.5, 1.0), height - rng.uniform(0.3, 0.8)
    x = width / 2
    room.aabox((x, -depth / 2, 0.0), (x + 0.2, depth / 2, sill), walls)
    room.aabox((x, -depth / 2, head), (x + 0.2, depth / 2, height), walls)
    gap = rng.uniform(0.3, 0.8) * depth
    room.aabox((x, -depth / 2, sill), (x + 0.2, -gap / 2, head), walls)
    room.aabox((x, gap / 2, sill), (x + 0.2, depth / 2, head), walls)
    room.build(col, smooth_angle=30.0)
    builders = _two_builders("Furniture")
    for _ in range(rng.randint(2, 9)):
        kind = rng.choice(("table", "shelf", "sofa", "figure", "primitive", "door"))
        px, py = rng.uniform(-width / 2 + 0.8, width / 2 - 0.8), rng.uniform(-depth / 2 + 0.8, depth / 2 - 0.8)
        material, yaw = palette.pick(), rng.choice((0.0, math.pi / 2, rng.uniform(0.0, math.tau)))
        if kind == "table":
            top, length, breadth = rng.uniform(0.45, 0.8), rng.uniform(0.6, 2.0), rng.uniform(0.5, 1.0)
            builders[0].box((px, py, top), (length, breadth, 0.05), material, rotation=(0.0, 0.0, yaw))
            for ax in (-0.45, 0.45):
                for ay in (-0.45, 0.45):
                    lx = px + ax * length * math.cos(yaw) - ay * breadth * math.sin(yaw)
                    ly = py + ax * length * math.sin(yaw) + ay * breadth * math.cos(yaw)
                    builders[0].box((lx, ly, top / 2), (0.05, 0.05, top), material, rotation=(0.0, 0.0, yaw))
        elif kind == "shelf":
            tall, length = rng.uniform(1.0, 2.2), rng.uniform(0.6, 2.0)
            wx = -width / 2 + 0.2
            builders[0].box((wx, py, tall / 2), (0.4, length, tall), material)
            for level in range(1, rng.randint(2, 6)):
                builders[0].box((wx + 0.05, py, tall * level / 6), (0.36, length - 0.1, 0.03), palette.pick())
        elif kind == "sofa":
            length = rng.uniform(1.4, 2.4)
            builders[0].box((px, py, 0.22), (length, 0.9, 0.44), material, rotation=(0.0, 0.0, yaw))
            back = (px - 0.4 * math.sin(yaw), py + 0.4 * math.cos(yaw), 0.6)
            builders[0].box(back, (length, 0.2, 0.45), material, rotation=(0.0, 0.0, yaw))
        elif kind == "figure":
            _figure(builders[1], px, py, 0.0, rng.uniform(1.5, 1.95), material, rng.uniform(0.0, math.tau))
        elif kind == "door":
            builders[0].box((px, depth / 2 - 0.02, 1.0), (0.9, 0.06, 2.0), material)
        else:
            primitive(*builders, rng, px, py, 0.0, rng.uniform(0.2, 0.6), material)
    _build(col, builders)
    for i in range(rng.randint(0, 2)):
        lamp = bpy.data.lights.new(f"Ceiling{i}", "AREA")
        lamp.energy = rng.uniform(50.0, 400.0)
        lamp.size = rng.uniform(0.3, 1.5)
        obj = bpy.data.objects.new(f"Ceiling{i}", lamp)
        obj.location = (rng.uniform(-width / 3, width / 3), rng.uniform(-depth / 3, depth / 3), height - 0.05)
        col.objects.link(obj)
    return (0.0, 0.0, height / 2), 0.0


BUILDERS = {"objects": build_objects, "rubble": build_rubble, "terrain": build_terrain, "yard": build_yard,
            "interior": build_interior}


def aim_camera(cam, rng, centre, radius, kind):
    """A camera around (or, indoors, inside) the scene looking at it: any heading, eye
    height to a few storeys, pitch and roll varied, 18-85 mm."""
    from mathutils import Vector

    cx, cy, cz = centre
    lens = math.exp(rng.uniform(math.log(18.0), math.log(85.0)))
    if kind == "interior":
        position = Vector((cx + rng.uniform(-1.5, 1.5), cy + rng.uniform(-1.5, 1.5), rng.uniform(0.8, 2.0)))
        target = Vector((rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(0.3, 2.0)))
        lens = min(lens, 40.0)
    else:
        heading = rng.uniform(0.0, math.tau)
        distance = radius * rng.uniform(0.7, 1.6) * (lens / 35.0) ** 0.7
        height = math.exp(rng.uniform(math.log(0.4), math.log(max(1.0, radius * 0.8))))
        position = Vector((cx + distance * math.cos(heading), cy + distance * math.sin(heading), height))
        target = Vector((cx + rng.gauss(0.0, radius * 0.2), cy + rng.gauss(0.0, radius * 0.2), cz * rng.uniform(0.2, 1.5)))
    direction = target - position
    if direction.length < 1e-3:
        direction = Vector((1.0, 0.0, 0.0))
    rotation = direction.to_track_quat("-Z", "Y").to_euler()
    roll = rng.gauss(0.0, 4.0) if rng.random() < 0.9 else rng.uniform(-20.0, 20.0)
    cam.location = position
    cam.rotation_euler = rotation
    cam.rotation_euler.rotate_axis("Z", math.radians(roll))
    cam.data.lens = lens
