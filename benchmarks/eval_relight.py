"""Angular error of Relight's Normal pass on held-out Cycles renders with true normals.

Views: ``data/relight/eval`` (``scripts/make_relight_dataset.py --split eval``: seeds and
facade materials never seen in training) when present, else the six views shipped in
``tests/data/relight_views``. Methods: the embedded network, any Relight model folders
given with ``--model`` (e.g. a Marigold normals folder), and two trivial guesses (every
surface facing the camera; ground below the image's middle facing up, walls above it
facing the camera). Per view, the mean angle over pixels with a surface; the table gives
the median over views and the share of all surface pixels under 11.25, 22.5 and 30
degrees. Prints figures; asserts nothing.

    python benchmarks/eval_relight.py [--views DIR] [--model FOLDER ...] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from genvfx.models import registry, relight
from genvfx.models.relight import measures

ROOT = Path(__file__).resolve().parents[1]


def load_views(folder: Path, limit: int | None):
    for path in sorted(folder.glob("*.npz"))[:limit]:
        with np.load(path) as data:
            image = data["image"].astype(np.float32)
            yield path.name, np.concatenate([image, np.ones(image.shape[:2] + (1,), np.float32)], -1), \
                data["normal"].astype(np.float32), data["depth"].astype(np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", default=None)
    parser.add_argument("--model", action="append", default=[], help="a Relight model folder to evaluate too")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    folder = Path(args.views) if args.views else ROOT / "data" / "relight" / "eval"
    if not any(folder.glob("*.npz")):
        folder = ROOT / "tests" / "data" / "relight_views"
    methods = {"genvfx NormalNet (embedded)": relight.load(registry.find_model("genvfx.relight.normalnet",
                                                                               slot="relight"), "cpu")}
    for extra in args.model:
        manifest = registry.read_manifest(extra)
        methods[manifest.id] = relight.load(manifest, "auto")
    errors = {name: [] for name in [*methods, "walls face the camera, ground up", "everything faces the camera"]}
    seconds = {name: 0.0 for name in methods}
    depth_errors = {name: [] for name in methods}
    count = 0
    for _, image, truth, depth in load_views(folder, args.limit):
        h, w = truth.shape[:2]
        for name, estimator in methods.items():
            started = time.perf_counter()
            estimate = estimator(image)
            seconds[name] += time.perf_counter() - started
            errors[name].append(measures.angular_errors(estimate.normal, truth))
            depth_errors[name].append(measures.relative_depth_error(estimate.depth, depth))
        errors["walls face the camera, ground up"].append(measures.angular_errors(measures.ground_and_walls(h, w), truth))
        errors["everything faces the camera"].append(measures.angular_errors(measures.facing_camera(h, w), truth))
        count += 1
    print(f"{count} held-out views from {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder}")
    print("| method | median of per-view mean error | pixels < 11.25° | < 22.5° | < 30° | s/view |")
    print("|---|---|---|---|---|---|")
    for name, per_view in errors.items():
        pixels = np.concatenate(per_view)
        summary = measures.summary(per_view)
        timing = f"{seconds[name] / count:.3f}" if name in seconds else "-"
        print(f"| {name} | {summary['median_mean_deg']:.1f}° | {100 * (pixels < 11.25).mean():.1f} % | "
              f"{100 * (pixels < 22.5).mean():.1f} % | {100 * (pixels < 30).mean():.1f} % | {timing} |")
    for name, values in depth_errors.items():
        print(f"Depth pass, {name}: median abs. relative error {np.median(values):.3f} "
              f"(each view's depth scaled by its median to the truth's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
