"""Debris Fill: paint over a masked region of a plate with generated material.

Inside the node's group::

    Image ──────────────────────────────┬─────────────── A ┐
    result.Combined ── Proxy scale ─────┼─────────────── B ├ Mix ── Switch ── Image
    result.Mask ── Proxy scale ── Blur (Edge Feather) × Mix × In Range ┘  (off: plate)
    result.Fill ── Proxy scale ──────────────────────────── Switch ── Fill (off: clear)
    result.Mask ── Proxy scale × In Range ───────────────── Switch ── Mask (off: input mask)

``In Range`` is 1 on the frames the result was generated for and 0 elsewhere (Scene
Time compared with the job's first and last frame), so scrubbing past them shows the
plate rather than a fill made for another frame.

``Mix`` (0 = plate, 1 = filled) and ``Edge Feather`` (px) are group inputs, so they
show on the node as sockets an artist can drive or animate. Outside the generated
mask the output is the live plate, so grading upstream still flows through.
"""

from __future__ import annotations

from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from ..models.fill import params as fill_params
from ..models.fill.temporal import DEFAULT_KEY_INTERVAL, DEFAULT_MODE
from .frame_range import build_frame_range
from .group_nodes import RESULT_NODE, clear_colour, generated_switch, link_passes, proxy_scales, set_switches
from .group_nodes import add_node as _node
from .group_nodes import add_socket as _socket
from .group_nodes import math_node as _math
from .group_nodes import mix_node as _mix
from .node_base import GenVFXNodeBase

PASSES = ("Combined", "Fill", "Mask")

TEMPORAL_MODES = (
    ("carry", "Carry", "Take what other frames show; synthesise the rest once and carry it along the shot "
              "with optical flow"),
    ("propagate", "Propagate", "Fill key frames; carry them along the shot with optical flow and blend them"),
    ("hold", "Hold", "Locked-off shot: one fill (the first key frame's) for every frame"),
    ("off", "Per Frame", "Fill every frame on its own (may boil on a moving shot)"),
)


class DebrisFillNode(GenVFXNodeBase):
    """The Debris Fill node's group, settings and job (Blender registers it with its
    drawing: ``ui/nodes.py``)."""

    bl_idname = "GenVFXDebrisFillNode"
    bl_label = "Debris Fill"
    bl_icon = "BRUSH_DATA"

    generator = "fill"
    layer = "DebrisFill"
    model_slot = "fill"
    group_name = "GenVFX Debris Fill"
    supports_variants = True
    # node input socket -> job input role
    input_roles = {"Image": "plate", "Mask": "mask"}

    def build_group(self, tree) -> None:
        _socket(tree, "Image", "INPUT", "NodeSocketColor", default=(0.0, 0.0, 0.0, 1.0),
                description="The plate to fill")
        _socket(tree, "Mask", "INPUT", "NodeSocketFloat", default=0.0, min_value=0.0, max_value=1.0,
                description="Where to fill (1 = replace)")
        _socket(tree, "Mix", "INPUT", "NodeSocketFloat", default=1.0, min_value=0.0, max_value=1.0,
                description="0 = the plate, 1 = the filled result")
        _socket(tree, "Edge Feather", "INPUT", "NodeSocketFloat", default=0.0, min_value=0.0, max_value=256.0,
                description="Blur of the fill's edge, in pixels")
        _socket(tree, "Image", "OUTPUT", "NodeSocketColor", description="The plate with the region filled")
        _socket(tree, "Fill", "OUTPUT", "NodeSocketColor", description="The generated fill (alpha = mask)")
        _socket(tree, "Mask", "OUTPUT", "NodeSocketFloat", description="The mask the fill was made for")

        links = tree.links
        group_in = _node(tree, "NodeGroupInput", "Group Input", (-900, 0))
        group_out = _node(tree, "NodeGroupOutput", "Group Output", (700, 0))
        result = _node(tree, "CompositorNodeImage", RESULT_NODE, (-900, -350), label="Generated Layers")

        scales = proxy_scales(tree, PASSES, (-600, -250))

        feather = _node(tree, "CompositorNodeBlur", "GenVFX Edge Feather", (-350, -450), label="Edge Feather")
        links.new(scales["Mask"].outputs["Image"], feather.inputs["Image"])
        links.new(group_in.outputs["Edge Feather"], feather.inputs["Size"])

        in_range = build_frame_range(tree, (-600, -800))

        amount = _math(tree, "MULTIPLY", group_in.outputs["Mix"], feather.outputs["Image"], "GenVFX Amount",
                       (-100, -300), clamp=True, label="Mix × Mask")
        gated = _math(tree, "MULTIPLY", amount, in_range, "GenVFX Amount In Range", (-100, -480), label="× In Range")
        mask_in_range = _math(tree, "MULTIPLY", scales["Mask"].outputs["Image"], in_range, "GenVFX Mask In Range",
                              (150, -600), label="Mask × In Range")
        mixed = _mix(tree, "RGBA", "GenVFX Mix", (150, -100), gated, group_in.outputs["Image"],
                     scales["Combined"].outputs["Image"], label="Plate / Fill")

        clear = clear_colour(tree, (150, -400))
        generated_switch(tree, "Image", group_in.outputs["Image"], mixed, group_out.inputs["Image"], (450, 100))
        generated_switch(tree, "Fill", clear, scales["Fill"].outputs["Image"], group_out.inputs["Fill"], (450, -150))
        generated_switch(tree, "Mask", group_in.outputs["Mask"], mask_in_range, group_out.inputs["Mask"], (450, -400))
        set_switches(tree, False)

    def link_result(self, tree, image_node) -> None:
        link_passes(tree, image_node, PASSES)

    # Over a shot (see models/fill/temporal.py).
    temporal: EnumProperty(name="Shot", items=TEMPORAL_MODES, default=DEFAULT_MODE,
                           description="How a frame range is filled")
    key_interval: IntProperty(name="Key Every", default=DEFAULT_KEY_INTERVAL, min=1, soft_max=48,
                              description="A key frame every this many frames (counted from the range's first)")
    key_frames: StringProperty(name="Key Frames", default="",
                               description="Explicit key frames, e.g. 1,13,25 (overrides Key Every)")
    # Generative (diffusers) models; empty / zero = the model's own default.
    prompt: StringProperty(name="Prompt", default="", description="What to paint into the hole (empty: debris)")
    negative_prompt: StringProperty(name="Negative", default="", description="What to keep out of it")
    strength: FloatProperty(name="Strength", default=1.0, min=0.0, max=1.0,
                            description="How far from the plate the hole may go")
    steps: IntProperty(name="Steps", default=0, min=0, soft_max=100, description="Denoising steps (0: the model's)")
    guidance: FloatProperty(name="Guidance", default=0.0, min=0.0, soft_max=30.0,
                            description="Prompt guidance scale (0: the model's)")

    def job_params(self, temporal: str = "") -> dict:
        """The fill's parameters: how the shot is treated (``temporal`` overrides the node's
        Shot setting) and, for a generative model, its settings."""
        settings = {}
        if self.takes_prompt():
            settings = {"prompt": self.prompt or None, "negative_prompt": self.negative_prompt or None,
                        "strength": float(self.strength), "steps": int(self.steps) or None,
                        "guidance": float(self.guidance) or None}
        return fill_params.job_params(temporal or self.temporal, self.key_frames, int(self.key_interval), **settings)

    def variant_params(self) -> dict:
        """A variant is one frame filled on its own."""
        return self.job_params(temporal="off")

    def takes_prompt(self) -> bool:
        manifest = self.chosen_model()
        return manifest is not None and manifest.framework == "diffusers"
