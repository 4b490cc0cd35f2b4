"""LaMa-style inpainting models in ONNX, through ONNX Runtime.

The common signature: an image input ``[1, 3, H, W]`` (float, 0..1, sRGB), a mask input
``[1, 1, H, W]`` (0/1, 1 = hole) and one output ``[1, 3, H, W]``. The names are read from
the session: the input with one channel (or named like ``mask``) is the mask, the other
the image. A model exported at a fixed size gets crops of that size; one with dynamic
height and width gets crops with the long side at ``options.resolution`` (default 512),
snapped to ``options.multiple`` (default 8). Some exports return 0..255: say so with
``options.output_scale: 255``.

Manifest options: ``file`` (the .onnx to load when ``files`` lists several; a name
``files`` lists, inside the folder), ``resolution``, ``multiple``, ``output_scale``,
``defaults``. The file is reached through ``manifest.path``, which takes only a listed
file inside the folder and whose external data (if any) is listed too.
"""

from __future__ import annotations

import numpy as np

from ....errors import GenVFXError
from ... import runtime
from .base import CropInpainter
from .crop import SizeRule

_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


class OnnxInpainter(CropInpainter):
    def __init__(self, manifest, device: str = "auto"):
        self.model = runtime.onnx_session(str(manifest.path(_onnx_file(manifest))), device)
        session = self.model.session
        inputs = session.get_inputs()
        if len(inputs) != 2 or len(session.get_outputs()) < 1:
            raise GenVFXError("model", f"Model '{manifest.id}' is not an image + mask → image inpainting model "
                              f"(it has {len(inputs)} inputs)", "Debris Fill takes LaMa-style ONNX models.")
        self.image_input, self.mask_input = _image_and_mask(inputs)
        self.output = session.get_outputs()[0].name
        self.output_scale = float(manifest.option("output_scale", 1.0))
        height, width = self.image_input.shape[2:4]
        fixed = (height, width) if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0 else None
        rule = SizeRule(resolution=int(manifest.option("resolution", 512)), multiple=int(manifest.option("multiple", 8)),
                        fixed=fixed)
        super().__init__(manifest, rule)

    def paint(self, image, mask, *, seed, params, on_step):
        feeds = {
            self.image_input.name: image.transpose(2, 0, 1)[None].astype(_NUMPY_TYPES.get(self.image_input.type, np.float32)),
            self.mask_input.name: mask[None, None].astype(_NUMPY_TYPES.get(self.mask_input.type, np.float32)),
        }
        try:
            output = self.model.session.run([self.output], feeds)[0]
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise GenVFXError("model", f"Model '{self.manifest.id}' failed on a {image.shape[1]}×{image.shape[0]} crop: {exc}",
                              "Check that it is an image + mask inpainting model and its options in the manifest.") from exc
        output = np.asarray(output, np.float32)
        if output.ndim != 4 or output.shape[:2] != (1, 3):
            raise GenVFXError("model", f"Model '{self.manifest.id}' returned shape {output.shape}, not [1, 3, H, W]",
                              "Debris Fill takes LaMa-style ONNX models.")
        on_step(1, 1)
        return output[0].transpose(1, 2, 0) / self.output_scale


def _onnx_file(manifest) -> str:
    named = manifest.option("file")
    if named:
        return named
    candidates = [name for name in manifest.files if name.lower().endswith(".onnx")]
    if len(candidates) != 1:
        raise GenVFXError("model", f"Model '{manifest.id}' lists {len(candidates)} .onnx files",
                          "List exactly one, or name it with options.file in manifest.json.")
    return candidates[0]


def _image_and_mask(inputs):
    def channels(node):
        shape = node.shape
        return shape[1] if len(shape) == 4 and isinstance(shape[1], int) else None

    by_name = [node for node in inputs if "mask" in node.name.lower()]
    if len(by_name) == 1:
        mask = by_name[0]
    else:
        ones = [node for node in inputs if channels(node) == 1]
        if len(ones) != 1:
            raise GenVFXError("model", f"Cannot tell the image input from the mask input ({', '.join(n.name for n in inputs)})",
                              "Name the mask input 'mask' or give it one channel.")
        mask = ones[0]
    image = next(node for node in inputs if node is not mask)
    if len(image.shape) != 4:
        raise GenVFXError("model", f"The image input '{image.name}' has shape {image.shape}, not [1, 3, H, W]",
                          "Debris Fill takes LaMa-style ONNX models.")
    return image, mask
