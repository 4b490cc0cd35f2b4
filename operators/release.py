"""``genvfx.release_models``: make the backend worker drop its loaded models (frees
GPU memory for rendering); the next job loads them again."""

from __future__ import annotations

import bpy

from ..addon import session


class GENVFX_OT_release_models(bpy.types.Operator):
    """Free the memory the backend's models hold (GPU memory above all)"""

    bl_idname = "genvfx.release_models"
    bl_label = "Release Models"

    def execute(self, context):
        if session.running_jobs():
            self.report({"WARNING"}, "A job is running; cancel it first")
            return {"CANCELLED"}
        if session.release_models():
            self.report({"INFO"}, "Backend models released")
        else:
            self.report({"INFO"}, "The backend is not running; nothing to release")
        return {"FINISHED"}


classes = (GENVFX_OT_release_models,)
