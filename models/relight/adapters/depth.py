"""Depth models (transformers ``AutoModelForDepthEstimation``: Depth Anything, DPT,
ZoeDepth…) from a local folder, for Relight's Depth pass.

The folder is a model and its image processor saved with ``save_pretrained`` (weights
in safetensors), loaded with ``local_files_only``. Normals and confidence come from the
embedded network. Relative models predict disparity (larger = nearer): it is inverted
into depth; manifest option ``output: "depth"`` marks a model that predicts depth.
The result is relative (median surface depth 1), like the embedded model's.
"""

from __future__ import annotations

import numpy as np

from ....errors import GenVFXError
from ... import runtime
from ..estimate import FAR, SURFACE, Estimate
from .base import display_rgb, embedded_estimator


class DepthEstimator:
    def __init__(self, manifest, device: str = "auto"):
        try:
            import transformers
        except ImportError as exc:
            raise GenVFXError("dependency", "transformers is not installed in the backend's Python",
                              "Install it with: pip install 'genvfx[diffusers]'") from exc
        self.manifest = manifest
        self.device = runtime.torch_device(device)
        self.output = manifest.option("output", "disparity")
        if self.output not in ("disparity", "depth"):
            raise GenVFXError("model", f"Model '{manifest.id}': output must be 'disparity' or 'depth', not '{self.output}'",
                              "Fix the manifest's options.")
        try:
            self.processor = transformers.AutoImageProcessor.from_pretrained(str(manifest.folder), local_files_only=True)
            self.model = transformers.AutoModelForDepthEstimation.from_pretrained(
                str(manifest.folder), local_files_only=True, use_safetensors=True).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise GenVFXError("model", f"Could not load the depth model '{manifest.id}' from {manifest.folder}: {exc}",
                              "The folder must hold a depth model and its image processor saved with save_pretrained, "
                              "weights in safetensors.") from exc
        self.base = embedded_estimator(device)

    def __call__(self, image: np.ndarray) -> Estimate:
        import cv2
        import torch

        base = self.base(image)
        rgb = display_rgb(image, self.manifest.input_colour_space)
        inputs = self.processor(images=rgb, return_tensors="pt", do_rescale=False)
        with torch.inference_mode():
            predicted = self.model(**{k: v.to(self.device) for k, v in inputs.items()}).predicted_depth
        value = predicted[0].float().cpu().numpy()
        height, width = image.shape[:2]
        value = cv2.resize(value, (width, height), interpolation=cv2.INTER_LINEAR)
        if self.output == "disparity":
            value = 1.0 / np.maximum(value - min(0.0, float(value.min())), 1e-6)
        surface = base.confidence > SURFACE
        reference = float(np.median(value[surface])) if surface.any() else float(np.median(value))
        depth = np.clip(value / max(reference, 1e-12), 0.0, FAR)
        base.depth = np.where(surface, depth, FAR).astype(np.float32)
        return base
