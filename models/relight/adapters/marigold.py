"""Marigold normals and intrinsics (diffusers) from a local folder.

The folder is a ``MarigoldNormalsPipeline`` or ``MarigoldIntrinsicsPipeline`` saved with
``save_pretrained`` (weights in safetensors), loaded with ``local_files_only``: nothing
is downloaded, nothing is unpickled. Marigold's normals use Relight's convention (X
right, Y up, Z toward the viewer). The intrinsics model's albedo (sRGB or linear, as its
``target_properties`` say) replaces plate / shading; its normals come from the embedded
network, and so do depth and confidence for both.

Manifest options: ``kind`` (``marigold-normals`` or ``marigold-intrinsics``), ``steps``
(denoising steps; default the model's), ``ensemble`` (predictions averaged; default 1),
``processing_resolution`` (default the model's), ``precision`` on CUDA (``fp16``,
``bf16``, ``fp32``; the CPU runs fp32). Noise is seeded: the same plate gives the same
passes.
"""

from __future__ import annotations

import numpy as np

from ....errors import GenVFXError
from ... import runtime
from ...colour import srgb_to_linear
from ..estimate import Estimate
from .base import display_rgb, embedded_estimator, unit


class MarigoldEstimator:
    def __init__(self, manifest, device: str = "auto", intrinsics: bool = False):
        diffusers = runtime.import_diffusers()
        self.manifest, self.intrinsics = manifest, intrinsics
        self.device = runtime.torch_device(device)
        name = "MarigoldIntrinsicsPipeline" if intrinsics else "MarigoldNormalsPipeline"
        pipeline_class = getattr(diffusers, name, None)
        if pipeline_class is None:
            raise GenVFXError("dependency", f"This diffusers ({diffusers.__version__}) has no {name}",
                              "Upgrade it with: pip install -U 'genvfx[diffusers]'")
        dtype = runtime.torch_dtype(manifest.option("precision", "fp16"), self.device)
        diffusers.utils.logging.disable_progress_bar()
        try:
            pipe = pipeline_class.from_pretrained(str(manifest.folder), local_files_only=True, use_safetensors=True,
                                                  **{runtime.diffusers_dtype_keyword(): dtype})
        except (OSError, ValueError, TypeError) as exc:
            raise GenVFXError("model", f"Could not load the Marigold model '{manifest.id}' from {manifest.folder}: {exc}",
                              f"The folder must be a {name} saved with save_pretrained, weights in safetensors.") from exc
        self.pipe = pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)
        self.base = embedded_estimator(device)

    def _predict(self, image: np.ndarray) -> np.ndarray:
        import torch

        options = {"num_inference_steps": self.manifest.option("steps"),
                   "ensemble_size": int(self.manifest.option("ensemble", 1)),
                   "processing_resolution": self.manifest.option("processing_resolution")}
        generator = runtime.torch_generator(0, self.device)
        rgb = display_rgb(image, self.manifest.input_colour_space)
        with torch.inference_mode():
            out = self.pipe(rgb[None], generator=generator, output_type="np",
                            **{k: v for k, v in options.items() if v is not None})
        return np.asarray(out.prediction, dtype=np.float32)

    def _albedo(self, prediction: np.ndarray) -> np.ndarray:
        properties = self.pipe.target_properties or {}
        names = list(properties.get("target_names", []))
        if "albedo" not in names:
            raise GenVFXError("model", f"Model '{self.manifest.id}' predicts {names or 'no named targets'}, not an albedo",
                              "Use a Marigold intrinsics model that predicts albedo (appearance or lighting).")
        albedo = prediction[names.index("albedo")]
        if properties.get("albedo", {}).get("prediction_space", "srgb") == "srgb":
            albedo = srgb_to_linear(np.clip(albedo, 0.0, 1.0))
        return np.clip(albedo, 0.0, 1.0)

    def __call__(self, image: np.ndarray) -> Estimate:
        base = self.base(image)
        prediction = self._predict(image)
        if self.intrinsics:
            base.albedo = self._albedo(prediction)
            return base
        base.normal = unit(prediction[0])
        return base
