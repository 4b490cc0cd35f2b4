"""Adapters that run production inpainting models as Debris Fill fillers.

Each takes a model folder's manifest and a device and gives a filler with the same
calling convention as the embedded default. What they share (crops at the model's
size, colour conversion, the seam) lives in :mod:`.base`, :mod:`.crop` and :mod:`.seam`;
imports of heavy libraries (diffusers, torch, ONNX Runtime) wait until a model loads.
"""

from __future__ import annotations

from .diffusers_inpaint import DiffusersInpainter
from .onnx_inpaint import OnnxInpainter

#: Bump whenever an adapter's output for the same model and inputs changes (crop, colour,
#: seam): it is part of Debris Fill's version, so of every cache key.
ADAPTERS_VERSION = "1"


def load_onnx(manifest, device: str = "auto"):
    return OnnxInpainter(manifest, device)


def load_diffusers(manifest, device: str = "auto"):
    return DiffusersInpainter(manifest, device)


LOADERS = {"onnx": load_onnx, "diffusers": load_diffusers}
