"""Debris Fill: fill a masked part of a plate.

``load(manifest, device)`` gives the filler for a model from the registry: a callable
``(plate, mask, *, seed, source, on_step, **params) -> {"Combined", "Fill", "Mask"}``
on float32 scene-linear premultiplied RGBA arrays. The embedded default (framework
``builtin``) is exemplar-based completion (:mod:`.patchmatch`); production models run
through :mod:`.adapters` (``onnx``: LaMa-style inpainting nets; ``diffusers``: SD, SDXL
and FLUX inpainting pipelines).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from ...errors import BadInput, GenVFXError
from .adapters import ADAPTERS_VERSION, LOADERS
from .hole import hole  # noqa: F401  (the hole rule, for the generator's share)
from .patchmatch import GENERATOR_VERSION as PATCHMATCH_VERSION
from .patchmatch import fill

#: Debris Fill's version in cache keys: the embedded default's and the adapters'.
GENERATOR_VERSION = f"{PATCHMATCH_VERSION}.{ADAPTERS_VERSION}"


EMBEDDED_PARAMETERS = {"patch_size", "structure"}


def _embedded_default(plate, mask, *, device: str, **params):
    """The PatchMatch fill, refusing parameters meant for generative models (a prompt…)."""
    foreign = sorted(set(params) - EMBEDDED_PARAMETERS - {"seed", "source", "on_step"})
    if foreign:
        raise BadInput(f"The embedded default takes no {', '.join(foreign)}",
                       "Pick a generative model (diffusers) for a prompt, or leave those settings empty.")
    return fill(plate, mask, device=device, **params)


def load(manifest, device: str = "auto") -> Callable:
    """The filler for ``manifest`` (a :class:`~genvfx.models.registry.ModelManifest`)."""
    if manifest.slot != "fill":
        raise GenVFXError("model", f"Model '{manifest.id}' is a {manifest.slot} model, not a Debris Fill model",
                          "Pick a model made for Debris Fill (slot 'fill').")
    if manifest.framework == "builtin":
        return partial(_embedded_default, device=device)
    loader = LOADERS.get(manifest.framework)
    if loader is None:
        raise GenVFXError("model", f"Model '{manifest.id}' ({manifest.framework}) has no Debris Fill adapter in this version",
                          f"Debris Fill runs {', '.join(sorted(LOADERS))} models, or the embedded default "
                          "'genvfx.fill.patchmatch'.")
    return loader(manifest, device)


__all__ = ["GENERATOR_VERSION", "fill", "load"]
