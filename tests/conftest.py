"""Fixtures shared by the tests."""

from __future__ import annotations

import numpy as np
import pytest

from photos import photo_linear, rect_mask, write_mask_png, write_plate


@pytest.fixture
def small_shot(tmp_path):
    """Three frames of a real photograph panning by 4 px a frame, with a rectangular mask."""
    photo = photo_linear("astronaut", (168, 96))
    for frame in (1, 2, 3):
        write_plate(tmp_path / f"plate.{frame:04d}.exr", np.ascontiguousarray(photo[:, 4 * frame:4 * frame + 128]))
        write_mask_png(tmp_path / f"mask.{frame:04d}.png", rect_mask(96, 128, (0.35, 0.4, 0.7, 0.65)))
    return tmp_path
