"""Debris Fill over a shot: how much the fill boils, and what it costs. Prints figures;
asserts nothing.

    python benchmarks/bench_fill_temporal.py            # 24 frames, 240×136
    python benchmarks/bench_fill_temporal.py --quick    # 12 frames, 160×120

A real photograph pans by a known number of pixels a frame behind a hole fixed in screen
space. The *warping error* is the mean |fill_t − fill_{t−1} moved by the known pan| over
the hole (linear RGB): 0 for a fill that sticks to the background, large for one that
boils. Compared: the temporal default (carry: one synthesis carried along the optical
flow), propagation of key frames every 12 and every 6 frames, hold, Debris Fill frame by frame, and OpenCV's Telea inpainting frame by
frame. Seconds per frame include reading the plates and writing the EXRs (in-process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from photos import photo_linear, rect_mask, write_mask_png, write_plate  # noqa: E402
from temporal_measures import telea, warp_errors  # noqa: E402

from genvfx.backend.files import layers  # noqa: E402
from genvfx.backend.run.executor import run_job  # noqa: E402
from genvfx.backend.run.jobs import Job  # noqa: E402

HOLE = (0.35, 0.40, 0.70, 0.70)


def make_shot(folder: Path, frames: int, size: tuple[int, int], pan: int):
    width, height = size
    folder.mkdir(parents=True, exist_ok=True)
    photo = photo_linear("coffee", (width + pan * frames, height))
    mask = rect_mask(height, width, HOLE)
    plates = []
    for frame in range(1, frames + 1):
        plate = np.ascontiguousarray(photo[:, pan * frame:pan * frame + width])
        plates.append(plate)
        write_plate(folder / f"plate.{frame:04d}.exr", plate)
        write_mask_png(folder / f"mask.{frame:04d}.png", mask)
    return plates, mask > 0.5


def run(folder: Path, cache: Path, frames: int, **params):
    job = Job(generator="fill", frames=list(range(1, frames + 1)), cache_dir=str(cache), seed=0, device="cpu",
              inputs={"plate": str(folder / "plate.####.exr"), "mask": str(folder / "mask.####.png")},
              params=params)
    started = time.perf_counter()
    result = run_job(job)
    seconds = time.perf_counter() - started
    images = [layers.read_layers(result["pattern"].replace("####", f"{f:04d}"))["DebrisFill"]["Combined"]
              for f in result["frames"]]
    return images, seconds / frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pan", type=int, default=3, help="pixels a frame")
    parser.add_argument("--size", help="plate size WxH (default 240x136; --quick 160x120)")
    parser.add_argument("--frames", type=int, help="shot length (default 24; --quick 12)")
    parser.add_argument("--skip", action="append", default=[], choices=("propagate", "hold", "per-frame", "keys6"),
                        help="leave a method out (repeatable; per-frame synthesis is slow at 1920x1080)")
    args = parser.parse_args()
    frames, size = (12, (160, 120)) if args.quick else (24, (240, 136))
    if args.size:
        size = tuple(int(v) for v in args.size.split("x"))
    frames = args.frames or frames
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        plates, hole = make_shot(root / "shot", frames, size, args.pan)
        print(f"panning shot: {frames} frames, {size[0]}×{size[1]}, {args.pan} px/frame, "
              f"hole {hole.mean() * 100:.0f}% of the frame")
        print(f"{'method':34} {'warp error mean':>15} {'max':>8} {'s/frame':>8}")
        rows = [
            ("temporal default (carry)", {}, ""),
            ("propagate, keys every 12", {"temporal": "propagate"}, "propagate"),
            ("propagate, keys every 6", {"temporal": "propagate", "key_interval": 6}, "keys6"),
            ("hold (wrong for a pan)", {"temporal": "hold"}, "hold"),
            ("Debris Fill per frame", {"temporal": "off"}, "per-frame"),
        ]
        for label, params, name in rows:
            if name in args.skip:
                continue
            images, seconds = run(root / "shot", root / "cache", frames, **params)
            outside_exact = all(np.array_equal(i[~hole], p[~hole]) for i, p in zip(images, plates))
            errors = warp_errors(images, hole, args.pan)
            print(f"{label:34} {errors.mean():15.4f} {errors.max():8.4f} {seconds:8.3f}"
                  + ("" if outside_exact else "  (outside the mask differs!)"))
        started = time.perf_counter()
        inpainted = [telea(plate, hole) for plate in plates]
        seconds = (time.perf_counter() - started) / frames
        errors = warp_errors(inpainted, hole, args.pan)
        print(f"{'OpenCV Telea per frame':34} {errors.mean():15.4f} {errors.max():8.4f} {seconds:8.3f}"
              "  (no EXR I/O)")


if __name__ == "__main__":
    main()
