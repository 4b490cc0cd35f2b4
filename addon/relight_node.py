"""Relight: the plate's normal, albedo, shading, residual and depth passes, and the plate
under a light the artist moves live.

The backend estimates the passes once; the light is applied inside the node's group
with compositor math, so dragging it never calls the backend::

    direction = normalize(mix(Light Direction, angles(Azimuth, Elevation), Use Angles))
    lambert   = max(0, (Normal · direction + Wrap) / (1 + Wrap))
    Shading'  = Ambient + Intensity × Colour × lambert
                        + Intensity 2 × Colour 2 × lambert(angles(Azimuth 2, Elevation 2))
    recombine = Albedo × Shading' + Residual
    ratio     = Image × Shading' / max(Shading, 1e-4)
    Image     = mix(recombine, ratio, Ratio Mode), alpha from the plate

The same formula as :mod:`genvfx.models.relight.light`. When a result loads, the light
inputs are set to the **neutral light** the backend fitted to the plate (in the EXR
header), with which the node gives the plate back; they are left alone when the artist
has moved the light since. "Reset Light" puts the neutral light back.
"""

from __future__ import annotations

import json

from bpy.props import FloatProperty, StringProperty

from ..backend.files import layers, sequences
from ..backend.generators.relight import HEADER_NEUTRAL
from ..models.relight.light import Light
from .frame_range import build_frame_range
from .group_nodes import (RESULT_NODE, VECTOR_MATH_INPUTS, clear_colour, feed, generated_switch, link_passes,
                          proxy_scales, set_switches, socket_by_id)
from .group_nodes import add_node as _node
from .group_nodes import add_socket as _socket
from .group_nodes import math_node as _math
from .group_nodes import mix_node as _mix
from .node_base import GenVFXNodeBase

PASSES = ("Combined", "Normal", "Albedo", "Shading", "Residual", "Depth")
SHADING_FLOOR = 1e-4
LIGHT_INPUTS = ("Light Direction", "Use Angles", "Azimuth", "Elevation", "Colour", "Intensity", "Ambient", "Wrap")


def _vector_math(tree, operation, name, location, *inputs):
    """A Vector Math node of ``inputs`` (sockets to link or values to set, in the order of
    its inputs; SCALE takes a vector and the Scale)."""
    node = _node(tree, "ShaderNodeVectorMath", name, location)
    node.operation = operation
    identifiers = (VECTOR_MATH_INPUTS[0], "Scale") if operation == "SCALE" else VECTOR_MATH_INPUTS
    for identifier, value in zip(identifiers, inputs):
        feed(tree, socket_by_id(node.inputs, identifier), value)
    return node.outputs["Value" if operation == "DOT_PRODUCT" else "Vector"]


def _angle_direction(tree, azimuth, elevation, prefix, y):
    """(cos e sin a, sin e, cos e cos a) from azimuth and elevation sockets in degrees."""
    az = _math(tree, "RADIANS", azimuth, None, f"{prefix} Azimuth Radians", (-1150, y + 100))
    el = _math(tree, "RADIANS", elevation, None, f"{prefix} Elevation Radians", (-1150, y - 50))
    cos_el = _math(tree, "COSINE", el, None, f"{prefix} Cos Elevation", (-950, y))
    x = _math(tree, "MULTIPLY", cos_el, _math(tree, "SINE", az, None, f"{prefix} Sin Azimuth", (-950, y + 150)),
              f"{prefix} Angle X", (-750, y + 150))
    up = _math(tree, "SINE", el, None, f"{prefix} Angle Y", (-750, y))
    z = _math(tree, "MULTIPLY", cos_el, _math(tree, "COSINE", az, None, f"{prefix} Cos Azimuth", (-950, y - 150)),
              f"{prefix} Angle Z", (-750, y - 150))
    combine = _node(tree, "ShaderNodeCombineXYZ", f"{prefix} Angle Direction", (-550, y))
    for axis, value in zip("XYZ", (x, up, z)):
        tree.links.new(value, combine.inputs[axis])
    return combine.outputs["Vector"]


