"""register()/unregister() of everything Blender-side: the composition root.

The package's :func:`genvfx.register` calls this module when Blender enables the
add-on; headless scripts reach it through :func:`ensure_registered`. It is the one
module that puts ``addon/`` (nodes, preferences, the session), ``operators/`` and
``ui/`` together: nothing below imports it back.
"""

from __future__ import annotations

import bpy

from .addon import preferences, session
from .operators import cancel, collapse, generate, relight, release, report, setup_backend, variants
from .ui import menu, nodes, progress, provenance_panel

CLASSES = (
    *preferences.classes,
    *setup_backend.classes,
    *nodes.classes,
    *generate.classes,
    *cancel.classes,
    *release.classes,
    *relight.classes,
    *collapse.classes,
    *variants.classes,
    *report.classes,
    *menu.classes,
    *provenance_panel.classes,
)


def is_registered() -> bool:
    """Whether the genvfx node types are known to this Blender."""
    return bpy.types.Node.bl_rna_get_subclass(nodes.GenVFXDebrisFillNode.bl_idname) is not None


def ensure_registered() -> None:
    """Register the genvfx classes unless Blender already has them (add-on enabled)."""
    if not is_registered():
        register()


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    menu.register()
    progress.register()
    session.register()


def unregister() -> None:
    session.unregister()  # stops the timer, cancels jobs, shuts the worker down (and clears the status bar)
    progress.unregister()
    menu.unregister()
    for cls in reversed(CLASSES):
        if getattr(cls, "is_registered", True):
            bpy.utils.unregister_class(cls)
