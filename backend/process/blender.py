"""Running code inside Blender from the backend (which never imports ``bpy`` itself):
Collapse Sim's final frames are rendered by Cycles in a Blender process of their own.

Which Blender: the binary named by ``GENVFX_BLENDER`` (the add-on sets it to the
Blender it runs in), else this Python when it has the ``bpy`` module (the ``blender``
extra). The package is imported from its own folder under the name ``genvfx``, as the
worker does. The process's stdout is read for announcements (lines that start with a
prefix the caller gives); Blender's own chatter and stderr go to a log file, whose
tail is shown when the process fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from ...errors import BadInput, GenVFXError
from .bootstrap import IMPORT_PACKAGE, PACKAGE_ROOT

BLENDER_VARIABLE = "GENVFX_BLENDER"
LOG_TAIL = 2000          # characters of the log shown when Blender fails

# sys.argv after "--" is [package root, arguments...] in Blender and in Python alike.
_BOOTSTRAP = ("import sys\nsys.argv = [sys.argv[0]] + sys.argv[sys.argv.index('--') + 1:]\n" + IMPORT_PACKAGE
              + "import importlib\nimportlib.import_module('genvfx.' + sys.argv[2]).main(sys.argv[3:])\n")


def blender_available() -> str | None:
    """What will run Blender code: the binary's path, ``"bpy"`` for this Python's
    module, or None when there is neither."""
    binary = os.environ.get(BLENDER_VARIABLE, "")
    if binary:
        return binary
    return "bpy" if importlib.util.find_spec("bpy") is not None else None


def command(module: str, arguments: list[str]) -> list[str]:
    """The command line that runs ``genvfx.<module>.main(arguments)`` inside Blender."""
    runner = blender_available()
    if runner is None:
        raise BadInput("Rendering in Blender needs Blender: this backend has neither the bpy module nor "
                       f"{BLENDER_VARIABLE}",
                       f"Install the blender extra (pip install 'genvfx[blender]'), set {BLENDER_VARIABLE} to "
                       "Blender's binary, or generate from inside Blender.")
    tail = ["--", str(PACKAGE_ROOT), module, *arguments]
    if runner == "bpy":
        return [sys.executable, "-c", _BOOTSTRAP, *tail]
    return [runner, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", _BOOTSTRAP, *tail]


def announcements(module: str, arguments: list[str], prefix: str, log: Path) -> Iterator[dict]:
    """Run ``module`` inside Blender and yield each JSON announcement it prints on a
    line starting with ``prefix``. Stopping the iteration (a cancelled job) ends the
    process; a failed process raises with the tail of ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        try:
            process = subprocess.Popen(command(module, arguments), stdout=subprocess.PIPE, stderr=sink,
                                       stdin=subprocess.DEVNULL, text=True, bufsize=1)
        except OSError as exc:
            raise BadInput(f"Blender did not start: {exc}", f"Check {BLENDER_VARIABLE} or the bpy module.") from exc
        try:
            for line in process.stdout:
                if line.startswith(prefix):
                    yield json.loads(line[len(prefix):])
                else:
                    sink.write(line.encode("utf-8", "replace"))
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if code != 0:
        text = log.read_text("utf-8", "replace")[-LOG_TAIL:]
        raise GenVFXError("blender", f"Blender stopped with code {code} while rendering (log: {log})\n{text}",
                          "Read the log; a render that ran out of memory needs fewer samples or a smaller proxy.")
