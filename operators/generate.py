"""``genvfx.generate``: run a genvfx node's generator for the current frame or the
frame range.

Interactive (the node's Generate button): inputs are baked if needed, the job goes
to the backend worker and the operator stays modal only to catch Esc, while a timer
shows progress on the node and in the status bar. Headless (``bpy.app.background``)
or with ``wait=True`` it waits for the job and loads the result before returning.
"""

from __future__ import annotations

import sys
import time

import bpy
from bpy.props import EnumProperty

from ..addon import jobs, session
from ..addon.node_properties import SCOPES
from ..addon.scene_nodes import scene_of
from ..backend.process.protocol import overall_fraction
from ..errors import GenVFXError
from .node_target import NodeTarget


class GENVFX_OT_generate(NodeTarget, bpy.types.Operator):
    """Generate this node's layers with the backend (Esc cancels)"""

    bl_idname = "genvfx.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER"}

    scope: EnumProperty(name="Scope", items=SCOPES, default="FRAME")

    cancelled_report = "Generation cancelled"

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            return False
        space = getattr(context, "space_data", None)
        if space is not None and getattr(space, "type", "") == "NODE_EDITOR":
            return getattr(space, "tree_type", "") == "CompositorNodeTree"
        return True

    def _job(self, context, node):
        scene = scene_of(context, node)
        frames = jobs.scope_frames(scene, self.scope)
        node.state, node.message, node.progress = "RUNNING", "Preparing inputs…", 0.0
        return jobs.build_job(context, node, frames)

    def execute(self, context):
        node = self.target_node(context)
        if node is None:
            return {"CANCELLED"}
        try:
            job = self._job(context, node)
            if self.wait or bpy.app.background:
                session.run(node, job, context, on_event=print_progress if bpy.app.background else None)
                self.report({"INFO"}, f"{node.name}: {node.message}")
                return {"FINISHED"}
            self._job_ids = (session.submit(node, job, context),)
        except GenVFXError as error:
            return self.fail(node, error)
        return {"FINISHED"}


_last_print = [0.0]


def print_progress(event: dict) -> None:
    """Headless progress on stderr: each frame, and at most one step line a second."""
    kind = event.get("type")
    if kind == "progress":
        now = time.monotonic()
        if now - _last_print[0] < 1.0:
            return
        _last_print[0] = now
        print(f"genvfx: frame {event.get('frame')} {overall_fraction(event) * 100:5.1f}%", file=sys.stderr)
    elif kind == "frame_done":
        print(f"genvfx: frame {event.get('frame')} done{' (cached)' if event.get('cached') else ''}",
              file=sys.stderr)


classes = (GENVFX_OT_generate,)
