"""Seconds per frame of each Debris Fill path at one plate size: the embedded default,
and the adapters for the user's models run on tiny models built here (an identity
LaMa-signature ONNX net, a 2-step random Stable Diffusion inpainting pipeline), so the
adapter figures are the cost of the plumbing (crop, colour conversion, seam), not of a
production network. Prints figures; asserts nothing.

    python benchmarks/bench_fill_adapters.py [--size 1920x1080] [--repeats 2]
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

from photos import photo_linear, rect_mask  # noqa: E402
from tiny_models import onnx_folder, tiny_sd_inpaint_folder  # noqa: E402

from genvfx.models import fill, registry  # noqa: E402

HOLE = (0.35, 0.40, 0.70, 0.70)  # ~10% of the frame
EMBEDS = {"prompt_embeds": np.full((1, 4, 32), 0.1, np.float32),
          "negative_prompt_embeds": np.zeros((1, 4, 32), np.float32)}


def seconds_per_frame(filler, plate, mask, repeats: int, **params) -> float:
    times = []
    for seed in range(repeats):
        started = time.perf_counter()
        filler(plate, mask, seed=seed, source=None, on_step=None, **params)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    plate = photo_linear("coffee", (width, height))
    mask = rect_mask(height, width, HOLE)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        paths = {
            "embedded default (PatchMatch)": (registry.find_model("genvfx.fill.patchmatch"), {}),
            "ONNX adapter, identity net": (registry.read_manifest(onnx_folder(root / "onnx")), {}),
            "diffusers adapter, tiny SD, 2 steps": (
                registry.read_manifest(tiny_sd_inpaint_folder(root / "sd")), EMBEDS),
        }
        print(f"plate {width}x{height}, hole {100 * (HOLE[2] - HOLE[0]) * (HOLE[3] - HOLE[1]):.0f}% of the frame, "
              f"median of {args.repeats}")
        baseline = None
        for label, (manifest, params) in paths.items():
            filler = fill.load(manifest, "auto")
            seconds = seconds_per_frame(filler, plate, mask, args.repeats, **params)
            baseline = baseline or seconds
            print(f"{label:38} {seconds:7.2f} s/frame  ({seconds / baseline:.2f}x the embedded default)")


if __name__ == "__main__":
    main()
