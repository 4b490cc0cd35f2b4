"""What every Blender test script shares. conftest.run_blender_script runs a script of
this folder as ``python <script>.py config.json`` with the bpy module, in a Blender user
folder of its own; the script calls :func:`run` with its body, which installs and enables
the extension built from this repository (``config["zip"]``), and then reads the
``results.json`` the body filled in ``config["out"]`` (or the traceback it died with).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

import bpy
import numpy as np
import OpenEXR

ADDON_ID = "bl_ext.user_default.genvfx"


def module(name: str = ""):
    """The installed extension's module ``name`` (e.g. ``"addon.headless"``); '' the package."""
    return importlib.import_module(f"{ADDON_ID}.{name}" if name else ADDON_ID)


def install(zip_path: str) -> list[str]:
    """Install the extension zip into the user repository and enable it; the operator's result."""
    return sorted(bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                           enable_on_install=True))


def preferences():
    return bpy.context.preferences.addons[ADDON_ID].preferences


def render(scene, out: str, name: str, frame: int | None = None) -> np.ndarray:
    """Render the compositor result (of ``frame``; default the current one) to
    ``<out>/<name>.exr``, keep its pixels as ``<name>.npy`` and return them (top row first)."""
    settings = scene.render.image_settings
    settings.file_format, settings.color_depth, settings.color_mode = "OPEN_EXR", "32", "RGBA"
    if frame is not None:
        scene.frame_set(frame)
    scene.render.filepath = os.path.join(out, name + ".exr")
    bpy.ops.render.render(write_still=True)
    pixels = np.asarray(OpenEXR.File(scene.render.filepath).parts[0].channels["RGBA"].pixels, np.float32)
    np.save(os.path.join(out, name + ".npy"), pixels)
    return pixels


class Layout:
    """Stands in for a UILayout (which needs a window): records what is drawn — property
    names, operator ids and ``"label: <text>"`` — and checks that each property and
    operator exists."""

    def __init__(self, drawn: list):
        self.drawn = drawn

    def __getattr__(self, name):  # row(), column(), box(), separator()…: more of the same layout
        return lambda *args, **kwargs: self

    def __setattr__(self, name, value):  # enabled, scale_y, an operator's properties
        object.__setattr__(self, name, value)

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        self.drawn.append(name)
        return self

    def operator(self, idname, **kwargs):
        group, name = idname.split(".")
        getattr(getattr(bpy.ops, group), name).get_rna_type()
        self.drawn.append(idname)
        return self

    def label(self, text="", **kwargs):
        self.drawn.append("label: " + text)
        return self


class Drawing:
    """A node with its draw methods called as plain Python functions of its class
    (Blender's own call would refuse a :class:`Layout` that is not a UILayout)."""

    def __init__(self, node, node_class):
        self.node, self.node_class = node, node_class

    def __getattr__(self, name):
        if name.startswith("draw"):
            return getattr(self.node_class, name).__get__(self)
        return getattr(self.node, name)


def draw_node(node, node_class, context, *methods: str) -> list:
    """What ``node`` draws with ``methods`` (e.g. "draw_buttons", "draw_buttons_ext")."""
    drawn: list = []
    drawing = Drawing(node, node_class)
    for method in methods:
        getattr(drawing, method)(context, Layout(drawn))
    return drawn


def run(body) -> None:
    """Install the extension, run ``body(config, results)`` and write ``results.json``:
    the results with ``ok``, or the traceback of what failed."""
    config = json.load(open(sys.argv[1]))
    results: dict = {}
    try:
        results["install"] = install(config["zip"])
        body(config, results)
        results["ok"] = True
    except Exception:
        results["traceback"] = traceback.format_exc()
    with open(os.path.join(config["out"], "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
