"""Shared building kit for the scripts that render procedural streets with ``bpy``.

Used by ``make_demo_plate.py`` (the demo shot) and ``make_relight_dataset.py`` (the
training and evaluation scenes of the Relight network): meshes built with bmesh,
procedural materials (brick, concrete, plaster, asphalt, paving, glass, rubble...), a
facade with windows and a shopfront, and the Cycles render helpers.
"""

from __future__ import annotations

import glob
import math
import random
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- geometry

def _axis_uv(co, normal):
    """Metric box-projected UVs: the two world axes across the face's dominant normal."""
    ax = max(range(3), key=lambda i: abs(normal[i]))
    if ax == 0:
        return co.y, co.z
    if ax == 1:
        return co.x, co.z
    return co.x, co.y


class MeshBuilder:
    """Accumulates many primitives in one bmesh, with per-piece material slots."""

    def __init__(self, name: str):
        import bmesh

        self.name = name
        self.bm = bmesh.new()
        self.materials: list = []

    def _slot(self, material) -> int:
        if material not in self.materials:
            self.materials.append(material)
        return self.materials.index(material)

    def _finish_piece(self, verts, material):
        index = self._slot(material)
        faces = {f for v in verts for f in v.link_faces}
        for face in faces:
            face.material_index = index
        return verts

    def box(self, center, size, material, rotation=(0.0, 0.0, 0.0)):
        import bmesh
        from mathutils import Euler, Matrix

        matrix = (Matrix.Translation(center) @ Euler(rotation).to_matrix().to_4x4()
                  @ Matrix.Diagonal((*size, 1.0)))
        verts = bmesh.ops.create_cube(self.bm, size=1.0, matrix=matrix)["verts"]
        return self._finish_piece(verts, material)

    def aabox(self, lo, hi, material):
        """Axis-aligned box from its two corners."""
        center = [(a + b) / 2 for a, b in zip(lo, hi)]
        size = [abs(b - a) for a, b in zip(lo, hi)]
        return self.box(center, size, material)

    def cylinder(self, center, radius, depth, material, rotation=(0.0, 0.0, 0.0), segments=20,
                 radius_top=None):
        import bmesh
        from mathutils import Euler, Matrix

        matrix = Matrix.Translation(center) @ Euler(rotation).to_matrix().to_4x4()
        verts = bmesh.ops.create_cone(
            self.bm, cap_ends=True, cap_tris=False, segments=segments, radius1=radius,
            radius2=radius if radius_top is None else radius_top, depth=depth,
            matrix=matrix)["verts"]
        return self._finish_piece(verts, material)

    def rock(self, rng: random.Random, center, size, material, subdivisions=1, jitter=0.28):
        """A faceted lump: a jittered icosphere, scaled and rotated."""
        import bmesh
        from mathutils import Euler, Matrix, Vector

        verts = bmesh.ops.create_icosphere(self.bm, subdivisions=subdivisions, radius=1.0,
                                           matrix=Matrix.Identity(4))["verts"]
        for v in verts:
            v.co *= 1.0 + rng.uniform(-jitter, jitter)
            # flatten some faces: a broken chunk has planar fracture faces
            if v.co.z > 0.55:
                v.co.z = 0.55 + (v.co.z - 0.55) * 0.3
        rotation = Euler((rng.uniform(0, math.tau), rng.uniform(0, math.tau), rng.uniform(0, math.tau)))
        matrix = (Matrix.Translation(Vector(center)) @ rotation.to_matrix().to_4x4()
                  @ Matrix.Diagonal((*size, 1.0)))
        bmesh.ops.transform(self.bm, matrix=matrix, verts=verts)
        return self._finish_piece(verts, material)

    def sphere(self, center, radius, material, segments=24):
        import bmesh
        from mathutils import Matrix

        verts = bmesh.ops.create_uvsphere(self.bm, u_segments=segments, v_segments=max(6, segments // 2),
                                          radius=radius, matrix=Matrix.Translation(center))["verts"]
        return self._finish_piece(verts, material)

    def heightfield(self, center, size, segments, height, material):
        """A square grid of ``size`` metres, each vertex raised by ``height(x, y)``."""
        import bmesh
        from mathutils import Matrix

        verts = bmesh.ops.create_grid(self.bm, x_segments=segments, y_segments=segments, size=size / 2,
                                      matrix=Matrix.Translation(center))["verts"]
        for v in verts:
            v.co.z += height(v.co.x, v.co.y)
        return self._finish_piece(verts, material)

    def build(self, collection, pass_index=0, smooth=False, smooth_angle=None):
        """The mesh as one object. ``smooth_angle`` (degrees): shade smooth, with edges
        sharper than that kept sharp (round things round, boxes flat)."""
        import bpy

        bm = self.bm
        bm.normal_update()
        if smooth_angle is not None:
            smooth = True
            limit = math.radians(smooth_angle)
            for edge in bm.edges:
                faces = edge.link_faces
                edge.smooth = len(faces) == 2 and faces[0].normal.angle(faces[1].normal, 0.0) < limit
        uv_layer = bm.loops.layers.uv.new("UVMap")
        for face in bm.faces:
            face.smooth = smooth
            for loop in face.loops:
                loop[uv_layer].uv = _axis_uv(loop.vert.co, face.normal)
        mesh = bpy.data.meshes.new(self.name)
        bm.to_mesh(mesh)
        bm.free()
        for material in self.materials:
            mesh.materials.append(material)
        obj = bpy.data.objects.new(self.name, mesh)
        obj.pass_index = pass_index
        collection.objects.link(obj)
        return obj


# -------------------------------------------------------------------------- materials

class Shader:
    """Small helper around a material's node tree."""

    def __init__(self, name: str):
        import bpy

        self.material = bpy.data.materials.new(name)
        self.nt = self.material.node_tree
        self.nt.nodes.clear()
        self.out = self.nt.nodes.new("ShaderNodeOutputMaterial")
        self.bsdf = self.nt.nodes.new("ShaderNodeBsdfPrincipled")
        self.link(self.bsdf.outputs["BSDF"], self.out.inputs["Surface"])
        self._uv = None

    def node(self, kind, **props):
        n = self.nt.nodes.new(kind)
        for key, value in props.items():
            setattr(n, key, value)
        return n

    def link(self, a, b):
        self.nt.links.new(a, b)

    def set(self, node, **inputs):
        for key, value in inputs.items():
            socket = node.inputs[key.replace("_", " ")]
            if hasattr(value, "is_output"):
                self.link(value, socket)
            else:
                socket.default_value = value
        return node

    @property
    def uv(self):
        if self._uv is None:
            self._uv = self.node("ShaderNodeTexCoord").outputs["UV"]
        return self._uv

    def world_pos(self):
        return self.node("ShaderNodeTexCoord").outputs["Object"]

    def noise(self, vector, scale, detail=6.0, roughness=0.55):
        n = self.node("ShaderNodeTexNoise")
        self.set(n, Vector=vector, Scale=scale, Detail=detail, Roughness=roughness)
        return n

    def voronoi(self, vector, scale, randomness=1.0):
        n = self.node("ShaderNodeTexVoronoi")
        self.set(n, Vector=vector, Scale=scale, Randomness=randomness)
        return n

    def ramp(self, factor, stops):
        n = self.node("ShaderNodeValToRGB")
        elements = n.color_ramp.elements
        while len(elements) < len(stops):
            elements.new(0.5)
        for element, (pos, colour) in zip(elements, stops):
            element.position = pos
            element.color = (*colour, 1.0) if len(colour) == 3 else colour
        self.link(factor, n.inputs[0])
        return n.outputs["Color"]

    def mix(self, factor, a, b, blend="MIX"):
        n = self.node("ShaderNodeMix", data_type="RGBA", blend_type=blend)
        sockets = [s for s in n.inputs if s.type == "RGBA"]
        for value, socket in zip((a, b), sockets[:2]):
            if hasattr(value, "is_output"):
                self.link(value, socket)
            else:
                socket.default_value = (*value, 1.0) if len(value) == 3 else value
        if hasattr(factor, "is_output"):
            self.link(factor, n.inputs[0])
        else:
            n.inputs[0].default_value = factor
        return [s for s in n.outputs if s.type == "RGBA"][0]

    def bump(self, height, strength, distance=0.02, invert=False, normal=None):
        n = self.node("ShaderNodeBump", invert=invert)
        self.set(n, Height=height, Strength=strength, Distance=distance)
        if normal is not None:
            self.link(normal, n.inputs["Normal"])
        return n.outputs["Normal"]

    def brick(self, vector, colour1, colour2, mortar, brick_width, row_height, mortar_size,
              offset=0.5, bias=0.0):
        n = self.node("ShaderNodeTexBrick", offset=offset, offset_frequency=2)
        self.set(n, Vector=vector, Scale=1.0, Brick_Width=brick_width, Row_Height=row_height,
                 Mortar_Size=mortar_size, Bias=bias)
        for key, value in (("Color1", colour1), ("Color2", colour2), ("Mortar", mortar)):
            if hasattr(value, "is_output"):
                self.link(value, n.inputs[key])
            else:
                n.inputs[key].default_value = (*value, 1.0)
        return n


def mat_brick(name, c1, c2, mortar=(0.32, 0.30, 0.27), dirt=0.35):
    s = Shader(name)
    grime = s.noise(s.uv, 0.35, detail=4)
    grime_col = s.ramp(grime.outputs["Factor"], [(0.35, (1, 1, 1)), (0.75, (0.55, 0.52, 0.48))])
    speckle = s.noise(s.uv, 18.0, detail=2)
    c2_var = s.mix(speckle.outputs["Factor"], c1, c2)
    b = s.brick(s.uv, c2_var, c2, mortar, brick_width=0.23, row_height=0.076, mortar_size=0.011,
                bias=0.1)
    base = s.mix(dirt, b.outputs["Color"], grime_col, blend="MULTIPLY")
    s.set(s.bsdf, Base_Color=base, Roughness=0.88)
    fine = s.noise(s.uv, 60.0, detail=2)
    n1 = s.bump(b.outputs["Factor"], 0.5, 0.01, invert=True)
    s.set(s.bsdf, Normal=s.bump(fine.outputs["Factor"], 0.15, 0.005, normal=n1))
    return s.material


def mat_concrete(name, tone=(0.42, 0.41, 0.39), panels=(3.0, 1.5), stains=0.45):
    s = Shader(name)
    n = s.noise(s.uv, 1.2, detail=8, roughness=0.6)
    base = s.ramp(n.outputs["Factor"], [(0.3, tuple(c * 0.8 for c in tone)),
                                        (0.7, tuple(min(1.0, c * 1.12) for c in tone))])
    v = s.voronoi(s.uv, 2.5)
    stain = s.ramp(v.outputs["Distance"], [(0.0, (0.7, 0.68, 0.65)), (0.45, (1, 1, 1))])
    streak_vec = s.node("ShaderNodeMapping")
    s.set(streak_vec, Vector=s.uv, Scale=(6.0, 0.25, 1.0))
    streak = s.noise(streak_vec.outputs["Vector"], 1.5, detail=3)
    streak_col = s.ramp(streak.outputs["Factor"], [(0.45, (1, 1, 1)), (0.75, (0.72, 0.70, 0.66))])
    base = s.mix(stains, base, stain, blend="MULTIPLY")
    base = s.mix(stains, base, streak_col, blend="MULTIPLY")
    if panels:
        grid = s.brick(s.uv, (1, 1, 1), (1, 1, 1), (0.45, 0.45, 0.45), brick_width=panels[0],
                       row_height=panels[1], mortar_size=0.018, offset=0.0)
        base = s.mix(1.0, base, grid.outputs["Color"], blend="MULTIPLY")
        normal = s.bump(grid.outputs["Factor"], 0.6, 0.02, invert=True)
    else:
        normal = None
    fine = s.noise(s.uv, 45.0, detail=3)
    s.set(s.bsdf, Base_Color=base, Roughness=0.9,
          Normal=s.bump(fine.outputs["Factor"], 0.2, 0.01, normal=normal))
    return s.material


def mat_plaster(name, tone):
    s = Shader(name)
    n = s.noise(s.uv, 0.8, detail=6)
    base = s.ramp(n.outputs["Factor"], [(0.35, tuple(c * 0.82 for c in tone)), (0.7, tone)])
    streak_vec = s.node("ShaderNodeMapping")
    s.set(streak_vec, Vector=s.uv, Scale=(5.0, 0.3, 1.0))
    streak = s.noise(streak_vec.outputs["Vector"], 1.2, detail=3)
    streak_col = s.ramp(streak.outputs["Factor"], [(0.5, (1, 1, 1)), (0.8, (0.7, 0.68, 0.64))])
    base = s.mix(0.6, base, streak_col, blend="MULTIPLY")
    fine = s.noise(s.uv, 30.0, detail=4)
    s.set(s.bsdf, Base_Color=base, Roughness=0.92,
          Normal=s.bump(fine.outputs["Factor"], 0.25, 0.01))
    return s.material


def mat_asphalt(name):
    s = Shader(name)
    n = s.noise(s.uv, 30.0, detail=10, roughness=0.7)
    base = s.ramp(n.outputs["Factor"], [(0.3, (0.035, 0.035, 0.037)), (0.7, (0.085, 0.083, 0.08))])
    patches = s.noise(s.uv, 0.25, detail=3)
    patch_col = s.ramp(patches.outputs["Factor"], [(0.4, (0.75, 0.75, 0.75)), (0.65, (1.15, 1.12, 1.1))])
    base = s.mix(1.0, base, patch_col, blend="MULTIPLY")
    s.set(s.bsdf, Base_Color=base, Roughness=0.85,
          Normal=s.bump(n.outputs["Factor"], 0.35, 0.01))
    return s.material


def mat_paving(name):
    s = Shader(name)
    n = s.noise(s.uv, 3.0, detail=6)
    slab_a = s.ramp(n.outputs["Factor"], [(0.3, (0.26, 0.25, 0.24)), (0.7, (0.36, 0.35, 0.33))])
    b = s.brick(s.uv, slab_a, (0.31, 0.30, 0.29), (0.12, 0.12, 0.11), brick_width=0.6,
                row_height=0.6, mortar_size=0.008, offset=0.0, bias=0.2)
    fine = s.noise(s.uv, 40.0, detail=3)
    s.set(s.bsdf, Base_Color=b.outputs["Color"], Roughness=0.9,
          Normal=s.bump(b.outputs["Factor"], 0.5, 0.01, invert=True,
                        normal=s.bump(fine.outputs["Factor"], 0.2, 0.005)))
    return s.material


def mat_glass(name):
    s = Shader(name)
    n = s.noise(s.world_pos(), 0.7, detail=2)
    base = s.ramp(n.outputs["Factor"], [(0.3, (0.012, 0.014, 0.016)), (0.7, (0.05, 0.048, 0.045))])
    s.set(s.bsdf, Base_Color=base, Roughness=0.04, Specular_IOR_Level=0.6, Metallic=0.0)
    return s.material


def mat_plain(name, colour, roughness=0.6, metallic=0.0, coat=0.0, noise_amount=0.0):
    s = Shader(name)
    base = colour
    if noise_amount:
        n = s.noise(s.uv, 4.0, detail=4)
        base = s.ramp(n.outputs["Factor"], [(0.3, tuple(c * (1 - noise_amount) for c in colour)),
                                            (0.7, colour)])
    s.set(s.bsdf, Base_Color=base if hasattr(base, "is_output") else (*base, 1.0),
          Roughness=roughness, Metallic=metallic, Coat_Weight=coat)
    return s.material


def mat_rubble(name, tone, scale=6.0):
    """Broken concrete: mottled grey with dust, rough, with a grainy bump."""
    s = Shader(name)
    n = s.noise(s.uv, scale, detail=8, roughness=0.65)
    base = s.ramp(n.outputs["Factor"], [(0.25, tuple(c * 0.6 for c in tone)), (0.5, tone),
                                        (0.8, tuple(min(1.0, c * 1.25) for c in tone))])
    v = s.voronoi(s.uv, scale * 2.5)
    pits = s.ramp(v.outputs["Distance"], [(0.0, (0.55, 0.55, 0.55)), (0.25, (1, 1, 1))])
    base = s.mix(0.8, base, pits, blend="MULTIPLY")
    fine = s.noise(s.uv, scale * 12, detail=4)
    s.set(s.bsdf, Base_Color=base, Roughness=0.95,
          Normal=s.bump(fine.outputs["Factor"], 0.5, 0.02,
                        normal=s.bump(v.outputs["Distance"], 0.4, 0.03)))
    return s.material


def mat_gravel(name):
    """Crushed stone and dust between the chunks: small voronoi cells, strongly bumped."""
    s = Shader(name)
    v = s.voronoi(s.uv, 14.0)
    tone = s.ramp(v.outputs["Color"], [(0.0, (0.10, 0.095, 0.09)), (0.5, (0.30, 0.29, 0.27)),
                                       (1.0, (0.45, 0.43, 0.40))])
    edge = s.ramp(v.outputs["Distance"], [(0.0, (1, 1, 1)), (0.5, (0.35, 0.34, 0.33))])
    s.set(s.bsdf, Base_Color=s.mix(1.0, tone, edge, blend="MULTIPLY"), Roughness=0.95,
          Normal=s.bump(v.outputs["Distance"], 0.9, 0.04, invert=True))
    return s.material


def mat_wood(name):
    s = Shader(name)
    m = s.node("ShaderNodeMapping")
    s.set(m, Vector=s.uv, Scale=(1.0, 25.0, 25.0))
    n = s.noise(m.outputs["Vector"], 3.0, detail=6)
    base = s.ramp(n.outputs["Factor"], [(0.3, (0.20, 0.12, 0.06)), (0.7, (0.42, 0.28, 0.15))])
    s.set(s.bsdf, Base_Color=base, Roughness=0.8)
    return s.material


def mat_stripes(name, c1, c2, width=0.35):
    s = Shader(name)
    b = s.brick(s.uv, c1, c2, c1, brick_width=width, row_height=50.0, mortar_size=0.0, offset=0.0)
    s.set(s.bsdf, Base_Color=b.outputs["Color"], Roughness=0.8)
    return s.material


# ---------------------------------------------------------------------------- scene

def facade(builder_wall, builder_detail, side, x_face, y0, y1, height, wall_mat, mats, rng,
           depth=10.0, shop=True):
    """A building: a block whose street face is at ``x_face`` (left side: facing +x,
    right side: facing -x; side='back': face at y=x_face, facing -y), with windows.

    The window/frame/sill pieces go into ``builder_detail`` (shared materials)."""
    glass, frame, sill, sign = mats["glass"], mats["frame"], mats["sill"], mats["sign"]
    if side == "back":
        builder_wall.aabox((y0, x_face, 0.0), (y1, x_face + depth, height), wall_mat)
        builder_wall.aabox((y0 - 0.2, x_face - 0.35, height - 0.6), (y1 + 0.2, x_face, height - 0.25),
                           mats["sill"])
    else:
        sgn = 1.0 if side == "left" else -1.0        # outward normal along x
        back = x_face - sgn * depth
        builder_wall.aabox((min(x_face, back), y0, 0.0), (max(x_face, back), y1, height), wall_mat)
        # cornice
        builder_wall.aabox((min(x_face, x_face + sgn * 0.35), y0 - 0.15, height - 0.6),
                           (max(x_face, x_face + sgn * 0.35), y1 + 0.15, height - 0.25), mats["sill"])

    def piece(u0, u1, z0, z1, out0, out1, material):
        """Box in facade coordinates: u along the facade, z up, out = offset off the face."""
        if side == "back":
            builder_detail.aabox((u0, x_face - out1, z0), (u1, x_face - out0, z1), material)
        else:
            sgn = 1.0 if side == "left" else -1.0
            xa, xb = x_face + sgn * out0, x_face + sgn * out1
            builder_detail.aabox((min(xa, xb), u0, z0), (max(xa, xb), u1, z1), material)

    length = y1 - y0
    ground = 3.6 if shop else 0.0
    bay = rng.uniform(2.4, 2.9)
    n_bays = max(1, int((length - 0.8) // bay))
    margin = (length - n_bays * bay) / 2
    win_w, win_h = rng.uniform(1.0, 1.3), rng.uniform(1.4, 1.8)
    floor_h = rng.uniform(2.9, 3.3)
    z = ground + 0.9
    while z + win_h < height - 1.0:
        for i in range(n_bays):
            uc = y0 + margin + (i + 0.5) * bay
            u0, u1 = uc - win_w / 2, uc + win_w / 2
            piece(u0, u1, z, z + win_h, -0.01, 0.015, glass)                  # pane
            piece(u0 - 0.06, u0, z, z + win_h, -0.01, 0.06, frame)            # jambs
            piece(u1, u1 + 0.06, z, z + win_h, -0.01, 0.06, frame)
            piece(u0, u1, z + win_h - 0.06, z + win_h, -0.01, 0.06, frame)    # head
            piece(uc - 0.03, uc + 0.03, z, z + win_h, -0.01, 0.05, frame)     # mullion
            piece(u0, u1, z + win_h * 0.62, z + win_h * 0.62 + 0.05, -0.01, 0.05, frame)
            piece(u0 - 0.12, u1 + 0.12, z - 0.08, z, -0.01, 0.14, sill)       # sill
            piece(u0 - 0.08, u1 + 0.08, z + win_h, z + win_h + 0.14, -0.01, 0.07, sill)  # lintel
        z += floor_h
    if shop:
        # shopfront: big glazing with a fascia sign board and a stall riser
        u0, u1 = y0 + 0.5, y1 - 0.5
        piece(u0, u1, 0.0, 0.55, -0.01, 0.08, mats["riser"])
        piece(u0, u1, 0.55, 2.9, -0.01, 0.01, glass)
        n_div = max(2, int((u1 - u0) / 1.8))
        for k in range(n_div + 1):
            uk = u0 + (u1 - u0) * k / n_div
            piece(uk - 0.05, uk + 0.05, 0.55, 2.9, -0.01, 0.06, frame)
        piece(u0, u1, 2.9, 3.55, -0.01, 0.22, sign)
        piece(y0, y1, 3.55, 3.7, -0.01, 0.12, mats["sill"])



def build_debris(rng: random.Random, col, name="DebrisPile", centre=(-5.5, 8.6, 0.15),
                 radii=(1.7, 2.35, 2.1), pass_index=1):
    """A heap of broken concrete, bricks, planks and rebar as ONE object."""
    pile = MeshBuilder(name)
    concrete = mat_rubble("RubbleConcrete", (0.40, 0.39, 0.37))
    concrete_dark = mat_rubble("RubbleDark", (0.25, 0.24, 0.23), scale=9.0)
    core = mat_gravel("RubbleGravel")
    brick = mat_plain("RubbleBrick", (0.30, 0.09, 0.05), roughness=0.9, noise_amount=0.4)
    wood = mat_wood("RubbleWood")
    rust = mat_plain("Rebar", (0.18, 0.07, 0.03), roughness=0.7, metallic=0.6)

    cx, cy, base = centre
    rx, ry, height = radii

    def surface(u, v):
        r2 = (u / rx) ** 2 + (v / ry) ** 2
        return height * math.sqrt(max(0.0, 1.0 - r2))

    # core mound so that the heap reads solid between the chunks
    pile.rock(rng, (cx, cy, base), (rx * 0.88, ry * 0.88, height * 0.82), core,
              subdivisions=3, jitter=0.06)
    for _ in range(150):                                  # concrete chunks
        a, r = rng.uniform(0, math.tau), math.sqrt(rng.random()) * 1.02
        u, v = r * rx * math.cos(a), r * ry * math.sin(a)
        size = rng.uniform(0.16, 0.42) * (1.15 - 0.35 * r)
        z = base + surface(u, v) * rng.uniform(0.8, 1.0)
        dims = (size * rng.uniform(0.8, 1.6), size * rng.uniform(0.7, 1.4), size * rng.uniform(0.45, 0.9))
        pile.rock(rng, (cx + u, cy + v, z), dims, concrete if rng.random() < 0.7 else concrete_dark)
    for _ in range(16):                                   # slab fragments
        a, r = rng.uniform(0, math.tau), math.sqrt(rng.random()) * 0.95
        u, v = r * rx * math.cos(a), r * ry * math.sin(a)
        pile.box((cx + u, cy + v, base + surface(u, v) * 0.9),
                 (rng.uniform(0.4, 0.8), rng.uniform(0.3, 0.6), rng.uniform(0.06, 0.12)), concrete,
                 rotation=(rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(0, math.tau)))
    for _ in range(70):                                   # loose bricks
        a, r = rng.uniform(0, math.tau), math.sqrt(rng.random()) * 1.1
        u, v = r * rx * math.cos(a), r * ry * math.sin(a)
        pile.box((cx + u, cy + v, base + surface(u, v) * rng.uniform(0.85, 1.0) + 0.03),
                 (0.22, 0.105, 0.068), brick,
                 rotation=(rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0, math.tau)))
    for _ in range(6):                                    # planks sticking out
        a, r = rng.uniform(0, math.tau), rng.uniform(0.2, 0.6)
        u, v = r * rx * math.cos(a), r * ry * math.sin(a)
        length = rng.uniform(1.4, 2.2)
        pile.box((cx + u, cy + v, base + surface(u, v) * 0.85), (length, 0.14, 0.035), wood,
                 rotation=(rng.uniform(-0.2, 0.2), rng.uniform(-0.45, 0.1), rng.uniform(0, math.tau)))
    for _ in range(7):                                    # rebar
        a, r = rng.uniform(0, math.tau), rng.uniform(0.1, 0.5)
        u, v = r * rx * math.cos(a), r * ry * math.sin(a)
        pile.cylinder((cx + u, cy + v, base + surface(u, v) * 0.9), 0.012, rng.uniform(0.9, 1.5), rust,
                      rotation=(rng.uniform(-0.9, 0.9), rng.uniform(-0.9, 0.9), 0.0), segments=6)
    return pile.build(col, pass_index=pass_index)


# --------------------------------------------------------------------------- render

def hdri_world(scene, hdri: str, strength: float, rotation_degrees: float):
    """The scene's world: one of Blender's bundled HDRIs (CC0, Poly Haven), turned about Z."""
    import bpy

    world = bpy.data.worlds.new("World")
    scene.world = world
    nt = world.node_tree
    nt.nodes.clear()
    env = nt.nodes.new("ShaderNodeTexEnvironment")
    hdri_dir = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "studiolights" / "world"
    env.image = bpy.data.images.load(str(hdri_dir / hdri), check_existing=True)
    coord = nt.nodes.new("ShaderNodeTexCoord")
    mapping = nt.nodes.new("ShaderNodeMapping")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(rotation_degrees))
    background = nt.nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = strength
    out = nt.nodes.new("ShaderNodeOutputWorld")
    nt.links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
    nt.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    nt.links.new(env.outputs["Color"], background.inputs["Color"])
    nt.links.new(background.outputs["Background"], out.inputs["Surface"])
    return world


def read_passes(path: Path) -> dict:
    """The passes of a multi-part EXR render (Blender 5 writes one part per pass), keyed
    by pass name, then channel letter."""
    import OpenEXR

    passes: dict = {}
    with OpenEXR.File(str(path), separate_channels=True) as exr:
        for part in exr.parts:
            for name, channel in part.channels.items():
                layer_pass, _, chan = name.rpartition(".")
                pass_name = layer_pass.rpartition(".")[2] or part.name().rpartition(".")[2]
                passes.setdefault(pass_name, {})[chan] = channel.pixels.astype(np.float32)
    return passes


def configure_render(scene, width: int, height: int, samples: int, seed: int, percent: int = 100):
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x, render.resolution_y = width, height
    render.resolution_percentage = percent
    render.use_compositing = False
    render.use_sequencer = False
    render.film_transparent = False
    render.image_settings.file_format = "OPEN_EXR"
    render.image_settings.color_mode = "RGBA"
    render.image_settings.color_depth = "16"
    render.image_settings.exr_codec = "ZIP"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = samples
    cycles.seed = seed
    cycles.use_adaptive_sampling = True
    cycles.adaptive_threshold = 0.02
    cycles.max_bounces = 6
    cycles.diffuse_bounces = 3
    cycles.glossy_bounces = 3
    cycles.transmission_bounces = 2
    cycles.transparent_max_bounces = 4
    cycles.caustics_reflective = False
    cycles.caustics_refractive = False
    cycles.sample_clamp_indirect = 10.0
    denoise = False
    try:
        import _cycles

        denoise = bool(getattr(_cycles, "with_openimagedenoise", False))
    except ImportError:
        pass
    if denoise:
        try:
            cycles.use_denoising = True
            cycles.denoiser = "OPENIMAGEDENOISE"
            cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
            cycles.denoising_prefilter = "ACCURATE"
        except (TypeError, AttributeError) as exc:
            print(f"denoiser unavailable ({exc}); rendering with more samples", flush=True)
            denoise = False
    if not denoise:
        cycles.use_denoising = False
        cycles.samples = samples * 4
    render.threads_mode = "AUTO"
    render.use_persistent_data = True     # only the camera moves between frames
    return denoise


def render_to(scene, path: Path) -> np.ndarray:
    """Render the current frame to an EXR at ``path`` and return its RGBA float32 pixels."""
    import bpy

    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    found = sorted(glob.glob(str(path) + "*"))
    if not found:
        raise RuntimeError(f"Blender wrote no file at {path}")
    return read_rgba(found[0])


def read_rgba(path: str) -> np.ndarray:
    """RGBA float32 of a single-layer EXR Blender wrote (tolerates layer prefixes/parts)."""
    import OpenEXR

    with OpenEXR.File(path, separate_channels=True) as exr:
        channels = {}
        for part in exr.parts:
            for name, channel in part.channels.items():
                channels[name.split(".")[-1]] = channel.pixels
    missing = [c for c in "RGBA" if c not in channels]
    if missing:
        raise RuntimeError(f"{path}: channels {missing} missing (have {sorted(channels)})")
    return np.stack([channels[c].astype(np.float32) for c in "RGBA"], axis=-1)

