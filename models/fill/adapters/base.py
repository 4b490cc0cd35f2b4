"""What every production inpainting adapter shares: the filler's calling convention,
parameters, crops, colour and the seam. An adapter only says which sizes its model
takes (:class:`~.crop.SizeRule`) and how it paints one crop (:meth:`CropInpainter.paint`).

For each crop of the plate around the hole:

1. the plate (premultiplied, scene-linear) is made straight; the hole is pre-filled
   with the mean colour of the ring around it (a model that keeps some of what it is
   shown then starts from the surround, not from the thing being removed);
2. the crop goes to the model's size and colour space (:mod:`.crop`);
3. the model paints it; the result comes back scene-linear at the crop's size;
4. its colour is matched to the ring and its edge feathered into the plate (:mod:`.seam`);
5. the hole's pixels, premultiplied by the ring's mean alpha, are pasted into a copy of
   the plate. Every pixel outside the hole keeps the plate's own bits.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ....errors import BadInput
from . import crop, seam
from ..hole import hole as hole_of

#: Parameters of the embedded default that a production model has no use for; a job
#: made for one model still runs with another.
FOREIGN_PARAMETERS = {"patch_size"}

#: Parameters every adapter takes, with their defaults.
COMMON_PARAMETERS = {
    "context": 0.25,        # padding around the hole, as a share of its long side (at least 32 px)
    "feather": None,        # seam width in plate pixels; None: 3 % of the hole's long side, 4 px at least
    "match_colour": True,   # match the fill's mean/std to the ring around the hole
}


class CropInpainter:
    """A filler built on a model that inpaints an sRGB (or linear) image at one size."""

    #: Adapter-specific parameters and their defaults (a manifest's ``defaults`` option
    #: overrides them per model).
    parameters: dict = {}

    def __init__(self, manifest, rule: crop.SizeRule):
        self.manifest = manifest
        self.rule = rule
        self.colour_space = manifest.input_colour_space
        unknown = set(manifest.option("defaults", {})) - set(self.parameters) - set(COMMON_PARAMETERS)
        if unknown:
            raise BadInput(f"Model '{manifest.id}' sets defaults for unknown parameters: {', '.join(sorted(unknown))}",
                           f"Its adapter takes: {', '.join(sorted(self.parameters | COMMON_PARAMETERS))}.")
        self.defaults = {**COMMON_PARAMETERS, **self.parameters, **manifest.option("defaults", {})}

    def paint(self, image: np.ndarray, mask: np.ndarray, *, seed: int, params: dict,
              on_step: Callable[[int, int], None]) -> np.ndarray:
        """Inpaint ``image`` (h×w×3 float32, 0..1, the model's colour space) where ``mask``
        (h×w float32, 1 = hole) is set; return h×w×3 in the same space."""
        raise NotImplementedError

    def steps(self, params: dict) -> int:
        """How many progress steps one crop takes."""
        return 1

    def resolve(self, params: dict) -> dict:
        params = {name: value for name, value in params.items() if name not in FOREIGN_PARAMETERS}
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise BadInput(f"Model '{self.manifest.id}' has no parameter(s) {', '.join(sorted(unknown))}",
                           f"It takes: {', '.join(sorted(self.defaults))}.")
        return {**self.defaults, **params}

    def __call__(self, plate: np.ndarray, mask: np.ndarray, *, seed: int = 0, source: np.ndarray | None = None,
                 on_step: Callable[[int, int], None] | None = None, **params) -> dict[str, np.ndarray]:
        plate, mask = _check_inputs(plate, mask)
        if source is not None:
            raise BadInput(f"Model '{self.manifest.id}' does not take a source image",
                           "Disconnect the source, or use the embedded default (genvfx.fill.patchmatch) to fill from it.")
        params = self.resolve(params)
        hole = hole_of(mask)
        combined = plate.copy()
        found = crop.regions(hole, self.rule, context=float(params["context"]))
        per_region = self.steps(params)
        total = max(1, per_region * len(found))
        for index, region in enumerate(found):
            def region_step(step: int, of: int, index=index) -> None:
                if on_step is not None:
                    on_step(index * per_region + min(step, per_region), total)

            window = region.window
            filled = self._fill_region(combined[window], region, seed=int(seed) + index, params=params,
                                       on_step=region_step)
            combined[window][region.hole] = filled[region.hole]
        if not found and on_step is not None:
            on_step(1, 1)
        fill_layer = (combined * mask[..., None]).astype(np.float32, copy=False)
        return {"Combined": combined, "Fill": fill_layer, "Mask": mask.copy()}

    def _fill_region(self, rgba: np.ndarray, region: crop.Region, *, seed: int, params: dict,
                     on_step: Callable[[int, int], None]) -> np.ndarray:
        hole = region.hole
        alpha = rgba[..., 3]
        straight = np.where(alpha[..., None] > 1e-6, rgba[..., :3] / np.maximum(alpha, 1e-6)[..., None], rgba[..., :3])
        straight = straight.astype(np.float32)
        long_side = max(np.ptp(np.nonzero(hole)[0]), np.ptp(np.nonzero(hole)[1])) + 1
        width = params["feather"]
        width = max(4.0, 0.03 * long_side) if width is None else float(width)
        around = seam.ring(hole, int(max(3, np.ceil(width))))
        surround = straight[around].mean(axis=0) if around.any() else straight[~hole].mean(axis=0) if (~hole).any() \
            else np.full(3, 0.18, np.float32)
        shown = straight.copy()
        shown[hole] = surround

        image = crop.to_model(shown, region.size, self.colour_space)
        painted = self.paint(image, crop.model_mask(hole, region.size), seed=seed, params=params, on_step=on_step)
        painted = np.asarray(painted, np.float32)
        if painted.shape != image.shape:
            raise BadInput(f"Model '{self.manifest.id}' returned an image of shape {painted.shape} for an input of "
                           f"shape {image.shape}", "Check the model's options (resolution, output) in its manifest.")
        generated = crop.from_model(painted, hole.shape, self.colour_space)

        if params["match_colour"]:
            generated = seam.match_colour(generated, straight, around)
        generated = seam.feather(generated, straight, hole, width)
        fill_alpha = float(alpha[around].mean()) if around.any() else 1.0
        out = np.empty_like(rgba)
        out[..., :3] = generated * fill_alpha
        out[..., 3] = fill_alpha
        return out


def _check_inputs(plate, mask):
    plate = np.asarray(plate, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if plate.ndim != 3 or plate.shape[2] != 4:
        raise BadInput(f"The plate must be an H×W×4 RGBA image, got an array of shape {plate.shape}",
                       "Give the plate as RGBA.")
    if mask.shape != plate.shape[:2]:
        raise BadInput(f"The mask is {mask.shape} but the plate is {plate.shape[:2]}",
                       "Give a mask the size of the plate.")
    return plate, mask
