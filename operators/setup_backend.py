"""``genvfx.setup_backend``: the preferences' Set up Backend button — a virtual environment
of the Python Blender runs, with the backend's packages, made by pip in the background (a
modal timer waits for it; headless it waits at once), then chosen as the Backend Python.
The commands come from :mod:`genvfx.addon.backend_setup`."""

from __future__ import annotations

import os
import subprocess
import sys

import bpy

from ..addon import backend_setup, preferences
from ..errors import GenVFXError


class GENVFX_OT_setup_backend(bpy.types.Operator):
    """Create a virtual environment of Blender's own Python with the backend's packages (needs online access)"""

    bl_idname = "genvfx.setup_backend"
    bl_label = "Set up Backend"

    _process = None
    _timer = None

    def execute(self, context):
        folder = preferences.venv_dir()
        try:
            commands = preferences.setup_commands(folder)
        except GenVFXError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if not bpy.app.online_access:
            command = backend_setup.command_line(commands)
            self.report({"WARNING"}, "Online access is off. Run this in a terminal, then set Backend Python to "
                        f"{preferences.venv_python(folder)}: {command}")
            context.window_manager.clipboard = command
            return {"CANCELLED"}
        script = "; ".join(
            f"subprocess.check_call({command!r})" for command in commands)
        log = os.path.join(folder, "setup.log")
        os.makedirs(folder, exist_ok=True)
        with open(log, "w") as handle:
            self._process = subprocess.Popen([sys.executable, "-c", "import subprocess; " + script],
                                             stdout=handle, stderr=subprocess.STDOUT)
        self._folder, self._log = folder, log
        if bpy.app.background:
            return self._finish(context, self._process.wait())
        self._timer = context.window_manager.event_timer_add(1.0, window=context.window)
        context.window_manager.modal_handler_add(self)
        self.report({"INFO"}, f"Setting up the backend in {folder} (log: {log})")
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._process.terminate()
            return self._finish(context, -1)
        if event.type == "TIMER" and self._process.poll() is not None:
            return self._finish(context, self._process.returncode)
        return {"PASS_THROUGH"}

    def _finish(self, context, code):
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
        if code != 0:
            self.report({"ERROR"}, f"Backend setup failed (see {self._log})")
            return {"CANCELLED"}
        prefs = preferences.get(context)
        if isinstance(prefs, preferences.GenVFXPreferences):
            prefs.python = preferences.venv_python(self._folder)
        self.report({"INFO"}, "Backend ready")
        return {"FINISHED"}


classes = (GENVFX_OT_setup_backend,)
