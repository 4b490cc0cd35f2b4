"""Flicker of Relight's Normal pass on a panning shot, per frame and smoothed along the
optical flow. Flicker = mean angle between a frame's normals and the previous frame's
carried to it by the flow (trusted pixels). On the rendered pan (``data/relight/pan``,
``scripts/make_relight_dataset.py --pan 16``) the true normals are measured too (their
bump-mapped detail shimmers as it moves, so they are no floor) and the angular error
against them shows what smoothing costs in accuracy; without it, a 12-frame pan across a scikit-image photograph is used. Prints
figures; asserts nothing.

    python benchmarks/bench_relight_temporal.py [--pan DIR] [--strength 0.6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from photos import photo_linear  # noqa: E402

from genvfx.models import registry, relight  # noqa: E402
from genvfx.models.relight import measures, temporal  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rendered_pan(folder: Path):
    plates, truths = [], []
    for path in sorted(folder.glob("pan_*.npz")):
        with np.load(path) as data:
            image = data["image"].astype(np.float32)
            plates.append(np.concatenate([image, np.ones(image.shape[:2] + (1,), np.float32)], -1))
            truths.append(data["normal"].astype(np.float32))
    return plates, truths


def photo_pan(frames=12, step=3):
    photo = photo_linear("astronaut", (320, 240))
    return [np.ascontiguousarray(photo[:180, step * t:step * t + 240]) for t in range(frames)], None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pan", default=str(ROOT / "data" / "relight" / "pan"))
    parser.add_argument("--strength", type=float, default=temporal.DEFAULT_STRENGTH)
    args = parser.parse_args()
    plates, truths = rendered_pan(Path(args.pan))
    source = f"rendered pan {args.pan}" if plates else "photograph pan (astronaut, 3 px a frame)"
    if not plates:
        plates, truths = photo_pan()
    estimator = relight.load(registry.find_model("genvfx.relight.normalnet", slot="relight"), "cpu")
    raw = [estimator(plate) for plate in plates]
    smoothed = [raw[0]]
    for t in range(1, len(plates)):
        smoothed.append(temporal.smooth(plates[t - 1], smoothed[-1], plates[t], raw[t], args.strength))
    before = temporal.flicker([e.normal for e in raw], plates)
    after = temporal.flicker([e.normal for e in smoothed], plates)
    print(f"{source}: {len(plates)} frames {plates[0].shape[1]}x{plates[0].shape[0]}, strength {args.strength}")
    print("| Normal pass | flicker (deg) | vs per frame |")
    print("|---|---|---|")
    print(f"| per frame | {before:.2f} | 1.00 |")
    print(f"| smoothed along the flow | {after:.2f} | {after / before:.2f} |")
    if truths is not None:
        floor = temporal.flicker(truths, plates)
        print(f"| ground truth (its bump detail shimmers as it moves) | {floor:.2f} | {floor / before:.2f} |")
        for name, estimates in (("per frame", raw), ("smoothed", smoothed)):
            error = measures.summary([measures.angular_errors(e.normal, n) for e, n in zip(estimates, truths)])
            print(f"angular error, {name}: median of per-frame means {error['median_mean_deg']:.2f} deg, "
                  f"{100 * error['under_22_5']:.1f} % under 22.5 deg")


if __name__ == "__main__":
    main()
