#!/usr/bin/env python
"""Build the Collapse Sim demo plate: a tower cut from a real photograph.

The photograph is Blender's bundled ``city.exr`` (a Poly Haven HDRI, CC0; it ships in
the ``bpy`` wheel under ``datafiles/studiolights/world``). This script crops the brown
office tower right of the construction site, doubles its size (bicubic), and draws the
building's mask from a hand-placed outline (roof ridge, walls, base behind the parked
cars). Run from the repository root::

    .venv/bin/python scripts/make_tower_plate.py --out assets/demo

Writes ``tower.exr`` (scene-linear RGBA, half float) and ``tower_mask.png`` (8-bit).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

CROP = (590, 150, 192, 144)          # x, y, width, height in the 1024×512 panorama
SCALE = 2
OUTLINE = [(643, 194), (693, 168), (729, 185), (729, 270), (643, 270)]   # panorama pixels


def main() -> None:
    import cv2
    import OpenEXR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="assets/demo")
    args = parser.parse_args()
    bpy_root = Path(importlib.util.find_spec("bpy").origin).parent
    source = next(bpy_root.glob("*/datafiles/studiolights/world/city.exr"))
    with OpenEXR.File(str(source)) as exr:
        rgb = np.asarray(exr.channels()["RGB"].pixels, np.float32)
    x, y, width, height = CROP
    crop = cv2.resize(rgb[y:y + height, x:x + width], (width * SCALE, height * SCALE), interpolation=cv2.INTER_CUBIC)
    crop = np.maximum(crop, 0.0)
    outline = np.round((np.array(OUTLINE, float) - [x, y]) * SCALE).astype(np.int32)
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [outline], 255)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    channels = {name: crop[..., i].astype(np.float16) for i, name in enumerate("RGB")}
    channels["A"] = np.ones(crop.shape[:2], np.float16)
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels) as exr:
        exr.write(str(out / "tower.exr"))
    cv2.imwrite(str(out / "tower_mask.png"), mask)
    print(f"wrote {out / 'tower.exr'} and {out / 'tower_mask.png'} ({crop.shape[1]}×{crop.shape[0]})")


if __name__ == "__main__":
    main()
