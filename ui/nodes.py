"""The genvfx compositor nodes as Blender registers them: each node of ``addon/`` (its
group, properties and job) with its drawing — the buttons on the node and the sidebar."""

from __future__ import annotations

import bpy

from ..addon.collapse_node import CollapseSimNode
from ..addon.debris_fill_node import DebrisFillNode
from ..addon.relight_node import RelightNode
from .node_drawing import NodeDrawing, point_at, draw_warning


class DebrisFillDrawing(NodeDrawing):
    def draw_extra_buttons(self, context, layout) -> None:
        layout.prop(self, "source", text="Source")
        col = layout.column(align=True)
        col.prop(self, "temporal", text="")
        if self.temporal != "off":
            row = col.row(align=True)
            row.enabled = not self.key_frames
            row.prop(self, "key_interval")
        if self.takes_prompt():
            col = layout.column(align=True)
            col.prop(self, "prompt", text="", icon="TEXT")
            col.prop(self, "negative_prompt", text="", icon="CANCEL")
            row = col.row(align=True)
            row.prop(self, "strength")
            row.prop(self, "steps")

    def draw_buttons_ext(self, context, layout):
        NodeDrawing.draw_buttons_ext(self, context, layout)
        layout.prop(self, "key_frames")
        if self.takes_prompt():
            layout.prop(self, "guidance")


class RelightDrawing(NodeDrawing):
    def draw_extra_buttons(self, context, layout) -> None:
        row = layout.row(align=True)
        row.prop(self, "temporal_strength")
        point_at(row.operator("genvfx.relight_reset_light", text="", icon="LOOP_BACK"), self)


class CollapseSimDrawing(NodeDrawing):
    def draw_extra_buttons(self, context, layout) -> None:
        col = layout.column(align=True)
        row = col.row(align=True)
        row.prop(self, "start_frame")
        row.prop(self, "fragments")
        row = col.row(align=True)
        row.prop(self, "height")
        row.prop(self, "dust")
        col.prop(self, "quality", text="")
        warnings = self.warning_list()
        if warnings:
            layout.label(text=f"{len(warnings)} warning(s): see the sidebar (N)", icon="ERROR")

    def draw_buttons_ext(self, context, layout):
        NodeDrawing.draw_buttons_ext(self, context, layout)
        box = layout.box()
        box.label(text="Art Direction")
        col = box.column(align=True)
        col.prop(self, "use_origin")
        row = col.row(align=True)
        row.enabled = self.use_origin
        row.prop(self, "origin", text="")
        col = box.column(align=True)
        col.prop(self, "light_source")
        row = col.row(align=True)
        row.enabled = self.light_source == "direction"
        row.prop(self, "light_direction", text="")
        col = box.column(align=True)
        col.prop(self, "direction_bias")
        col.prop(self, "speed")
        col.prop(self, "size_falloff")
        col.prop(self, "gravity_scale")
        box = layout.box()
        box.label(text="Quality")
        box.prop(self, "quality", expand=True)
        col = box.column(align=True)
        col.enabled = self.quality == "final"
        col.prop(self, "samples")
        col.prop(self, "motion_blur")
        warnings = self.warning_list()
        if warnings:
            box = layout.box()
            for warning in warnings:
                draw_warning(box, warning)
        row = layout.row()
        row.enabled = bool(self.result_pattern)
        point_at(row.operator("genvfx.collapse_import_simulation", icon="MOD_EXPLODE"), self)


class GenVFXDebrisFillNode(DebrisFillDrawing, DebrisFillNode, bpy.types.CompositorNodeCustomGroup):
    """Fill the masked region of the plate with generated debris or clean plate"""


class GenVFXRelightNode(RelightDrawing, RelightNode, bpy.types.CompositorNodeCustomGroup):
    """Estimate normals, albedo and shading of the plate, and relight it with a movable light"""


class GenVFXCollapseSimNode(CollapseSimDrawing, CollapseSimNode, bpy.types.CompositorNodeCustomGroup):
    """Bring the masked building down: simulated fragments, dust and the clean plate behind"""


#: In the order of the Add > Generative menu.
classes = (GenVFXDebrisFillNode, GenVFXRelightNode, GenVFXCollapseSimNode)
