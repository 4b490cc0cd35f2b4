"""Seconds a frame of Collapse Sim's final quality (Cycles, in a Blender process) on this
machine, beside the preview's seconds a frame (Warp ray-cast, measured in the same run
on the same shot: the baseline). Prints figures; asserts nothing.

    python benchmarks/bench_collapse_final.py [--sizes 512x340,960x540] [--frames 3] [--samples 64]

The plate is the demo tower (a photograph) resized to each size; the collapse starts on
frame 1 and frames 6, 12, ... are rendered (the dust and debris are out by then). Needs
the bpy module (or GENVFX_BLENDER naming Blender's binary).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_collapse import tower  # noqa: E402
from photos import write_mask_png, write_plate  # noqa: E402

from genvfx.backend.files import layers, sequences  # noqa: E402
from genvfx.backend.generators import collapse as generator  # noqa: E402
from genvfx.backend.generators.frames import SideFiles  # noqa: E402
from genvfx.backend.run.executor import run_job  # noqa: E402
from genvfx.backend.run.jobs import Job  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512x340,960x540")
    parser.add_argument("--frames", type=int, default=3, help="frames rendered by Cycles a size")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--fragments", type=int, default=150)
    args = parser.parse_args()
    frames = [6 * (i + 1) for i in range(args.frames)]
    print(f"Collapse Sim final quality: {args.samples} samples (denoised), motion blur, {args.fragments} fragments, "
          f"frames {frames}")
    print(f"{'size':>10} {'preview s/frame':>16} {'final s/frame':>14} {'final/preview':>14} {'setup s':>8}")
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        plate, mask = tower(width, height)
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            write_plate(folder / "plate.exr", plate)
            write_mask_png(folder / "mask.png", mask)
            params = {"start": 1, "fragments": args.fragments, "height": 40.0}
            job = Job(generator="collapse", inputs={"plate": str(folder / "plate.exr"), "mask": str(folder / "mask.png")},
                      frames=[1, *frames], device="cpu", output_dir_override=str(folder / "job"), params=params)
            result = run_job(job)
            preview = statistics.median(
                json.loads(layers.read_header(sequences.frame_path(result["pattern"], f))["genvfx.record"])
                ["wall_seconds"] for f in frames)
            side = SideFiles(folder / "job")
            job_file = generator.write_final_job(side, plate, mask, frames, args.samples, True)
            started = time.perf_counter()
            seconds = [a["seconds"] for a in side.blender(generator.FINAL_MODULE, [str(job_file)],
                                                          generator.FINAL_ANNOUNCE, generator.FINAL_LOG)
                       if "seconds" in a]
            setup = time.perf_counter() - started - sum(seconds)
            final = statistics.median(seconds)
            print(f"{size:>10} {preview:16.2f} {final:14.1f} {final / preview:14.1f} {setup:8.1f}")


if __name__ == "__main__":
    main()
