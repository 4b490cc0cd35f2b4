"""What the operators that act on one genvfx node share: which node (by name, or the
active one) and whether to wait (scripts, farms) or report through the timer."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, StringProperty

from ..addon import session
from ..addon.scene_nodes import find_node


class NodeTarget:
    """Mix-in for operators: ``node_name``/``tree_name``/``wait``, :meth:`target_node`, and
    the modal part: after ``execute`` submits ``_job_ids`` (without waiting), the operator
    stays modal until they end, and Esc cancels them."""

    _timer = None
    _job_ids: tuple = ()
    cancelled_report = "Cancelled"

    node_name: StringProperty(name="Node", default="", description="The genvfx node (empty: the active node)")
    tree_name: StringProperty(name="Node Tree", default="", description="Its node tree (empty: search)")
    wait: BoolProperty(name="Wait", default=False, description="Block until the work is done (scripts, farms)")

    def target_node(self, context):
        """The node asked for, or None after reporting that there is none."""
        node = find_node(context, self.node_name, self.tree_name)
        if node is None:
            what = f"'{self.node_name}'" if self.node_name else "active"
            self.report({"ERROR"}, f"No genvfx node {what} found in the compositor")
        return node

    def fail(self, node, error) -> set[str]:
        """End with ``error``: on the node (ERROR and the message) and reported."""
        node.state, node.message, node.progress, node.job_id = "ERROR", str(error), 0.0, ""
        self.report({"ERROR"}, str(error))
        return {"CANCELLED"}

    def invoke(self, context, event):
        result = self.execute(context)
        if self.wait or bpy.app.background or context.window is None or result != {"FINISHED"} or not self._job_ids:
            return result
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if not set(session.running_jobs()).intersection(self._job_ids):
            return self._end(context, {"FINISHED"})
        if event.type == "ESC" and event.value == "PRESS":
            session.cancel(self._job_ids[0])  # a request's first job stands for all of it
            self.report({"WARNING"}, self.cancelled_report)
            return self._end(context, {"CANCELLED"})
        return {"PASS_THROUGH"}

    def _end(self, context, result):
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        return result
