"""Collapse Sim: the masked building breaks up and falls. The backend simulates and
renders the fragments, the dust and the clean plate behind them as passes; the node's
group puts them back together live, so grading the fragments, the amount of motion
blur or the dust never calls the backend.

Inside the node's group::

    Ring    = clamp((Frame - start) / RING_FRAMES, 0, 1)
    Behind  = mix(Ring, 1, Mask) × Near Mask
    Base    = mix(Image, CleanPlate, Behind)
    Blurred = Vector Blur(Fragments × Fragment Grade (RGB), Speed = Vector, Z = Depth,
                          Shutter = 0.5 × Motion Blur)
    Image   = Dust × Dust Tint (RGB)  over  (Blurred over Base), by Dust Opacity

``Behind`` is where the clean plate shows through: inside the mask from the start frame
(the fragments at rest cover it, so the start frame is the plate), and over the ring
the backend grows round the mask (the building's edge halo) within ``RING_FRAMES``
frames, the way the backend's Combined pass does it. ``Near Mask`` (the mask grown by
twice that ring) keeps the live plate everywhere else, which at a proxy scale is
sharper than the scaled-up clean plate. With Motion Blur 0 and the other controls at
their defaults the Image output is the Combined pass.

Only the fragments are motion blurred (premultiplied, over nothing, then laid over the
base): Blender's Vector Blur also resamples still pixels within a pixel along the motion
of nearby moving ones, which blurring the whole frame would do to the plate. Motion Blur
1 is a 180° shutter (half a frame, Blender's default), 2 a whole frame.
The Vector output is Blender's four-channel motion (XY previous→current, ZW
current→next) in pixels of the plate, also at a proxy scale. Outside the generated
frames the Image output is the plate; before generating, the plate and empty passes.
"""

from __future__ import annotations

import json
import math

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty

from ..backend.files import layers, sequences
from ..backend.generators.collapse import HEADER_WARNINGS
from ..errors import GenVFXError
from ..models.collapse.lighting import DEFAULT_DIRECTION
from ..models.collapse.shot import REVEAL_GROW, RING_FRAMES
from .collapse_simulation import read_simulation
from .frame_range import build_frame_range
from .group_nodes import (COLOR_CHANNELS, MATH_INPUTS, RESULT_NODE, clear_colour, generated_switch, link_passes,
                          proxy_scales, set_switches, socket_by_id)
from .group_nodes import add_node as _node
from .group_nodes import add_socket as _socket
from .group_nodes import math_node as _math
from .group_nodes import mix_node as _mix
from .node_base import GenVFXNodeBase
from .scene_nodes import scene_of

PASSES = ("Fragments", "Dust", "CleanPlate", "Depth", "Vector")
SHUTTER_PER_BLUR = 0.5  # Motion Blur 1 = Blender's default shutter (half a frame)
RING = "GenVFX Ring"
NEAR_MASK = "GenVFX Near Mask"
VECTOR_PROXY = "GenVFX Vector Proxy "  # + X, Y, Z, W: the motion in plate pixels
#: Job parameters (CollapseOptions fields) whose node property has another name.
OPTION_PROPERTIES = {"start": "start_frame"}


