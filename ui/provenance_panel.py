"""The compositor sidebar's "Provenance" panel (genvfx tab): for the active genvfx node,
the model, its licence, the seed, the generated share and the energy its frames took;
and a button that writes the AI-use report of the cache."""

from __future__ import annotations

import bpy

from ..addon.provenance import node_provenance, report_status
from ..addon.scene_nodes import is_genvfx_node
from . import in_compositor


class NODE_PT_genvfx_provenance(bpy.types.Panel):
    bl_idname = "NODE_PT_genvfx_provenance"
    bl_label = "Provenance"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "genvfx"

    @classmethod
    def poll(cls, context):
        return in_compositor(context)

    def draw(self, context):
        layout = self.layout
        node = context.active_node
        if not is_genvfx_node(node):
            layout.label(text="Select a genvfx node", icon="INFO")
        else:
            facts = node_provenance(node, context.scene.frame_current)
            if facts is None:
                layout.label(text="Not generated yet (no ledger)", icon="INFO")
            else:
                self.draw_facts(layout, facts)
        layout.separator()
        layout.operator("genvfx.write_report", icon="TEXT")
        status = report_status()
        if status:
            layout.label(text=status, icon="ERROR" if status.startswith("Report not") else "CHECKMARK")

    @staticmethod
    def draw_facts(layout, facts: dict) -> None:
        column = layout.column(align=True)
        column.label(text=f"Model: {facts['model']}", icon="NODE_COMPOSITING")
        column.label(text=f"Licence: {facts['licence']}")
        column.label(text=f"Seed: {facts['seed']}")
        if facts["frame"] is not None:
            column.label(text=f"Generated, frame {facts['frame']}: {100 * facts['share_frame']:.1f} %")
        column.label(text=f"Generated, {facts['frames']} frames: {100 * facts['share_shot']:.1f} %")
        column.label(text=f"Energy: {1000 * facts['energy_kwh']:.3g} Wh")
        column.label(text=f"Compute: {facts['cpu_seconds']:.1f} CPU s, {facts['gpu_seconds']:.1f} GPU s")
        box = layout.box().column(align=True)
        box.scale_y = 0.8
        box.label(text=f"Share: {facts['basis']}")
        box.label(text=f"Energy: {facts['energy_method']}")
        box.label(text=f"Device: {facts['device']}")
        if facts["entry"]:
            box.label(text=f"Ledger entry: {facts['entry'][:16]}…")


classes = (NODE_PT_genvfx_provenance,)
