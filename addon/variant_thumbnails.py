"""A node's Variants: the current frame made with seeds seed … seed+N-1 at 25 %, each
kept as a thumbnail image on the node (not as its loaded result) until "Use" picks a seed."""

from __future__ import annotations

import bpy
from bpy.props import IntProperty, StringProperty

VARIANT_PROXY = 0.25  # Variants are quick previews of a seed's look
MAX_VARIANTS = 16
VARIANT_OF = "genvfx_variant_of"  # custom property on a variant's image: its node's owner tag
SEED = "genvfx_seed"  # custom property on a variant's image: its seed


class VariantThumbnails:
    """Mixin: the variant thumbnails of a genvfx node."""

    variant_count: IntProperty(name="Variants", default=4, min=1, max=MAX_VARIANTS,
                               description="How many seeds Variants tries (from the node's seed up)")
    variant_seeds: StringProperty(name="Variant Seeds", default="",
                                  description="The seeds of the variants made, comma separated")
    variant_frame: IntProperty(name="Variant Frame", default=1, description="The frame the variants show")

    def variant_params(self) -> dict:
        """The job parameters of a variant (one frame on its own); nodes with shot
        settings drop them."""
        return self.job_params()

    def variant_seed_list(self) -> list[int]:
        return [int(part) for part in self.variant_seeds.split(",") if part.strip().isdigit()]

    def variant_images(self) -> dict[int, object]:
        """``{seed: image}`` of this node's variant thumbnails."""
        tag = self.image_owner_tag()
        return {int(image[SEED]): image for image in bpy.data.images
                if image.get(VARIANT_OF) == tag and SEED in image}

    def add_variant(self, seed: int, frame_file: str, frame: int) -> None:
        """Show the variant of ``seed`` (its layers in ``frame_file``) as a thumbnail. The
        image keeps a fake user so the thumbnails survive saving and reopening the file."""
        old = self.variant_images().get(int(seed))
        if old is not None:
            bpy.data.images.remove(old)
        image = bpy.data.images.load(frame_file, check_existing=False)
        image.name = f".{self.layer} {self.name} seed {seed}"
        image[VARIANT_OF] = self.image_owner_tag()
        image[SEED] = int(seed)
        image.use_fake_user = True
        try:
            image.preview_ensure()
        except (AttributeError, RuntimeError):  # no previews in this build: the list still works
            pass
        self.variant_seeds = ",".join(str(value) for value in sorted({*self.variant_seed_list(), int(seed)}))
        self.variant_frame = int(frame)

    def clear_variants(self) -> None:
        for image in self.variant_images().values():
            bpy.data.images.remove(image)
        self.variant_seeds = ""
