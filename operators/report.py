"""Write the AI-use and compute report of the scene's genvfx cache (report.json and a
self-contained report.html in the cache folder), with the backend's Python."""

from __future__ import annotations

import os

import bpy

from ..errors import GenVFXError


class GENVFX_OT_write_report(bpy.types.Operator):
    bl_idname = "genvfx.write_report"
    bl_label = "Write Report"
    bl_description = ("Write report.html and report.json into the genvfx cache: frames generated, the share of the "
                      "screen generated, models and licences, seeds, compute, energy and emissions")

    grid_intensity: bpy.props.FloatProperty(name="Grid Intensity", default=475.0, min=0.0,
                                            description="Grams of CO2e per kWh of your electricity")

    def execute(self, context):
        from ..addon import preferences
        from ..backend.client import run_command

        cache = preferences.cache_dir(context)
        if not os.path.isdir(cache):
            self.report({"ERROR"}, f"No genvfx cache at {cache}: generate a node first")
            return {"CANCELLED"}
        try:
            run_command(["report", cache, "--grid-intensity", str(self.grid_intensity)],
                        python=preferences.backend_python(context))
        except GenVFXError as error:
            self.report({"ERROR"}, f"Report not written: {error}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Report written: {os.path.join(cache, 'report.html')}")
        return {"FINISHED"}


classes = (GENVFX_OT_write_report,)
