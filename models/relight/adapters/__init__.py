"""Estimators for Relight: the embedded NormalNet and production models from the user's
folders. Keyed by (manifest framework, manifest ``options.kind``); heavy imports wait
until a model loads."""

from __future__ import annotations

from ..normalnet import NormalNetEstimator
from .depth import DepthEstimator
from .marigold import MarigoldEstimator


def load_normalnet(manifest, device: str = "auto"):
    return NormalNetEstimator(manifest, device)


def load_marigold_normals(manifest, device: str = "auto"):
    return MarigoldEstimator(manifest, device, intrinsics=False)


def load_marigold_intrinsics(manifest, device: str = "auto"):
    return MarigoldEstimator(manifest, device, intrinsics=True)


def load_depth(manifest, device: str = "auto"):
    return DepthEstimator(manifest, device)


LOADERS = {
    ("onnx", "normalnet"): load_normalnet,
    ("diffusers", "marigold-normals"): load_marigold_normals,
    ("diffusers", "marigold-intrinsics"): load_marigold_intrinsics,
    ("transformers", "depth"): load_depth,
}