def _direct_light(tree, normal, direction, wrap, intensity, colour, prefix, y):
    """intensity × colour × max(0, (normal · direction + wrap) / (1 + wrap)), per pixel."""
    cosine = _vector_math(tree, "DOT_PRODUCT", f"{prefix} N dot L", (50, y), normal, direction)
    wrapped = _math(tree, "ADD", cosine, wrap, f"{prefix} Plus Wrap", (250, y))
    lambert = _math(tree, "DIVIDE", wrapped, _math(tree, "ADD", wrap, 1.0, f"{prefix} One Plus Wrap", (250, y - 150)),
                    f"{prefix} Wrapped Cosine", (450, y))
    lambert = _math(tree, "MAXIMUM", lambert, 0.0, f"{prefix} Lambert", (650, y))
    strength = _math(tree, "MULTIPLY", lambert, intensity, f"{prefix} Light Strength", (650, y - 150))
    return _vector_math(tree, "SCALE", f"{prefix} Direct Light", (850, y), colour, strength)


class RelightNode(GenVFXNodeBase):
    """The Relight node's group, light and job (Blender registers it with its drawing:
    ``ui/nodes.py``)."""

    bl_idname = "GenVFXRelightNode"
    bl_label = "Relight"
    bl_icon = "LIGHT_SUN"

    generator = "relight"
    layer = "Relight"
    model_slot = "relight"
    group_name = "GenVFX Relight"
    input_roles = {"Image": "plate"}

    neutral_light: StringProperty(name="Neutral Light", default="",
                                  description="The light fitted to the plate (JSON), with which the node gives the plate back")
    temporal_strength: FloatProperty(name="Smoothing", default=0.6, min=0.0, max=0.99,
                                     description="Smoothing of the passes along the shot's optical flow (0 = off)")

    def build_group(self, tree) -> None:
        _socket(tree, "Image", "INPUT", "NodeSocketColor", default=(0.0, 0.0, 0.0, 1.0), description="The plate")
        _socket(tree, "Light Direction", "INPUT", "NodeSocketVector", default=(0.3, 0.6, 0.75),
                description="Direction toward the light in camera space (+X right, +Y up, +Z toward the camera)")
        _socket(tree, "Use Angles", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0, max_value=1.0,
                description="1 = the direction from Azimuth and Elevation, 0 = Light Direction")
        _socket(tree, "Azimuth", "INPUT", "NodeSocketFloat", default=20.0, min_value=-180.0, max_value=180.0,
                description="Degrees around the view axis, from the camera toward the right")
        _socket(tree, "Elevation", "INPUT", "NodeSocketFloat", default=35.0, min_value=-90.0, max_value=90.0,
                description="Degrees above the horizontal")
        _socket(tree, "Colour", "INPUT", "NodeSocketColor", default=(1.0, 1.0, 1.0, 1.0), description="Light colour")
        _socket(tree, "Intensity", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0, max_value=100.0)
        _socket(tree, "Ambient", "INPUT", "NodeSocketFloat", default=0.2, min_value=0.0, max_value=100.0,
                description="Light from everywhere, added to the directional light")
        _socket(tree, "Wrap", "INPUT", "NodeSocketFloat", default=0.25, min_value=0.0, max_value=1.0,
                description="Softness: how far the light wraps round the terminator")
        _socket(tree, "Azimuth 2", "INPUT", "NodeSocketFloat", default=-60.0, min_value=-180.0, max_value=180.0,
                description="A second light (rim, fill): degrees around the view axis")
        _socket(tree, "Elevation 2", "INPUT", "NodeSocketFloat", default=20.0, min_value=-90.0, max_value=90.0,
                description="The second light's degrees above the horizontal")
        _socket(tree, "Colour 2", "INPUT", "NodeSocketColor", default=(1.0, 1.0, 1.0, 1.0),
                description="The second light's colour")
        _socket(tree, "Intensity 2", "INPUT", "NodeSocketFloat", default=0.0, min_value=0.0, max_value=100.0,
                description="The second light's intensity (0: off)")
        _socket(tree, "Ratio Mode", "INPUT", "NodeSocketFloat", default=0.0, min_value=0.0, max_value=1.0,
                description="0 = Albedo × Shading' + Residual, 1 = Image × Shading' / Shading (keeps texture)")
        _socket(tree, "Image", "OUTPUT", "NodeSocketColor", description="The plate under the light")
        _socket(tree, "Normal", "OUTPUT", "NodeSocketVector", description="Camera-space normals")
        _socket(tree, "Albedo", "OUTPUT", "NodeSocketColor", description="Surface colour without the light")
        _socket(tree, "Shading", "OUTPUT", "NodeSocketColor", description="The neutral light's shading")
        _socket(tree, "Residual", "OUTPUT", "NodeSocketColor", description="Image - Albedo × Shading")
        _socket(tree, "Depth", "OUTPUT", "NodeSocketFloat", description="Relative depth (larger = farther)")

        links = tree.links
        group_in = _node(tree, "NodeGroupInput", "Group Input", (-1400, 0))
        group_out = _node(tree, "NodeGroupOutput", "Group Output", (1200, 0))
        _node(tree, "CompositorNodeImage", RESULT_NODE, (-1400, -600), label="Generated Layers")
        scales = proxy_scales(tree, PASSES, (-1150, -500))
        gin = group_in.outputs

        angles = _angle_direction(tree, gin["Azimuth"], gin["Elevation"], "GenVFX", 300)
        pick = _mix(tree, "VECTOR", "GenVFX Direction Source", (-350, 300), gin["Use Angles"], gin["Light Direction"],
                    angles, label="Vector / Angles")
        direction = _vector_math(tree, "NORMALIZE", "GenVFX Direction", (-150, 300), pick)

        # Shading' = ambient + Σ intensity × colour × max(0, (n·d + wrap) / (1 + wrap))
        normal = scales["Normal"].outputs["Image"]
        direct = _direct_light(tree, normal, direction, gin["Wrap"], gin["Intensity"], gin["Colour"], "GenVFX", 100)
        second = _direct_light(tree, normal, _angle_direction(tree, gin["Azimuth 2"], gin["Elevation 2"],
                                                              "GenVFX Light 2", -1000),
                               gin["Wrap"], gin["Intensity 2"], gin["Colour 2"], "GenVFX Light 2", -1100)
        lights = _vector_math(tree, "ADD", "GenVFX Both Lights", (1000, 0), direct, second)
        new_shading = _vector_math(tree, "ADD", "GenVFX New Shading", (1000, -50), lights,
                                   _vector_math(tree, "SCALE", "GenVFX Ambient", (650, -200), (1.0, 1.0, 1.0), gin["Ambient"]))

        recombine = _vector_math(tree, "MULTIPLY_ADD", "GenVFX Recombine", (1000, -200), scales["Albedo"].outputs["Image"],
                                 new_shading, scales["Residual"].outputs["Image"])
        floor = _vector_math(tree, "MAXIMUM", "GenVFX Shading Floor", (850, -350), scales["Shading"].outputs["Image"],
                             (SHADING_FLOOR,) * 3)
        ratio = _vector_math(tree, "MULTIPLY", "GenVFX Ratio", (1000, -350), gin["Image"],
                             _vector_math(tree, "DIVIDE", "GenVFX Shading Ratio", (850, -500), new_shading, floor))
        mode = _mix(tree, "VECTOR", "GenVFX Mode", (1150, -250), gin["Ratio Mode"], recombine, ratio,
                    label="Recombine / Ratio")
        plate_alpha = _node(tree, "CompositorNodeSeparateColor", "GenVFX Plate Alpha", (1000, -650))
        links.new(gin["Image"], plate_alpha.inputs["Image"])
        with_alpha = _node(tree, "CompositorNodeSetAlpha", "GenVFX Keep Alpha", (1300, -250))
        with_alpha.inputs["Type"].default_value = "Replace Alpha"
        links.new(mode, with_alpha.inputs["Image"])
        links.new(plate_alpha.outputs["Alpha"], with_alpha.inputs["Alpha"])

        # outside the generated frames, and before generating: the plate, empty passes
        in_range = build_frame_range(tree, (-1150, -1500))
        gate = _mix(tree, "RGBA", "GenVFX In Range Image", (1500, -100), in_range, gin["Image"],
                    with_alpha.outputs["Image"], label="Plate / Relit")
        generated_switch(tree, "Image", gin["Image"], gate, group_out.inputs["Image"], (1700, 0))
        clear = clear_colour(tree, (1400, -900))
        for index, pass_name in enumerate(PASSES[1:]):
            generated_switch(tree, pass_name, clear, scales[pass_name].outputs["Image"], group_out.inputs[pass_name],
                             (1700, -200 - 150 * index))
        group_out.location = (1950, 0)
        set_switches(tree, False)

    def link_result(self, tree, image_node) -> None:
        link_passes(tree, image_node, PASSES)

    def job_params(self) -> dict:
        return {"mode": "recombine", "temporal_strength": round(float(self.temporal_strength), 4)}

    # ------------------------------------------------------------------ the light
    def light_values(self) -> dict:
        return {name: _value(self.inputs[name].default_value) for name in LIGHT_INPUTS}

    def apply_light(self, light: dict) -> None:
        """Set the light inputs to ``light`` (a models.relight.Light as a dict)."""
        azimuth, elevation = Light.from_dict(light).azimuth_elevation
        self.inputs["Light Direction"].default_value = light["direction"]
        self.inputs["Azimuth"].default_value = azimuth
        self.inputs["Elevation"].default_value = elevation
        self.inputs["Colour"].default_value = (*light["colour"], 1.0)
        self.inputs["Intensity"].default_value = light["intensity"]
        self.inputs["Ambient"].default_value = light["ambient"]
        self.inputs["Wrap"].default_value = light["wrap"]

    def light_untouched(self) -> bool:
        """The light inputs still hold the neutral light last applied (or never got one)."""
        if not self.neutral_light:
            return True
        stored = json.loads(self.neutral_light)
        applied = stored.get("inputs")
        if applied is None:
            return True
        current = self.light_values()
        return all(_close(current[name], applied[name]) for name in LIGHT_INPUTS)

    def load_result(self, pattern: str, frames: list[int], proxy: float = 1.0, key: str = "") -> None:
        super().load_result(pattern, frames, proxy, key)
        try:
            header = layers.read_header(sequences.frame_path(pattern, min(frames)))
            neutral = json.loads(str(header.get(HEADER_NEUTRAL, "")))
        except Exception:  # a result without a neutral light keeps the node's light
            return
        if self.light_untouched():
            self.apply_light(neutral)
            self.inputs["Use Angles"].default_value = 1.0
        self.neutral_light = json.dumps({"light": neutral, "inputs": self.light_values()})

    def reset_light(self) -> bool:
        if not self.neutral_light:
            return False
        neutral = json.loads(self.neutral_light)["light"]
        self.apply_light(neutral)
        self.neutral_light = json.dumps({"light": neutral, "inputs": self.light_values()})
        return True


def _value(value):
    try:
        return [float(v) for v in value]
    except TypeError:
        return float(value)


def _close(a, b, tolerance=1e-4) -> bool:
    if isinstance(a, list) != isinstance(b, list):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b))
    return abs(a - b) <= tolerance
