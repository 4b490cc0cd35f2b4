"""Debris Fill's seconds a frame on a long street shot at full HD, the default way (carry, the
street filled along its vanishing rays). Prints figures; asserts nothing.

    python benchmarks/bench_fill_street.py                      # 100 frames, 1920x1080
    python benchmarks/bench_fill_street.py --frames 24 --size 960x540

The shot is the demo's street (``assets/demo/plate.0001.exr``, a Cycles render) with its
rubble pile, seen by a camera that pushes in 25 % over the shot, so the pile (the hole, its
mask scaled with it) stays fixed in the world. Through the executor, exactly as ``genvfx
fill`` runs it, with EXR reading and writing: the whole job's seconds a frame. Beside it, in
the same run: one frame's synthesis alone (the fill function on frame 1, the cost a newly
exposed frame pays), OpenCV's DIS flow between two frames (what a carried frame pays, twice),
and writing one frame's EXR layer, the floor any job pays.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from photos import write_mask_png, write_plate  # noqa: E402

from genvfx.backend.files import images, layers  # noqa: E402
from genvfx.backend.run.executor import run_job  # noqa: E402
from genvfx.backend.run.jobs import Job  # noqa: E402
from genvfx.models.fill import fill  # noqa: E402
from genvfx.models.fill import params as fill_params  # noqa: E402
from genvfx.models.flow import dis_flow, grey8  # noqa: E402

PUSH_IN = 0.25   # the camera's zoom over the shot


def make_shot(folder: Path, frames: int, size: tuple[int, int]) -> float:
    """Write plate.####.exr and mask.####.png; returns the mean share of the frame in the hole."""
    import cv2

    plate = images.as_rgba(images.read_image(ROOT / "assets" / "demo" / "plate.0001.exr"))
    mask = images.read_mask(ROOT / "assets" / "demo" / "mask.0001.png")
    width, height = size
    base = width / plate.shape[1]
    ys, xs = np.nonzero(mask > 0.5)
    cx, cy = xs.mean(), ys.mean()                       # push in towards the pile
    folder.mkdir(parents=True, exist_ok=True)
    shares = []
    for frame in range(1, frames + 1):
        zoom = 1.0 + PUSH_IN * (frame - 1) / max(frames - 1, 1)   # about the pile: frame 1 is the whole plate
        matrix = np.float32([[base * zoom, 0, base * cx * (1 - zoom)], [0, base * zoom, base * cy * (1 - zoom)]])
        image = cv2.warpAffine(plate, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        hole = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR) > 0.5
        write_plate(folder / f"plate.{frame:04d}.exr", np.maximum(image, 0.0))
        write_mask_png(folder / f"mask.{frame:04d}.png", hole.astype(np.float32))
        shares.append(hole.mean())
    return float(np.mean(shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="1920x1080", help="WxH")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        share = make_shot(root / "shot", args.frames, size)
        print(f"street push-in: {args.frames} frames, {size[0]}x{size[1]}, hole {share * 100:.1f} % of the frame")
        first = images.as_rgba(images.read_image(root / "shot" / "plate.0001.exr"))
        second = images.as_rgba(images.read_image(root / "shot" / "plate.0002.exr"))
        hole = images.read_mask(root / "shot" / "mask.0001.png")

        started = time.perf_counter()
        layers.write_layer(root / "floor.exr", "DebrisFill", {"Combined": first, "Fill": first, "Mask": hole})
        write = time.perf_counter() - started
        started = time.perf_counter()
        dis_flow(grey8(first), grey8(second))
        flow = time.perf_counter() - started
        started = time.perf_counter()
        fill(first, hole, device="cpu")
        synthesis = time.perf_counter() - started

        job = Job(generator="fill", frames=list(range(1, args.frames + 1)), cache_dir=str(root / "cache"), seed=0,
                  device="cpu", inputs={"plate": str(root / "shot" / "plate.####.exr"),
                                        "mask": str(root / "shot" / "mask.####.png")},
                  params=fill_params.job_params())
        started = time.perf_counter()
        run_job(job)
        per_frame = (time.perf_counter() - started) / args.frames

    print(f"{'step':42} {'seconds':>8} {'× EXR write':>12}")
    for label, seconds in (("write one frame's EXR (the floor)", write),
                           ("one DIS flow between two frames", flow),
                           ("synthesis of frame 1 alone (rays)", synthesis),
                           ("whole job, a frame (carry, EXR in and out)", per_frame)):
        print(f"{label:42} {seconds:8.2f} {seconds / write:12.1f}")
    print("target: the whole job at most 2 s a frame at 1920x1080 with a 10 % hole")


if __name__ == "__main__":
    main()
