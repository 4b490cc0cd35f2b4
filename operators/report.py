"""Write the AI-use and compute report of the scene's genvfx cache (report.json and a
self-contained report.html in the cache folder); see :func:`genvfx.addon.provenance.write_report`."""

from __future__ import annotations

import bpy

from ..addon.provenance import report_running, report_status, write_report
from ..backend.provenance.energy import DEFAULT_GRID_INTENSITY
from ..errors import GenVFXError


class GENVFX_OT_write_report(bpy.types.Operator):
    bl_idname = "genvfx.write_report"
    bl_label = "Write Report"
    bl_description = ("Write report.html and report.json into the genvfx cache: frames generated, the share of the "
                      "screen generated, models and licences, seeds, compute, energy and emissions")

    grid_intensity: bpy.props.FloatProperty(name="Grid Intensity", default=DEFAULT_GRID_INTENSITY, min=0.0,
                                            description="Grams of CO2e per kWh of your electricity")

    @classmethod
    def poll(cls, context):
        return not report_running()

    def execute(self, context):
        try:
            done = write_report(context, self.grid_intensity)
        except GenVFXError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if not done:
            self.report({"INFO"}, "Writing the report in the background")
            return {"FINISHED"}
        failed = report_status().startswith("Report not written")
        self.report({"ERROR" if failed else "INFO"}, report_status())
        return {"CANCELLED" if failed else "FINISHED"}


classes = (GENVFX_OT_write_report,)
