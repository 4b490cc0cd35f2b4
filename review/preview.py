"""Display-encoded previews: before/after contact sheets for people to look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backend.files import layers
from ..models.colour import to_display_8bit


def mask_overlay(rgba: np.ndarray, mask: np.ndarray, tint=(255, 40, 40), opacity: float = 0.55) -> np.ndarray:
    """The plate, display-encoded, with the mask tinted over it."""
    image = to_display_8bit(rgba).astype(np.float32)
    weight = np.clip(mask, 0.0, 1.0)[..., None] * opacity
    return (image * (1.0 - weight) + np.array(tint, np.float32) * weight + 0.5).astype(np.uint8)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    import cv2

    tile = tile.copy()
    scale = max(0.4, tile.shape[1] / 900.0)
    cv2.putText(tile, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(tile, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def contact_sheet(rows: list[list[tuple[str, np.ndarray]]], gap: int = 4) -> np.ndarray:
    """A grid of labelled 8-bit RGB tiles (all the same size), white gaps between them."""
    height, width = rows[0][0][1].shape[:2]
    columns = max(len(row) for row in rows)
    sheet = np.full((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, (text, tile) in enumerate(row):
            y, x = r * (height + gap), c * (width + gap)
            sheet[y:y + height, x:x + width] = _label(tile, text)
    return sheet


def write_png(path: str | Path, rgb8: np.ndarray) -> Path:
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb8[..., ::-1])):
        raise OSError(f"could not write {path}")
    return path


def write_movie(path: str | Path, frames: list, layer: str = "", fps: float = 24.0,
                pass_name: str = "Combined", max_width: int = 640) -> Path:
    """An animated GIF of one pass of a frame sequence (EXR layer files or 8-bit images
    already display-encoded), at most ``max_width`` wide, looping."""
    import cv2
    from PIL import Image

    pictures = []
    for frame in frames:
        if isinstance(frame, np.ndarray):
            rgb8 = frame
        else:
            rgb8 = to_display_8bit(layers.read_layers(frame)[layer][pass_name])[..., :3]
        if rgb8.shape[1] > max_width:
            height = round(rgb8.shape[0] * max_width / rgb8.shape[1])
            rgb8 = cv2.resize(rgb8, (max_width, height), interpolation=cv2.INTER_AREA)
        pictures.append(Image.fromarray(np.ascontiguousarray(rgb8[..., :3])))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=round(1000 / fps), loop=0,
                     optimize=False)
    return path
