"""Debris Fill: fill a masked part of a plate.

``load(manifest, device)`` gives the filler for a model from the registry: a callable
``(plate, mask, *, seed, source, on_step, **params) -> {"Combined", "Fill", "Mask"}``
on float32 scene-linear premultiplied RGBA arrays. The embedded default (framework
``builtin``) is exemplar-based completion (:mod:`.patchmatch`).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from ...backend.errors import GenVFXError
from .patchmatch import GENERATOR_VERSION, fill


def load(manifest, device: str = "auto") -> Callable:
    """The filler for ``manifest`` (a :class:`~genvfx.models.registry.ModelManifest`)."""
    if manifest.framework == "builtin":
        return partial(fill, device=device)
    raise GenVFXError("model", f"Model '{manifest.id}' ({manifest.framework}) has no Debris Fill adapter in this version",
                      "Use the embedded default 'genvfx.fill.patchmatch'.")


__all__ = ["GENERATOR_VERSION", "fill", "load"]
