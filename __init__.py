"""genvfx: generative VFX nodes for Blender's compositor.

This folder is at once the Blender extension and the Python package ``genvfx``.
Nothing here imports bpy at module level, so ``import genvfx`` works anywhere; the
Blender side (:mod:`.registration`, the composition root) is imported only when
Blender calls :func:`register`.
"""

from .version import __version__


def register():
    from . import registration

    registration.register()


def unregister():
    from . import registration

    registration.unregister()