class CollapseSimNode(GenVFXNodeBase):
    """The Collapse Sim node's group, art direction and job (Blender registers it with its
    drawing: ``ui/nodes.py``)."""

    bl_idname = "GenVFXCollapseSimNode"
    bl_label = "Collapse Sim"
    bl_icon = "MOD_EXPLODE"

    generator = "collapse"
    layer = "Collapse"
    model_slot = "collapse"
    group_name = "GenVFX Collapse Sim"
    input_roles = {"Image": "plate", "Mask": "mask"}

    # Art direction (the job's parameters; see genvfx.models.collapse.options).
    start_frame: IntProperty(name="Start", default=1,
                             description="The frame the collapse starts on (before it: the plate)")
    fragments: IntProperty(name="Fragments", default=150, min=1, soft_min=8, soft_max=2000,
                           description="How many pieces the building breaks into")
    use_origin: BoolProperty(name="Set Origin", default=False,
                             description="Start the failure at Origin (off: the middle of the mask's base)")
    origin: FloatVectorProperty(name="Origin", size=2, default=(0.5, 1.0), min=0.0, max=1.0,
                                description="Where the failure starts, 0-1 of the frame from its top-left corner")
    direction_bias: FloatVectorProperty(name="Direction Bias", size=2, default=(0.0, 0.0), soft_min=-1.0,
                                        soft_max=1.0, description="The screen direction the failure runs faster in "
                                                                  "(x right, y up)")
    light_source: EnumProperty(name="Light", default="default", items=(
        ("default", "Default Sun", "A sun high on the left, in front of the building"),
        ("plate", "From Plate", "The plate's own light, fitted as Relight fits it (a guess: set the direction "
                                "when the plate shows where its shadows fall)"),
        ("direction", "Direction", "The sun toward Light Direction")))
    light_direction: FloatVectorProperty(name="Light Direction", size=3, default=DEFAULT_DIRECTION,
                                         subtype="DIRECTION", description="Toward the sun, in the camera's space "
                                                                          "(x right, y up, z toward the camera)")
    speed: FloatProperty(name="Speed", default=0.0, min=0.0, soft_max=200.0,
                         description="How fast the failure runs through the building, m/s (0: its height in 0.8 s)")
    size_falloff: FloatProperty(name="Size Falloff", default=0.6, min=0.0, max=1.0,
                                description="0: even fragment sizes, 1: much finer near the origin")
    height: FloatProperty(name="Height", default=0.0, min=0.0, soft_max=500.0, unit="LENGTH",
                          description="The building's height in metres (0: from the mask and a 50 mm camera)")
    gravity_scale: FloatProperty(name="Gravity", default=1.0, min=0.05, max=10.0,
                                 description="Gravity, times the Earth's (below 1: slower, bigger-looking)")
    dust: FloatProperty(name="Dust", default=1.0, min=0.0, max=4.0, description="How much dust (0: none)")
    quality: EnumProperty(name="Quality", default="preview", items=(
        ("preview", "Preview", "Ray-cast in seconds a frame, to direct the collapse"),
        ("final", "Final", "Rendered by Cycles in a Blender process: shadows on the plate, motion blur, the dust "
                           "as a lit volume (minutes a frame on a CPU)")))
    samples: IntProperty(name="Samples", default=64, min=1, max=4096, description="Cycles samples a pixel (Final)")
    motion_blur: BoolProperty(name="Motion Blur", default=True, description="Cycles motion blur (Final)")
    warnings: StringProperty(name="Warnings", default="[]",
                             description="What the backend clamped or guessed for the loaded result (JSON list)")

    def init(self, context):
        super().init(context)
        self.scope = "RANGE"  # a collapse is a shot, not a frame
        scene = getattr(context, "scene", None)
        if scene is not None:
            self.start_frame = scene.frame_start

    def build_group(self, tree) -> None:
        _socket(tree, "Image", "INPUT", "NodeSocketColor", default=(0.0, 0.0, 0.0, 1.0), description="The plate")
        _socket(tree, "Mask", "INPUT", "NodeSocketFloat", default=0.0, min_value=0.0, max_value=1.0,
                description="The building that collapses (1 = building)")
        _socket(tree, "Fragment Grade", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0, max_value=10.0,
                description="Multiplies the fragments' colour")
        _socket(tree, "Motion Blur", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0, max_value=2.0,
                description="1 = a 180° shutter (half a frame), 2 = a whole frame, 0 = none")
        _socket(tree, "Dust Opacity", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0, max_value=1.0,
                description="Multiplies the dust (premultiplied)")
        _socket(tree, "Dust Tint", "INPUT", "NodeSocketColor", default=(1.0, 1.0, 1.0, 1.0),
                description="Multiplies the dust's colour")
        _socket(tree, "Image", "OUTPUT", "NodeSocketColor", description="The plate with the building collapsing")
        _socket(tree, "Fragments", "OUTPUT", "NodeSocketColor", description="The falling pieces (premultiplied)")
        _socket(tree, "Dust", "OUTPUT", "NodeSocketColor", description="The dust (premultiplied)")
        _socket(tree, "CleanPlate", "OUTPUT", "NodeSocketColor", description="The plate without the building")
        _socket(tree, "Depth", "OUTPUT", "NodeSocketFloat", description="Distance to the fragments, metres")
        vector = _socket(tree, "Vector", "OUTPUT", "NodeSocketVector",
                         description="Motion in pixels: XY previous→current frame, ZW current→next")
        vector.dimensions = 4

        links = tree.links
        group_in = _node(tree, "NodeGroupInput", "Group Input", (-1400, 0))
        group_out = _node(tree, "NodeGroupOutput", "Group Output", (1500, 0))
        _node(tree, "CompositorNodeImage", RESULT_NODE, (-1400, -600), label="Generated Layers")
        scales = proxy_scales(tree, PASSES, (-1150, -500))
        gin = group_in.outputs

        # The motion, in plate pixels (the Vector pass counts pixels of the proxy).
        split = _node(tree, "CompositorNodeSeparateColor", "GenVFX Vector Channels", (-900, -1200))
        links.new(scales["Vector"].outputs["Image"], split.inputs["Image"])
        join = _node(tree, "CompositorNodeCombineColor", "GenVFX Vector", (-500, -1200))
        for index, (axis, channel) in enumerate(zip("XYZW", COLOR_CHANNELS)):
            links.new(_math(tree, "MULTIPLY", split.outputs[channel], 1.0, VECTOR_PROXY + axis,
                            (-700, -1100 - 120 * index)), join.inputs[channel])
        motion = join.outputs["Image"]

        # Where the clean plate shows: the mask now, the ring round it within RING_FRAMES.
        time = _node(tree, "CompositorNodeSceneTime", "GenVFX Collapse Time", (-1150, 500), label="Scene Time")
        ring = _math(tree, "MULTIPLY_ADD", time.outputs["Frame"], 0.0, RING, (-900, 500), clamp=True)  # set_ring
        behind = _mix(tree, "FLOAT", "GenVFX Behind", (-700, 500), gin["Mask"], ring, 1.0, label="Ring / Mask")
        covered = _math(tree, "GREATER_THAN", gin["Mask"], 0.02, "GenVFX Mask Coverage", (-900, 300))
        near = _node(tree, "CompositorNodeDilateErode", NEAR_MASK, (-700, 300), label="Near Mask")
        links.new(covered, near.inputs["Mask"])
        behind = _math(tree, "MULTIPLY", behind, near.outputs["Mask"], "GenVFX Behind Near", (-500, 400))
        base = _mix(tree, "RGBA", "GenVFX Base", (-300, 300), behind, gin["Image"], scales["CleanPlate"].outputs["Image"],
                    label="Plate / Clean Plate")

        # The fragments alone are motion blurred: Blender's Vector Blur also resamples still
        # pixels near moving ones, which would soften the plate.
        graded = _mix(tree, "RGBA", "GenVFX Fragment Grade", (-300, 0), 1.0, scales["Fragments"].outputs["Image"],
                      gin["Fragment Grade"], blend_type="MULTIPLY")
        blur = _node(tree, "CompositorNodeVecBlur", "GenVFX Motion Blur", (-50, 0), label="Motion Blur")
        links.new(graded, blur.inputs["Image"])
        links.new(motion, blur.inputs["Speed"])
        links.new(scales["Depth"].outputs["Image"], blur.inputs["Z"])
        links.new(_math(tree, "MULTIPLY", gin["Motion Blur"], SHUTTER_PER_BLUR, "GenVFX Shutter", (-300, -200)),
                  blur.inputs["Shutter"])
        layer = _node(tree, "CompositorNodeAlphaOver", "GenVFX Fragments Over", (200, 200), label="Fragments Over")
        links.new(base, layer.inputs["Background"])
        links.new(blur.outputs["Image"], layer.inputs["Foreground"])

        tinted = _mix(tree, "RGBA", "GenVFX Dust Tint", (200, -150), 1.0, scales["Dust"].outputs["Image"],
                      gin["Dust Tint"], blend_type="MULTIPLY")
        dusted = _node(tree, "CompositorNodeAlphaOver", "GenVFX Dust Over", (450, 100), label="Dust Over")
        links.new(layer.outputs["Image"], dusted.inputs["Background"])
        links.new(tinted, dusted.inputs["Foreground"])
        links.new(gin["Dust Opacity"], dusted.inputs["Factor"])

        # Outside the generated frames, and before generating: the plate, empty passes.
        in_range = build_frame_range(tree, (-1150, -1800))
        gated = _mix(tree, "RGBA", "GenVFX In Range Image", (700, 0), in_range, gin["Image"], dusted.outputs["Image"],
                     label="Plate / Collapse")
        generated_switch(tree, "Image", gin["Image"], gated, group_out.inputs["Image"], (1000, 100))
        clear = clear_colour(tree, (700, -500))
        for index, pass_name in enumerate(PASSES):
            source = motion if pass_name == "Vector" else scales[pass_name].outputs["Image"]
            generated_switch(tree, pass_name, clear, source, group_out.inputs[pass_name], (1000, -100 - 150 * index))
        set_switches(tree, False)

    def link_result(self, tree, image_node) -> None:
        link_passes(tree, image_node, PASSES)

    def set_proxy_scale(self, proxy: float) -> None:
        super().set_proxy_scale(proxy)
        factor = 1.0 / proxy if proxy > 0 else 1.0
        for axis in "XYZW":
            node = self.node_tree.nodes.get(VECTOR_PROXY + axis)
            if node is not None:
                socket_by_id(node.inputs, MATH_INPUTS[1]).default_value = factor

    def load_result(self, pattern: str, frames: list[int], proxy: float = 1.0, key: str = "") -> None:
        """Load the layers, then set the group's ring from the simulation's start frame and
        size, and keep the backend's warnings for the node to show."""
        super().load_result(pattern, frames, proxy, key)
        try:
            header = layers.read_header(sequences.frame_path(pattern, min(frames)))
            warnings = json.loads(str(header.get(HEADER_WARNINGS, "[]")))
        except (GenVFXError, ValueError):
            warnings = []
        self.warnings = json.dumps([str(warning) for warning in warnings])
        try:
            simulation = read_simulation(pattern)
            start = int(simulation["start"])
            width, height = (float(value) / (proxy or 1.0) for value in simulation["camera"][:2])
        except (GenVFXError, KeyError, ValueError, OSError):  # no simulation: the scene's size, the node's start
            render = bpy.context.scene.render
            start, width, height = self.start_frame, render.resolution_x, render.resolution_y
        self.set_ring(start, width, height)

    def set_ring(self, start: int, width: float, height: float) -> None:
        """Where and when the clean plate shows: from frame ``start``, over the ring the
        backend grows round the mask of a ``width``×``height`` plate."""
        ring = self.node_tree.nodes[RING]
        socket_by_id(ring.inputs, MATH_INPUTS[1]).default_value = 1.0 / RING_FRAMES
        socket_by_id(ring.inputs, MATH_INPUTS[2]).default_value = -float(start) / RING_FRAMES
        grow = 2.0 * REVEAL_GROW * math.hypot(width, height)
        self.node_tree.nodes[NEAR_MASK].inputs["Size"].default_value = int(math.ceil(grow)) + 2

    def clear_result(self) -> None:
        super().clear_result()
        self.warnings = "[]"

    def warning_list(self) -> list[str]:
        try:
            return [str(warning) for warning in json.loads(self.warnings or "[]")]
        except ValueError:
            return []

    def job_params(self) -> dict:
        """The art direction as :class:`genvfx.models.collapse.CollapseOptions` fields."""
        render = scene_of(bpy.context, self).render
        return {
            "start": int(self.start_frame),
            "fragments": int(self.fragments),
            "seed": int(self.seed),
            "origin": [_tidy(value) for value in self.origin] if self.use_origin else None,
            "direction_bias": [_tidy(value) for value in self.direction_bias],
            "speed": _tidy(self.speed),
            "size_falloff": _tidy(self.size_falloff),
            "height": _tidy(self.height),
            "gravity_scale": _tidy(self.gravity_scale),
            "dust": _tidy(self.dust),
            "fps": _tidy(render.fps / (render.fps_base or 1.0)),
            "quality": self.quality,
            "samples": int(self.samples),
            "motion_blur": bool(self.motion_blur),
            "light": {"default": None, "plate": "plate"}.get(self.light_source,
                                                             [_tidy(value) for value in self.light_direction]),
        }


def _tidy(value: float) -> float:
    """A property's single-precision value as the short decimal the artist typed."""
    return round(float(value), 6)
