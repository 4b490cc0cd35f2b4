"""``genvfx demo``: the demo shot end to end, from assets that ship with the package.

1. copies the demo plate and mask (rendered once with Cycles, ``assets/demo/``) into OUT;
2. runs Debris Fill through the worker into ``OUT/genvfx_cache`` (the node's default
   cache beside the .blend, so the node finds its layers there);
3. with bpy: saves ``OUT/shot.blend`` with the compositor wired (plate → Debris Fill →
   Relight → Group Output), generates the nodes (Debris Fill cached: instant; Relight
   estimates the passes of the clean plate), swings the Relight node's light round to a
   low warm sun from the left, and renders that relit composite to ``OUT/composite/``;
4. writes ``OUT/contact_sheet.png``: plate, mask and Debris Fill for the first and last
   frames, and (with bpy) the Relight node's Normal and Albedo passes and the relit
   composite;
5. brings down a tower in a photograph (``assets/demo/tower.exr``, held as a locked-off
   48-frame shot: the street plate's camera moves) with Collapse Sim — with bpy through
   a Collapse Sim node in ``OUT/collapse.blend`` whose composite is rendered to
   ``OUT/collapse/composite/`` — and writes ``OUT/collapse/preview.gif`` and
   ``OUT/collapse/contact_sheet.png``;
6. writes the AI-use and compute report of everything it generated:
   ``OUT/genvfx_cache/report.html`` and ``report.json`` (see ``genvfx report``).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np

from ..backend.files import images, layers, sequences
from ..backend.process.client import WorkerClient
from ..backend.provenance.energy import DEFAULT_GRID_INTENSITY
from ..backend.run.jobs import Job
from ..errors import BadInput
from ..models.fill import params as fill_params
from ..models.relight import Light
from ..review import preview
from . import blender
from .progress import run_with_progress
from .report import write_report

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "demo"
PLATE, MASK = "plate.####.exr", "mask.####.png"

#: The parameters a Debris Fill node sends by default, so that the node in shot.blend
#: finds the demo's fill in the cache instead of filling again.
FILL_PARAMS = fill_params.job_params()


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


#: The demo's relit look, relative to the neutral light fitted to the clean plate.
DEMO_LIGHT = {"azimuth_offset": -75.0, "elevation": 18.0, "colour": (1.0, 0.72, 0.48), "gain": 1.6}


def relight_rows(relit: dict, frames: list[int]) -> list:
    """Contact sheet rows of the Relight node: its Normal and Albedo passes and the relit
    composite, for the first and last frames."""
    rows = []
    for frame in (frames[0], frames[-1]):
        passes = layers.read_layers(sequences.frame_path(relit["pattern"], frame))["Relight"]
        composite = images.as_rgba(images.read_image(relit["composite"][frames.index(frame)]))
        normal = np.concatenate([passes["Normal"] * 0.5 + 0.5, np.ones_like(passes["Depth"][..., None])], -1)
        rows.append([(f"Relight Normal {frame}", preview.to_display_8bit(normal ** 2.2)),
                     (f"Relight Albedo {frame}", preview.to_display_8bit(passes["Albedo"])),
                     (f"relit composite {frame}", preview.to_display_8bit(composite))])
    return rows


def write_contact_sheet(out: Path, plate: str, mask: str, pattern: str, frames: list[int],
                        extra_rows: list | None = None) -> Path:
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
    return preview.write_png(out / "contact_sheet.png", preview.contact_sheet(rows + (extra_rows or [])))


def move_demo_light(node) -> None:
    """Swing a Relight node's light from the neutral (fitted) light to the demo's look."""
    neutral = json.loads(node.neutral_light)["light"]
    azimuth, _ = Light.from_dict(neutral).azimuth_elevation
    node.inputs["Use Angles"].default_value = 1.0
    node.inputs["Azimuth"].default_value = azimuth + DEMO_LIGHT["azimuth_offset"]
    node.inputs["Elevation"].default_value = DEMO_LIGHT["elevation"]
    node.inputs["Colour"].default_value = (*DEMO_LIGHT["colour"], 1.0)
    node.inputs["Intensity"].default_value = neutral["intensity"] * DEMO_LIGHT["gain"]


#: The demo's collapse: frames, start, and the art direction (everything else default).
COLLAPSE_FRAMES = list(range(1, 49))
COLLAPSE_SETTINGS = {"start": 3, "fragments": 150, "height": 30.0, "seed": 1}


def copy_tower(out: Path) -> tuple[str, str]:
    folder = out / "collapse"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("tower.exr", "tower_mask.png"):
        shutil.copyfile(ASSETS / name, folder / name)
    return str(folder / "tower.exr"), str(folder / "tower_mask.png")


def collapse_sheet(out: Path, plate: str, mask: str, composite: list, frames: list[int]) -> Path:
    """A contact sheet of the collapse (plate with its mask, then the composite at six
    frames) and the preview movie of the composite."""
    import cv2

    before = images.as_rgba(images.read_image(plate))
    tiles = [("plate + mask", preview.mask_overlay(before, images.read_mask(mask)))]
    pictures = [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in composite]   # display PNGs
    tiles += [(f"frame {frames[i]}", pictures[i]) for i in (round(k * (len(frames) - 1) / 5) for k in range(1, 6))]
    preview.write_movie(out / "collapse" / "preview.gif", pictures, fps=24.0)
    rows = [tiles[:3], tiles[3:6]]
    return preview.write_png(out / "collapse" / "contact_sheet.png", preview.contact_sheet(rows))


def run_collapse(out: Path, with_bpy: bool, proxy: float, device: str) -> Path:
    plate, mask = copy_tower(out)
    frames = COLLAPSE_FRAMES
    if with_bpy:
        headless = blender.headless()
        blend = headless.build_collapse_scene(plate, mask, frames, str(out / "collapse.blend"), proxy=proxy,
                                              start=COLLAPSE_SETTINGS["start"], params=COLLAPSE_SETTINGS)
        print("Collapse Sim: bringing down the tower in collapse.blend")
        composite = headless.render_blend(blend, frames=frames, out_dir=str(out / "collapse" / "composite"),
                                          file_format="PNG", save=True, log=lambda text: None)
        Path(blend + "1").unlink(missing_ok=True)
        print(f"collapse: {blend}")
    else:
        job = Job(generator="collapse", inputs={"plate": plate, "mask": mask}, frames=frames,
                  cache_dir=str(out / "genvfx_cache"), proxy=proxy, device=device, params=dict(COLLAPSE_SETTINGS),
                  seed=COLLAPSE_SETTINGS["seed"])
        client = WorkerClient()
        try:
            result = run_with_progress(client, job, "Collapse Sim")
        finally:
            client.close()
        composite = []
        for frame in frames:
            passes = layers.read_layers(sequences.frame_path(result["pattern"], frame))["Collapse"]
            composite.append(preview.write_png(out / "collapse" / "composite" / f"composite.{frame:04d}.png",
                                               preview.to_display_8bit(passes["Combined"])))
    sheet = collapse_sheet(out, plate, mask, composite, frames)
    print(f"collapse preview: {out / 'collapse' / 'preview.gif'}; contact sheet: {sheet}")
    return sheet


def main(args) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    plate, mask, frames = copy_assets(out)
    job = Job(generator="fill", inputs={"plate": plate, "mask": mask}, frames=frames,
              cache_dir=str(out / "genvfx_cache"), proxy=args.proxy, device=args.device, params=dict(FILL_PARAMS))
    client = WorkerClient()
    try:
        result = run_with_progress(client, job, "Debris Fill")
    finally:
        client.close()
    print(f"layers: {result['pattern']}")
    if importlib.util.find_spec("bpy") is None:
        sheet = write_contact_sheet(out, plate, mask, result["pattern"], frames)
        print(f"contact sheet: {sheet}")
        print("bpy is not installed: skipped shot.blend, Relight and the compositor render "
              "(pip install 'genvfx[blender]' to get them)")
        run_collapse(out, False, args.proxy, args.device)
        return write_demo_report(out)
    headless = blender.headless()
    blend = headless.build_demo_scene(plate, mask, frames, str(out / "shot.blend"), proxy=args.proxy, relight=True)
    relit = {}

    def relight_look(scene):
        node = scene.compositing_node_group.nodes["Relight"]
        move_demo_light(node)
        relit["pattern"] = node.result_pattern

    print("Relight: estimating the clean plate's passes and relighting it in shot.blend")
    rendered = headless.render_blend(blend, frames=frames, out_dir=str(out / "composite"), file_format="PNG",
                                    save=True, log=lambda text: None, after_generate=relight_look)
    Path(blend + "1").unlink(missing_ok=True)  # Blender's backup of a file the demo itself just made
    relit["composite"] = rendered
    sheet = write_contact_sheet(out, plate, mask, result["pattern"], frames, relight_rows(relit, frames))
    print(f"contact sheet: {sheet}")
    print(f"shot: {blend}")
    print(f"composite (relit): {Path(rendered[0]).parent} ({len(rendered)} frames)")
    run_collapse(out, True, args.proxy, args.device)
    return write_demo_report(out)


def write_demo_report(out: Path) -> int:
    _, html, report = write_report(out / "genvfx_cache", DEFAULT_GRID_INTENSITY)
    totals = report["totals"]
    print(f"report: {html} ({totals['frames']} frames generated, {1000 * totals['energy_kwh']:.2f} Wh; "
          f"verified: {'yes' if report['verified'] else 'NO'})")
    return 0
