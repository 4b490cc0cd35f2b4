"""The embedded estimator: the shipped NormalNet ONNX model run on a whole frame.

The plate is brought to the network's working size (the long side it was trained at,
``options.working_size`` in its manifest), padded to a multiple of 16, and run on the
frame and on its mirror image (whose outputs are mirrored back, X negated, and
averaged in). The outputs are brought back to the plate's size: normals bilinearly
upsampled and then sharpened against the plate with a guided filter (so edges follow
the picture, not the working-size grid), log depth and confidence bilinearly.
"""

from __future__ import annotations

import numpy as np

from ..runtime import onnx_session
from . import network
from .estimate import Estimate, from_working_size, to_working_size


class NormalNetEstimator:
    def __init__(self, manifest, device: str = "auto"):
        self.manifest = manifest
        self.working_size = int(manifest.option("working_size", network.WORKING_SIZE))
        self.model = onnx_session(str(manifest.path("normalnet.onnx")), device)

    def __call__(self, image: np.ndarray) -> Estimate:
        small, padding = to_working_size(image, self.working_size, network.MULTIPLE)
        height, width = small.shape[:2]
        inner = (height - padding[0], width - padding[1])
        coords = network.coordinate_channels(*inner, (0, 0, height, width))
        x = network.network_input(network.exposure_normalised(small), coords)
        out = self.model.run({"input": x})[0][0]
        # and the mirror image (X coordinates and normals mirrored back), averaged: steadier
        mirrored = x[..., ::-1].copy()
        mirrored[:, 3] *= -1.0
        back = self.model.run({"input": mirrored})[0][0][..., ::-1]
        back[0] *= -1.0
        out = (0.5 * (out + back)).transpose(1, 2, 0)[: inner[0], : inner[1]]
        confidence = 1.0 / (1.0 + np.exp(-np.clip(out[..., 4], -30.0, 30.0)))
        return from_working_size(image, normal=out[..., :3], log_depth=out[..., 3], confidence=confidence)
