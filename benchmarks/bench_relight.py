"""Seconds per frame of Relight at one plate size on this machine, step by step, and
the embedded model's size. The baseline, measured in the same run, is writing the
frame's EXR layer alone (what any generator pays). Prints figures; asserts nothing.

    python benchmarks/bench_relight.py [--size 1920x1080] [--frames 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from photos import photo_linear, write_plate  # noqa: E402

from genvfx.backend.files import layers  # noqa: E402
from genvfx.backend.run.executor import run_job  # noqa: E402
from genvfx.backend.run.jobs import Job  # noqa: E402
from genvfx.models import registry, relight  # noqa: E402
from genvfx.models.relight import temporal  # noqa: E402


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    manifest = registry.find_model("genvfx.relight.normalnet", slot="relight")
    onnx = manifest.path("normalnet.onnx")
    import onnx as onnx_lib

    parameters = sum(int(np.prod(t.dims)) for t in onnx_lib.load(str(onnx)).graph.initializer)
    print(f"embedded model: {onnx.stat().st_size / 1e6:.1f} MB ONNX, {parameters / 1e6:.2f} M parameters")
    estimator = relight.load(manifest, "cpu")
    photo = photo_linear("astronaut", (width + 8 * args.frames, height))
    plates = [np.ascontiguousarray(photo[:, 8 * t:8 * t + width]) for t in range(args.frames)]
    steps = {"network + upsampling": [], "smoothing along the shot": [], "light fit": [], "split": [],
             "EXR write (baseline)": []}
    with tempfile.TemporaryDirectory() as folder:
        previous = None
        for t, plate in enumerate(plates):
            estimate, seconds = timed(estimator, plate)
            steps["network + upsampling"].append(seconds)
            if previous is not None:
                estimate, seconds = timed(temporal.smooth, previous[0], previous[1], plate, estimate)
                steps["smoothing along the shot"].append(seconds)
            light, seconds = timed(relight.neutral_light, plate, estimate)
            steps["light fit"].append(seconds)
            passes, seconds = timed(relight.frame_passes, plate, estimate, light)
            steps["split"].append(seconds)
            _, seconds = timed(layers.write_layer, Path(folder) / f"Relight.{t:04d}.exr", "Relight", passes)
            steps["EXR write (baseline)"].append(seconds)
            previous = (plate, estimate)
        for t, plate in enumerate(plates, start=1):
            write_plate(Path(folder) / f"plate.{t:04d}.exr", plate)
        job = Job(generator="relight", inputs={"plate": str(Path(folder) / "plate.####.exr")},
                  frames=list(range(1, args.frames + 1)), device="cpu", output_dir_override=str(Path(folder) / "out"))
        result, whole = timed(run_job, job)
    baseline = statistics.median(steps["EXR write (baseline)"])
    print(f"{width}x{height}, {args.frames} frames, median seconds per frame:")
    for name, values in steps.items():
        value = statistics.median(values) if values else float("nan")
        print(f"  {name:28s} {value:7.3f} s   {value / baseline:6.2f}x the EXR write")
    per_frame = whole / args.frames
    print(f"  {'whole job (run_job)':28s} {per_frame:7.3f} s   {per_frame / baseline:6.2f}x the EXR write "
          f"(reads plates, writes layers; peak RSS {result['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
