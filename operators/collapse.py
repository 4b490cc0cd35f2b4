"""``genvfx.collapse_import_simulation``: bring a Collapse Sim node's simulation into the
scene as keyframed objects (one mesh a fragment, the ground, the plate's camera), to
render it in 3D, add effects or check it against the plate."""

from __future__ import annotations

import bpy

from ..addon import collapse_simulation
from ..addon.scene_nodes import scene_of
from ..errors import GenVFXError
from .node_target import NodeTarget


class GENVFX_OT_collapse_import_simulation(NodeTarget, bpy.types.Operator):
    """Add the simulation of this Collapse Sim node's result to the scene as keyframed objects and its camera"""

    bl_idname = "genvfx.collapse_import_simulation"
    bl_label = "Import Collapse Simulation"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def execute(self, context):
        node = self.target_node(context)
        if node is None:
            return {"CANCELLED"}
        if node.generator != "collapse" or not node.result_pattern:
            self.report({"ERROR"}, f"'{node.name}' has no Collapse Sim result: generate it first")
            return {"CANCELLED"}
        try:
            simulation = collapse_simulation.read_simulation(node.result_pattern)
        except GenVFXError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        scene = scene_of(context, node)
        collection = collapse_simulation.import_simulation(simulation, scene, name=f"{node.name} Simulation")
        frames = simulation["frames"]
        self.report({"INFO"}, f"{collection.name}: {len(simulation['vertex_counts'])} fragments, "
                              f"frames {int(frames[0])}–{int(frames[-1])}")
        return {"FINISHED"}

    def invoke(self, context, event):
        return self.execute(context)


classes = (GENVFX_OT_collapse_import_simulation,)
