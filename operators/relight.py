"""``genvfx.relight_reset_light``: put a Relight node's light back to the neutral light
fitted to the plate (with which the node gives the plate back)."""

from __future__ import annotations

import bpy

from .node_target import NodeTarget


class GENVFX_OT_relight_reset_light(NodeTarget, bpy.types.Operator):
    """Set the light back to the one fitted to the plate (the node then shows the plate)"""

    bl_idname = "genvfx.relight_reset_light"
    bl_label = "Reset Light"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        node = self.target_node(context)
        if node is None:
            return {"CANCELLED"}
        if not hasattr(node, "reset_light") or not node.reset_light():
            self.report({"WARNING"}, "Generate first: the neutral light comes with the result")
            return {"CANCELLED"}
        return {"FINISHED"}

    def invoke(self, context, event):
        return self.execute(context)


classes = (GENVFX_OT_relight_reset_light,)
