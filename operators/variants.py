"""``genvfx.variants`` and ``genvfx.use_variant``: try several seeds on the current frame at
25 %, look at them side by side in the node's sidebar, and keep one as the node's seed.

Variants runs one job a seed (seed … seed+N-1, each frame filled on its own) on the warm
worker; each result becomes a thumbnail, not the node's loaded result, so what the node
shows does not change until Generate runs with the seed picked. Headless or with
``wait=True`` it waits for every variant before returning.
"""

from __future__ import annotations

from dataclasses import replace

import bpy
from bpy.props import IntProperty

from ..addon import jobs, session
from ..addon.scene_nodes import scene_of
from ..addon.variant_thumbnails import VARIANT_PROXY
from ..errors import GenVFXError
from .generate import print_progress
from .node_target import NodeTarget


def variant_jobs(context, node) -> list:
    """The jobs of a Variants request: the current frame, seeds node.seed upwards, 25 %."""
    scene = scene_of(context, node)
    base = jobs.build_job(context, node, [scene.frame_current])  # bakes the inputs once
    params = node.variant_params()
    first = int(node.seed)
    return [replace(base, seed=seed, proxy=VARIANT_PROXY, params=dict(params))
            for seed in range(first, first + int(node.variant_count))]


def _node_for(operator, context):
    node = operator.target_node(context)
    if node is not None and not getattr(node, "supports_variants", False):
        operator.report({"ERROR"}, f"{node.bl_label} has no variants")
        return None
    return node


class GENVFX_OT_variants(NodeTarget, bpy.types.Operator):
    """Fill the current frame with several seeds at 25 % to pick one (Esc cancels)"""

    bl_idname = "genvfx.variants"
    bl_label = "Variants"
    bl_options = {"REGISTER"}

    cancelled_report = "Variants cancelled"

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def execute(self, context):
        node = _node_for(self, context)
        if node is None:
            return {"CANCELLED"}
        try:
            node.state, node.message, node.progress = "RUNNING", "Preparing inputs…", 0.0
            variants = variant_jobs(context, node)
            if self.wait or bpy.app.background:
                session.run_variants(node, variants, context,
                                     on_event=print_progress if bpy.app.background else None)
                self.report({"INFO"}, f"{node.name}: {node.message}")
                return {"FINISHED"}
            self._job_ids = tuple(session.submit_variants(node, variants, context))
        except GenVFXError as error:
            return self.fail(node, error)
        return {"FINISHED"}


class GENVFX_OT_use_variant(NodeTarget, bpy.types.Operator):
    """Keep this variant: set the node's seed to it (Generate then makes it at full resolution)"""

    bl_idname = "genvfx.use_variant"
    bl_label = "Use Variant"
    bl_options = {"REGISTER", "UNDO"}

    seed: IntProperty(name="Seed", default=0, min=0)

    def execute(self, context):
        node = _node_for(self, context)
        if node is None:
            return {"CANCELLED"}
        node.seed = self.seed
        self.report({"INFO"}, f"{node.name}: seed {self.seed}; Generate makes it at full resolution")
        return {"FINISHED"}


classes = (GENVFX_OT_variants, GENVFX_OT_use_variant)
