"""Add-on preferences: which Python runs the backend, on which device, where the
cache and the model folders are, the studio's signing key — and how the backend is set
up (the button's operator is ``operators/setup_backend.py``).

Everything here is readable without the add-on being enabled (the ``bpy`` module
registering the classes itself, tests): :func:`get` falls back to the defaults.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile

import bpy
from bpy.props import EnumProperty, StringProperty

from . import backend_setup

# ``bl_ext.<repo>.genvfx.addon`` → ``bl_ext.<repo>.genvfx``; ``genvfx.addon`` → ``genvfx``.
ADDON_ID = __package__.rsplit(".", 1)[0]

BACKEND_MODULES = ("numpy", "OpenEXR", "PyOpenColorIO", "onnxruntime", "torch")
DEFAULT_CACHE = "//genvfx_cache/"

DEVICES = (
    ("AUTO", "Auto", "CUDA when there is one, else the CPU"),
    ("CUDA", "CUDA", "An NVIDIA GPU (an error when there is none)"),
    ("CPU", "CPU", "The processor (slow but always there)"),
)


class GenVFXPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    python: StringProperty(
        name="Backend Python", subtype="FILE_PATH", default="",
        description="Python interpreter (3.11 or later) with the backend's packages; empty = Blender's own "
                    "Python when it has them")
    device: EnumProperty(name="Device", items=DEVICES, default="AUTO")
    cache_dir: StringProperty(
        name="Cache", subtype="DIR_PATH", default=DEFAULT_CACHE,
        description="Where generated layers and baked inputs go ('//' = beside the .blend; "
                    "a temporary folder while the file is unsaved)")
    model_folders: StringProperty(
        name="Model Folders", default="",
        description="Folders holding model folders (each with a manifest.json), separated by ';'")
    signing_key: StringProperty(
        name="Signing Key", subtype="FILE_PATH", default="",
        description="The studio's Ed25519 private key (PEM) the generated folders are signed with, so that "
                    "'genvfx verify --trust KEY.pub.pem' can prove who wrote them; empty = the "
                    "GENVFX_SIGNING_KEY environment variable, or unsigned. Make one with "
                    "'genvfx verify --new-key KEY.pem'")

    def draw(self, context):
        layout = self.layout
        col = layout.column()
        col.prop(self, "python")
        status = backend_status()
        col.label(text=status, icon="CHECKMARK" if status.startswith("Ready") else "INFO")
        row = col.row()
        row.operator("genvfx.setup_backend", icon="CONSOLE")
        row.operator("genvfx.release_models", icon="X")
        col.prop(self, "device")
        col.prop(self, "cache_dir")
        col.prop(self, "model_folders")
        col.prop(self, "signing_key")


class _Defaults:
    python = ""
    device = "AUTO"
    cache_dir = DEFAULT_CACHE
    model_folders = ""
    signing_key = ""


def get(context=None):
    """The preferences, or the defaults when the add-on is not enabled as such."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID) if context.preferences else None
    return addon.preferences if addon is not None and addon.preferences is not None else _Defaults()


def missing_modules() -> list[str]:
    """Backend modules this very Python lacks (found without importing them)."""
    return [name for name in BACKEND_MODULES if importlib.util.find_spec(name) is None]


def backend_python(context=None) -> str | None:
    """The interpreter to start the worker with: the preference, else this Python
    (``sys.executable`` is Blender's bundled Python, or the venv's in the bpy module)."""
    path = bpy.path.abspath(get(context).python).strip()
    return path or None


def backend_status(context=None) -> str:
    path = backend_python(context)
    if path:
        return "Ready: " + path if os.path.isfile(path) else f"Not found: {path}"
    missing = missing_modules()
    if not missing:
        return "Ready: Blender's own Python has the backend packages"
    return f"Blender's Python lacks {', '.join(missing)}: press Set up Backend or choose a Python"


def device(context=None) -> str:
    return get(context).device.lower()


def cache_dir(context=None) -> str:
    """The cache folder, absolute. '//' needs a saved .blend; unsaved files use a
    temporary folder."""
    raw = get(context).cache_dir or DEFAULT_CACHE
    if raw.startswith("//") and not bpy.data.filepath:
        return os.path.join(tempfile.gettempdir(), raw[2:].strip("/\\") or "genvfx_cache")
    return os.path.normpath(bpy.path.abspath(raw))


def signing_key(context=None) -> str:
    """The signing key's path, absolute ('//' beside the .blend); "" when none is set (the
    worker then uses GENVFX_SIGNING_KEY when set)."""
    raw = (getattr(get(context), "signing_key", "") or "").strip()
    return os.path.normpath(bpy.path.abspath(raw)) if raw else ""


def model_folders(context=None) -> list[str]:
    raw = get(context).model_folders or ""
    return [bpy.path.abspath(part.strip()) for part in raw.split(";") if part.strip()]


def venv_dir() -> str:
    try:
        return bpy.utils.extension_path_user(ADDON_ID, path="backend-venv", create=True)
    except (ValueError, AttributeError):  # not loaded as an extension
        return os.path.join(bpy.utils.user_resource("SCRIPTS", path="genvfx"), "backend-venv")


def venv_python(folder: str) -> str:
    return backend_setup.venv_python(folder)


def setup_commands(folder: str) -> list[list[str]]:
    """Set up Backend's commands: a venv made by the Python Blender runs (``sys.executable``),
    the backend's requirements installed in it (:mod:`.backend_setup`)."""
    return backend_setup.setup_commands(folder)


classes = (GenVFXPreferences,)
