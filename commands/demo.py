"""``genvfx demo``: the demo shot end to end, from assets that ship with the package.

1. copies the demo plate and mask (rendered once with Cycles, ``assets/demo/``) into OUT;
2. runs Debris Fill through the worker into ``OUT/genvfx_cache`` (the node's default
   cache beside the .blend, so the node finds its layers there);
3. with bpy: saves ``OUT/shot.blend`` with the compositor wired (plate → Debris Fill →
   Group Output), generates the node (cached: instant) and renders the composite to
   ``OUT/composite/``;
4. writes ``OUT/contact_sheet.png``: plate, mask, result for the first and last frames.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np

from ..backend import images, layers, preview, sequences
from ..backend.client import WorkerClient
from ..errors import BadInput
from ..backend.jobs import Job
from .progress import run_with_progress

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "demo"
PLATE, MASK = "plate.####.exr", "mask.####.png"


def copy_assets(out: Path) -> tuple[str, str, list[int]]:
    if not sorted(ASSETS.glob("plate.*.exr")):
        raise BadInput(f"The demo shot is missing from this install ({ASSETS})",
                       "Reinstall genvfx from a full checkout or wheel (assets/demo/ holds the plate).")
    shot = out / "plate"
    shot.mkdir(parents=True, exist_ok=True)
    for source in sorted(ASSETS.glob("plate.*.exr")) + sorted(ASSETS.glob("mask.*.png")):
        target = shot / source.name
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            shutil.copyfile(source, target)
    plate, mask = str(shot / PLATE), str(shot / MASK)
    return plate, mask, sequences.resolve_frames(plate, None)


def write_contact_sheet(out: Path, plate: str, mask: str, pattern: str, frames: list[int]) -> Path:
    rows = []
    for frame in (frames[0], frames[-1]):
        before = images.as_rgba(images.read_image(sequences.frame_path(plate, frame)))
        hole = images.read_mask(sequences.frame_path(mask, frame))
        after = layers.read_layers(sequences.frame_path(pattern, frame))["DebrisFill"]["Combined"]
        if after.shape[:2] != before.shape[:2]:  # a proxy run: show it at plate size
            import cv2

            after = cv2.resize(after, before.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        rows.append([(f"plate {frame}", preview.to_display_8bit(before)),
                     (f"mask {frame}", preview.mask_overlay(before, hole)),
                     (f"Debris Fill {frame}", preview.to_display_8bit(after))])
    return preview.write_png(out / "contact_sheet.png", preview.contact_sheet(rows))


def main(args) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    plate, mask, frames = copy_assets(out)
    job = Job(generator="fill", inputs={"plate": plate, "mask": mask}, frames=frames,
              cache_dir=str(out / "genvfx_cache"), proxy=args.proxy, device=args.device)
    client = WorkerClient()
    try:
        result = run_with_progress(client, job, "Debris Fill")
    finally:
        client.close()
    print(f"layers: {result['pattern']}")
    sheet = write_contact_sheet(out, plate, mask, result["pattern"], frames)
    print(f"contact sheet: {sheet}")
    if importlib.util.find_spec("bpy") is None:
        print("bpy is not installed: skipped shot.blend and the compositor render "
              "(pip install 'genvfx[blender]' to get them)")
        return 0
    from ..addon import headless

    blend = headless.build_demo_scene(plate, mask, frames, str(out / "shot.blend"), proxy=args.proxy)
    rendered = headless.render_blend(blend, frames=frames, out_dir=str(out / "composite"),
                                    file_format="PNG", save=True, log=lambda text: None)
    Path(blend + "1").unlink(missing_ok=True)  # Blender's backup of a file the demo itself just made
    print(f"shot: {blend}")
    print(f"composite: {Path(rendered[0]).parent} ({len(rendered)} frames)")
    return 0
