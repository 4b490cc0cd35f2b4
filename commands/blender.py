"""The Blender side for commands that need it (``render``, ``demo``): the ``bpy`` module
with the genvfx classes registered. Imported only when such a command runs, so the
other commands work without bpy."""

from __future__ import annotations

from types import ModuleType


def headless() -> ModuleType:
    """:mod:`genvfx.addon.headless`, after registering the genvfx classes unless Blender has them."""
    from .. import registration
    from ..addon import headless as module

    registration.ensure_registered()
    return module
