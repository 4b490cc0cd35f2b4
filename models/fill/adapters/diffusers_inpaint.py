"""diffusers inpainting pipelines from a local folder (SD / SDXL inpaint, FLUX Fill).

The folder is a pipeline saved with ``save_pretrained`` (``model_index.json`` and one
sub-folder per component), weights in safetensors. It loads with ``local_files_only``
and ``use_safetensors``: nothing is downloaded, nothing is unpickled.

Manifest options: ``pipeline`` (``StableDiffusionInpaintPipeline``,
``StableDiffusionXLInpaintPipeline``, ``FluxFillPipeline``; default
``AutoPipelineForInpainting``, which reads the folder's ``model_index.json``),
``precision`` on CUDA (``fp16``, ``bf16`` or ``fp32``; the CPU always runs fp32),
``resolution`` (native size: the long side of a crop; default from the model's config),
``multiple`` (crop sides snap to it; default the VAE's scale, × 2 for FLUX), ``defaults``
(parameter defaults for this model, e.g. its own prompt or guidance).

Parameters: ``prompt``, ``negative_prompt``, ``strength``, ``steps``, ``guidance``; and,
for callers that encode text themselves (or a folder saved without a text encoder),
``prompt_embeds``, ``negative_prompt_embeds``, ``pooled_prompt_embeds``,
``negative_pooled_prompt_embeds`` (arrays or tensors). The noise comes from a
``torch.Generator`` seeded with the frame's seed: same seed, same frame.
"""

from __future__ import annotations

import inspect
import json

import numpy as np

from ....errors import GenVFXError
from ... import runtime
from .base import CropInpainter
from .crop import SizeRule

PIPELINES = ("AutoPipelineForInpainting", "StableDiffusionInpaintPipeline",
             "StableDiffusionXLInpaintPipeline", "FluxFillPipeline")

DEFAULT_PROMPT = ("rubble and broken concrete debris on the ground, dust, scattered stones and rebar, "
                  "photographic, natural light, sharp focus")
DEFAULT_NEGATIVE = "people, person, text, watermark, logo, frame, blurry, cartoon, painting"

_EMBEDDINGS = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")


class DiffusersInpainter(CropInpainter):
    parameters = {
        "prompt": DEFAULT_PROMPT,
        "negative_prompt": DEFAULT_NEGATIVE,
        "strength": 1.0,
        "steps": 30,
        "guidance": 7.5,
        **{name: None for name in _EMBEDDINGS},
    }

    def __init__(self, manifest, device: str = "auto"):
        diffusers = runtime.import_diffusers()
        self.device = runtime.torch_device(device)
        self.pipe = _load_pipeline(diffusers, manifest, self.device)
        self.accepts = set(inspect.signature(self.pipe.__call__).parameters)
        self.is_flux = "transformer" in self.pipe.components and "unet" not in self.pipe.components
        if self.is_flux:  # FLUX Fill's own defaults
            self.parameters = {**self.parameters, "guidance": 30.0, "steps": 50}
        self.dtype = self.pipe.dtype
        super().__init__(manifest, _size_rule(manifest, self.pipe, self.is_flux))

    def steps(self, params):
        # img2img-style pipelines run int(steps × strength) of their steps
        return max(1, int(int(params["steps"]) * min(1.0, float(params["strength"]))))

    def paint(self, image, mask, *, seed, params, on_step):
        import torch

        height, width = image.shape[:2]
        total = self.steps(params)

        def step_end(pipe, step, timestep, tensors):
            on_step(step + 1, total)
            return tensors

        call = {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None],
            "mask_image": torch.from_numpy(np.ascontiguousarray(mask))[None, None],
            "height": height, "width": width,
            "num_inference_steps": int(params["steps"]),
            "strength": float(params["strength"]),
            "guidance_scale": float(params["guidance"]),
            "generator": runtime.torch_generator(seed, self.device),
            "output_type": "np",
            "callback_on_step_end": step_end,
        }
        embeddings = {name: self._tensor(params[name]) for name in _EMBEDDINGS if params[name] is not None}
        if "prompt_embeds" in embeddings:
            call.update(embeddings)
        else:
            if not self._has_text_encoder():
                raise GenVFXError("model", f"Model '{self.manifest.id}' has no text encoder to read a prompt with",
                                  "Use a pipeline folder with its text encoder and tokenizer, or pass prompt_embeds.")
            call.update(prompt=str(params["prompt"]), negative_prompt=str(params["negative_prompt"]), **embeddings)
        call = {name: value for name, value in call.items() if name in self.accepts}
        with torch.inference_mode():
            result = self.pipe(**call).images
        return np.asarray(result, np.float32)[0]

    def _has_text_encoder(self) -> bool:
        components = self.pipe.components
        return components.get("text_encoder") is not None and components.get("tokenizer") is not None

    def _tensor(self, value):
        import torch

        tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value, np.float32))
        return tensor.to(self.device, self.dtype)


def _load_pipeline(diffusers, manifest, device):
    name = manifest.option("pipeline", "AutoPipelineForInpainting")
    if name not in PIPELINES:
        raise GenVFXError("model", f"Model '{manifest.id}' names the pipeline '{name}', which Debris Fill does not drive",
                          f"Use one of: {', '.join(PIPELINES)}.")
    pipeline_class = getattr(diffusers, name, None)
    if pipeline_class is None:
        raise GenVFXError("dependency", f"This diffusers ({diffusers.__version__}) has no {name}",
                          "Upgrade it with: pip install -U 'genvfx[diffusers]'")
    dtype = runtime.torch_dtype(manifest.option("precision", "bf16" if "Flux" in name else "fp16"), device)
    kwargs = {"local_files_only": True, "use_safetensors": True, runtime.diffusers_dtype_keyword(): dtype}
    kwargs.update({component: None for component in _absent_components(manifest)})
    diffusers.utils.logging.disable_progress_bar()
    try:
        pipe = pipeline_class.from_pretrained(str(manifest.folder), **kwargs)
    except (OSError, ValueError) as exc:
        raise GenVFXError("model", f"Could not load the diffusers model '{manifest.id}' from {manifest.folder}: {exc}",
                          "The folder must be a pipeline saved with save_pretrained, weights in safetensors.") from exc
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _absent_components(manifest) -> list[str]:
    """Components the folder was saved without (``[null, null]`` in model_index.json),
    which ``from_pretrained`` must be told are meant to be missing."""
    try:
        index = json.loads(manifest.path("model_index.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GenVFXError("model", f"Model '{manifest.id}' has no readable model_index.json ({exc})",
                          "A diffusers model folder is a pipeline saved with save_pretrained.") from exc
    return [name for name, value in index.items()
            if not name.startswith("_") and isinstance(value, list) and value and all(v is None for v in value)]


def _size_rule(manifest, pipe, is_flux: bool) -> SizeRule:
    scale = int(getattr(pipe, "vae_scale_factor", 8))
    multiple = int(manifest.option("multiple", scale * 2 if is_flux else scale))
    resolution = manifest.option("resolution")
    if resolution is None:
        denoiser = pipe.components.get("unet") or pipe.components.get("transformer")
        sample = getattr(getattr(denoiser, "config", None), "sample_size", None)
        resolution = int(sample) * scale if isinstance(sample, int) and not is_flux else 1024 if is_flux else 512
    return SizeRule(resolution=int(resolution), multiple=multiple)
