"""``genvfx.cancel``: stop a node's running job (or every job)."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from ..addon import session
from ..addon.scene_nodes import find_node


class GENVFX_OT_cancel(bpy.types.Operator):
    """Stop generating (the frames already written stay in the cache)"""

    bl_idname = "genvfx.cancel"
    bl_label = "Cancel Generation"

    node_name: StringProperty(name="Node", default="", description="The genvfx node (empty: every job)")
    tree_name: StringProperty(name="Node Tree", default="")

    @classmethod
    def poll(cls, context):
        return bool(session.running_jobs())

    def execute(self, context):
        if self.node_name:
            node = find_node(context, self.node_name, self.tree_name)
            job_id = session.job_of(node) if node is not None else None
            if job_id is None:
                self.report({"WARNING"}, f"'{self.node_name}' is not generating")
                return {"CANCELLED"}
            session.cancel(job_id)
        else:
            session.cancel()
        self.report({"INFO"}, "Cancelling…")
        return {"FINISHED"}


classes = (GENVFX_OT_cancel,)
