"""Seconds of Collapse Sim on this machine, stage by stage: fracture, simulation (MuJoCo
and dust), clean plate (Debris Fill, once per shot), rendering (Warp ray-cast, dust
ray-marched volume, composite) and EXR writing; then the whole job through ``run_job`` and its peak
memory. The baseline, measured in the same run, is writing one frame's EXR layer.
Prints figures; asserts nothing.

    python benchmarks/bench_collapse.py [--size 512x340] [--frames 72] [--fragments 150] [--device cpu]

The plate is the demo tower (a photograph, ``assets/demo/tower.exr``) resized to
``--size``; the collapse starts on the first frame.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from photos import write_mask_png, write_plate  # noqa: E402

from genvfx.backend.files import images, layers  # noqa: E402
from genvfx.backend.generators.collapse import warp_device  # noqa: E402
from genvfx.backend.run.executor import run_job  # noqa: E402
from genvfx.backend.run.jobs import Job  # noqa: E402
from genvfx.models import fill, registry  # noqa: E402
from genvfx.models.collapse import CollapseOptions, dust, physics, shot  # noqa: E402
from genvfx.models.collapse.fracture import fracture  # noqa: E402
from genvfx.models.collapse.geometry import Camera, lift_building  # noqa: E402
from genvfx.models.collapse.render import render_fragments  # noqa: E402

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "demo"


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def tower(width: int, height: int):
    import cv2

    plate = images.as_rgba(images.read_image(ASSETS / "tower.exr"))
    mask = images.read_mask(ASSETS / "tower_mask.png")
    return (cv2.resize(plate, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, None),
            cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x340")
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--fragments", type=int, default=150)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    device = warp_device(args.device)
    plate, mask = tower(width, height)
    options = CollapseOptions(start=1, fragments=args.fragments, height=40.0)
    last = args.frames
    camera = Camera.for_frame(width, height)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        building = lift_building(mask, camera, options.height)
        origin = shot.failure_origin(options, building, camera)
        pieces, t_fracture = timed(fracture, building, options.fragments, origin, options.size_falloff, options.seed)
        speed = float(building.size[1]) / shot.FAILURE_TIME
        sim, t_sim = timed(physics.simulate, pieces, building.ground, origin, np.zeros(3), speed, 1.0, options.fps,
                           1, last, options.seed)
        particles, t_dust = timed(dust.simulate_dust, sim.breaks, sim.impacts, sim.pulverised, sim.frames,
                                  options.fps, building, options.dust, options.seed)
        collapse, t_prepare = timed(shot.CollapseShot.prepare, plate, mask, options, last, device=device)
        filler = fill.load(registry.find_model("genvfx.fill.patchmatch"), "cpu")
        filled, t_fill = timed(lambda: filler(plate, collapse.reveal, seed=0)["Combined"])
        # warm the kernel (compiled once per machine and cached), then time
        render_fragments(collapse.scene, camera, *collapse.simulation.pose(1), collapse.simulation.fragment_opacity(1),
                         collapse.supersample, device)
        ray, frames_total, writes = [], [], []
        for frame in range(1, last + 1):
            pose = collapse.simulation.pose(frame)
            _, seconds = timed(render_fragments, collapse.scene, camera, *pose,
                               collapse.simulation.fragment_opacity(frame), collapse.supersample, device)
            ray.append(seconds)
            passes, seconds = timed(collapse.frame_passes, frame, plate, filled)
            frames_total.append(seconds)
            _, seconds = timed(layers.write_layer, folder / f"Collapse.{frame:04d}.exr", "Collapse", passes,
                               {}, {"Depth": ("Z",), "Vector": ("X", "Y", "Z", "W"), "Normal": ("X", "Y", "Z"),
                                    "FragmentID": ("V",)})
            writes.append(seconds)
        write_plate(folder / "plate.exr", plate)
        write_mask_png(folder / "mask.png", mask)
        job = Job(generator="collapse", inputs={"plate": str(folder / "plate.exr"), "mask": str(folder / "mask.png")},
                  frames=list(range(1, last + 1)), device=args.device, output_dir_override=str(folder / "job"),
                  params=options.to_params())
        result, t_job = timed(run_job, job)

    baseline = statistics.median(writes)
    print(f"Collapse Sim, {width}x{height}, {last} frames, {len(pieces.fragments)} fragments, "
          f"Warp on {device}, MuJoCo {physics.SUBSTEPS} steps a frame")
    print(f"baseline: writing one frame's EXR layer (8 passes) {baseline:.3f} s")
    rows = [("fracture (scipy Voronoi)", t_fracture), (f"simulation, {len(sim.frames)} frames (MuJoCo)", t_sim),
            (f"dust simulation ({'x'.join(map(str, particles.density.shape[1:]))} grid)", t_dust), ("clean plate (Debris Fill, once)", t_fill),
            (f"ray-cast fragments, {last} frames", sum(ray)),
            (f"frame passes (ray-cast, shadows, vectors, debris, dust march, composite), {last} frames",
             sum(frames_total)),
            (f"EXR writing, {last} frames", sum(writes)),
            ("whole job through run_job", t_job)]
    for name, seconds in rows:
        print(f"  {name:70s} {seconds:8.2f} s  {seconds / baseline:8.1f}x")
    print(f"  per frame: ray-cast {statistics.median(ray):.3f} s, passes {statistics.median(frames_total):.3f} s")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"(job's own: {result['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
