"""register()/unregister() of everything Blender-side.

This is the one module of ``addon/`` that imports ``operators/`` and ``ui/``: it is
the composition root the package's ``__init__`` calls, not code they depend on.
"""

from __future__ import annotations

import bpy


def _classes():
    from ..operators import cancel, collapse, generate, relight, release, report, variants
    from ..ui import menu, provenance_panel
    from . import preferences
    from .collapse_node import GenVFXCollapseSimNode
    from .debris_fill_node import GenVFXDebrisFillNode
    from .relight_node import GenVFXRelightNode

    return (
        *preferences.classes,
        GenVFXDebrisFillNode,
        GenVFXRelightNode,
        GenVFXCollapseSimNode,
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
    return bpy.types.Node.bl_rna_get_subclass("GenVFXDebrisFillNode") is not None


def register() -> None:
    from ..ui import menu
    from . import session

    for cls in _classes():
        bpy.utils.register_class(cls)
    menu.register()
    session.register()


def unregister() -> None:
    from ..ui import menu
    from . import session

    session.unregister()  # stops the timer, cancels jobs, shuts the worker down
    menu.unregister()
    for cls in reversed(_classes()):
        if getattr(cls, "is_registered", True):
            bpy.utils.unregister_class(cls)
