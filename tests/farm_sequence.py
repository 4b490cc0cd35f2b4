"""A small sequence for the farm tests and benchmark: plates of real photographs panning,
one .blend per shot (plate → Debris Fill → Relight, built by ``tests/blender/farm_shots.py``),
each in a folder of its own so that its cache (``genvfx_cache`` beside it) is its own,
and the ways to compare two runs of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from photos import photo_linear, rect_mask, write_mask_png, write_plate

from genvfx.backend.files import images, layers

BLENDER_SCRIPTS = Path(__file__).resolve().parent / "blender"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
SIZE = (96, 64)  # width, height


def env(root: Path, threads: int = 1) -> dict:
    """The environment of the genvfx commands: a Blender user folder of their own, and
    ``threads`` CPU threads per model (the same for one machine and the farm: the tests
    compare the farm with one machine, not thread counts)."""
    return dict(os.environ, BLENDER_USER_RESOURCES=str(root / "blender-user"), PYTHONNOUSERSITE="1",
                GENVFX_THREADS=str(threads))


def genvfx(*args: str) -> list[str]:
    return [sys.executable, "-m", "genvfx.cli", *args]


def build(root: Path, shots: int, sides: tuple[str, ...], frames: int = 4, proxy: float = 0.5,
          key_interval: int = 2) -> dict[tuple[str, str], Path]:
    """Plates for ``shots`` shots of ``frames`` frames, and a .blend of each shot in each
    of ``sides`` (``root/<side>/<shot>/<shot>.blend``); returns ``{(side, shot): blend}``."""
    width, height = SIZE
    config = {"shots": [], "proxy": proxy, "key_interval": key_interval}
    blends = {}
    for name in PHOTOS[:shots]:
        plates = root / "plates" / name
        plates.mkdir(parents=True, exist_ok=True)
        photo = photo_linear(name, (width + 3 * (frames + 1), height))
        for frame in range(1, frames + 1):
            write_plate(plates / f"plate.{frame:04d}.exr", np.ascontiguousarray(photo[:, 3 * frame:3 * frame + width]))
            write_mask_png(plates / f"mask.{frame:04d}.png", rect_mask(height, width, (0.35, 0.4, 0.7, 0.65)))
        for side in sides:
            blends[side, name] = root / side / name / f"{name}.blend"
            config["shots"].append({"blend": str(blends[side, name]), "plate": str(plates / "plate.####.exr"),
                                    "mask": str(plates / "mask.####.png"), "frames": list(range(1, frames + 1))})
    (root / "shots.json").write_text(json.dumps(config))
    made = subprocess.run([sys.executable, str(BLENDER_SCRIPTS / "farm_shots.py"), str(root / "shots.json")],
                          capture_output=True, text=True, timeout=300, env=env(root), cwd=str(root))
    assert made.returncode == 0 and all(path.is_file() for path in blends.values()), made.stdout + made.stderr
    return blends


def cache_folders(blend: Path) -> dict[str, Path]:
    """``{"<generator>/<key>": folder}`` of a shot's cache (its bakes aside)."""
    cache = blend.parent / "genvfx_cache"
    return {f"{folder.parent.name}/{folder.name}": folder for folder in sorted(cache.glob("*/*"))
            if folder.parent.name != "bakes" and folder.is_dir()}


def differences(blend_a: Path, blend_b: Path, composites_a: Path, composites_b: Path) -> list[str]:
    """What differs between two runs of a shot: cache keys, the pixels of any pass of any
    generated frame, the pixels of any composite frame ([] when nothing does)."""
    found = []
    folders_a, folders_b = cache_folders(blend_a), cache_folders(blend_b)
    if set(folders_a) != set(folders_b):
        found.append(f"cache keys {sorted(folders_a)} != {sorted(folders_b)}")
    for name in sorted(set(folders_a) & set(folders_b)):
        files = sorted(path.name for path in folders_a[name].glob("*.[0-9][0-9][0-9][0-9].exr"))
        if not files or files != sorted(path.name for path in folders_b[name].glob("*.[0-9][0-9][0-9][0-9].exr")):
            found.append(f"{name}: frames {files}")
            continue
        for file in files:
            a, b = layers.read_layers(folders_a[name] / file), layers.read_layers(folders_b[name] / file)
            if a.keys() != b.keys() or any(a[layer].keys() != b[layer].keys() or not all(
                    np.array_equal(a[layer][p], b[layer][p]) for p in a[layer]) for layer in a):
                found.append(f"{name}/{file}: pixels differ")
    composites = sorted(path.name for path in composites_a.glob("composite.*.exr"))
    if not composites or composites != sorted(path.name for path in composites_b.glob("composite.*.exr")):
        found.append(f"composites {composites}")
    for file in composites:
        if not np.array_equal(images.read_image(composites_a / file), images.read_image(composites_b / file)):
            found.append(f"composite {file}: pixels differ")
    return found
