"""Relight against rendered truth: the Normal pass's angular error, and the relit frame
against the same view rendered under a second sun.

Splits: the folders ``data/relight/eval`` (unseen streets), ``eval-objects`` (generic
objects: primitives on textured ground, photographs never trained on) and
``eval-unseen`` (interiors, a kind of scene never trained on), rendered by
``scripts/make_relight_dataset.py --split ...``; when none is present, the six views
shipped in ``tests/data/relight_views``. Methods: the embedded network (at its own
working size, and at any ``--size`` given), any Relight model folders given with
``--model``, and two trivial guesses (every surface facing the camera; ground below the
image's middle facing up, walls above it facing the camera).

Per split and method: the median over views of the per-view mean angle, and the share of
all surface pixels under 11.25, 22.5 and 30 degrees; the share of surface pixels the
method calls sky (confidence under the surface threshold); and, for views rendered
twice, the **relit** figure: the plate relit toward the second sun (its camera-space
direction given to the fitted neutral light) against the true second-sun render, PSNR
over surface pixels on display-encoded values (the truth's white point), minus the
untouched plate's PSNR, averaged over views; and, for views with a sun, how far the
neutral light fitted with the method's normals points from the true sun (what Collapse
Sim lights its collapse by), beside fixed directions. Prints figures; asserts nothing.

    python benchmarks/eval_relight.py [--split DIR ...] [--model FOLDER ...] [--size N ...] [--limit N]
        [--sheet docs/relight_truth.jpg]

``--sheet`` writes a contact sheet of each split's first views: plate, true normals, the
network's normals, and (for views rendered twice) the true second-sun render and the
plate relit toward that sun.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from genvfx.models import registry, relight
from genvfx.models.collapse.lighting import DEFAULT_DIRECTION
from genvfx.models.relight import Estimate, measures
from genvfx.models.relight.estimate import SURFACE
from genvfx.models.relight.light import REC709_LUMA, fit_light

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("eval", "eval-objects", "eval-unseen")
#: The true normals through the same light fit and relight: what the light model itself
#: can do, the ceiling for any normals.
ORACLE = "true normals (the light model's ceiling)"
#: Directions a light fit must beat to be worth fitting (camera space, toward the light).
FIXED_LIGHTS = {"Collapse Sim's default sun": DEFAULT_DIRECTION, "straight overhead": (0.0, 1.0, 0.0)}
GUESSES = {"walls face the camera, ground up": measures.ground_and_walls,
           "everything faces the camera": measures.facing_camera}


def load_views(folder: Path, limit: int | None):
    for path in sorted(folder.glob("*.npz"))[:limit]:
        with np.load(path) as data:
            image = data["image"].astype(np.float32)
            view = {"image": np.concatenate([image, np.ones(image.shape[:2] + (1,), np.float32)], -1),
                    "normal": data["normal"].astype(np.float32), "depth": data["depth"].astype(np.float32)}
            if "relit" in data:
                view["relit"] = data["relit"].astype(np.float32)
                view["relit_sun"] = data["relit_sun"].astype(np.float64)
            if "sun" in data and np.linalg.norm(data["sun"]) > 0.5:
                view["sun"] = data["sun"].astype(np.float64)
        yield path.name, view


def relit_psnr(view: dict, estimate: Estimate | None) -> float:
    """PSNR over surface pixels of the plate relit toward the second sun (``estimate``
    None: the untouched plate) against the true second-sun render."""
    surface = np.abs(view["normal"]).sum(-1) > 0.5
    got = view["image"] if estimate is None else measures.relit_toward(view["image"], estimate, view["relit_sun"])
    return measures.relit_psnr(got, view["relit"], surface)


def degrees_between(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0))))


def light_error(view: dict, estimate: Estimate) -> float:
    """Degrees between the neutral light fitted with ``estimate``'s normals and the true sun."""
    return degrees_between(fit_light(view["image"], estimate.normal, estimate.confidence).direction, view["sun"])


def _guess_estimate(normal: np.ndarray) -> Estimate:
    h, w = normal.shape[:2]
    return Estimate(normal=normal, depth=np.ones((h, w), np.float32), confidence=np.ones((h, w), np.float32))


def _normal_picture(normal: np.ndarray) -> np.ndarray:
    return np.where(np.abs(normal).sum(-1, keepdims=True) > 0.5, normal * 0.5 + 0.5, 0.0)


def sheet_row(view: dict, estimate: Estimate) -> np.ndarray:
    """Plate | true normals | ours | true second-sun render | plate relit toward it."""
    white = float(np.percentile(view["image"][..., :3] @ REC709_LUMA, 98)) or 1.0
    tiles = [measures.display_encoded(view["image"], white), _normal_picture(view["normal"]),
             _normal_picture(estimate.normal)]
    if "relit" in view:
        tiles += [measures.display_encoded(view["relit"], white),
                  measures.display_encoded(measures.relit_toward(view["image"], estimate, view["relit_sun"]), white)]
    return np.concatenate(tiles, axis=1)


def evaluate_split(folder: Path, methods: dict, limit: int | None, sheet_views: int = 0) -> dict:
    rows = {name: {"errors": [], "relit": [], "sky": [], "seconds": 0.0, "depth": [], "light": []}
            for name in [*methods, *GUESSES, ORACLE]}
    plate_psnr, sheet, fixed = [], [], {name: [] for name in FIXED_LIGHTS}
    for index, (_, view) in enumerate(load_views(folder, limit)):
        truth = view["normal"]
        h, w = truth.shape[:2]
        surface = np.abs(truth).sum(-1) > 0.5
        estimates = {}
        for name, estimator in methods.items():
            started = time.perf_counter()
            estimates[name] = estimator(view["image"])
            rows[name]["seconds"] += time.perf_counter() - started
            rows[name]["depth"].append(measures.relative_depth_error(estimates[name].depth, view["depth"]))
            rows[name]["sky"].append(float((estimates[name].confidence[surface] < SURFACE).mean()))
        for name, guess in GUESSES.items():
            estimates[name] = _guess_estimate(guess(h, w))
        estimates[ORACLE] = Estimate(normal=truth, depth=np.ones((h, w), np.float32),
                                     confidence=surface.astype(np.float32))
        for name, estimate in estimates.items():
            rows[name]["errors"].append(measures.angular_errors(estimate.normal, truth))
            if "relit" in view:
                rows[name]["relit"].append(relit_psnr(view, estimate))
            if "sun" in view:
                rows[name]["light"].append(light_error(view, estimate))
        if "sun" in view:
            for name, direction in FIXED_LIGHTS.items():
                fixed[name].append(degrees_between(direction, view["sun"]))
        if "relit" in view:
            plate_psnr.append(relit_psnr(view, None))
        if index < sheet_views:
            sheet.append(sheet_row(view, estimates[next(iter(methods))]))
    return {"rows": rows, "plate_psnr": plate_psnr, "sheet": sheet, "fixed": fixed}


def print_split(title: str, result: dict):
    rows, plate, fixed = result["rows"], result["plate_psnr"], result["fixed"]
    count = len(next(iter(rows.values()))["errors"])
    print(f"\n### {title}: {count} views")
    print("| method | median of per-view mean error | pixels < 11.25° | < 22.5° | < 30° | "
          "surface called sky | relit: PSNR gain over the plate | light fit: ° off the sun | s/view |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        pixels = np.concatenate(row["errors"])
        summary = measures.summary(row["errors"])
        sky = f"{100 * np.mean(row['sky']):.1f} %" if row["sky"] else "-"
        gains = np.array(row["relit"]) - np.array(plate)
        relit = f"{gains.mean():+.2f} dB (median {np.median(gains):+.2f})" if row["relit"] else "-"
        timing = f"{row['seconds'] / count:.3f}" if row["sky"] else "-"
        light = f"{np.median(row['light']):.0f}° (median)" if row["light"] else "-"
        print(f"| {name} | {summary['median_mean_deg']:.1f}° | {100 * (pixels < 11.25).mean():.1f} % | "
              f"{100 * (pixels < 22.5).mean():.1f} % | {100 * (pixels < 30).mean():.1f} % | {sky} | {relit} | "
              f"{light} | {timing} |")
    if any(fixed.values()):
        print("(light fit: the neutral light fitted with each method's normals against the true sun, over the "
              f"{len(next(iter(fixed.values())))} views with a sun; a fixed direction instead: "
              + ", ".join(f"{name} {np.median(values):.0f}°" for name, values in fixed.items()) + ")")
    if plate:
        print(f"(relit: per view, PSNR of the relit frame against the second sun's true render minus the "
              f"untouched plate's, mean {np.mean(plate):.2f} dB and median {np.median(plate):.2f} dB)")
    for name, row in rows.items():
        if row["depth"]:
            print(f"Depth pass, {name}: median abs. relative error {np.median(row['depth']):.3f} "
                  "(each view's depth scaled by its median to the truth's)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", action="append", default=None, help="a folder of held-out views (repeatable)")
    parser.add_argument("--model", action="append", default=[], help="a Relight model folder to evaluate too")
    parser.add_argument("--size", action="append", type=int, default=[],
                        help="also run the embedded network at this working size (long side)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sheet", default=None, help="write a contact sheet (PNG or JPEG) of each split's first views")
    parser.add_argument("--sheet-views", type=int, default=3)
    args = parser.parse_args(argv)
    folders = [Path(f) for f in args.split] if args.split else [ROOT / "data" / "relight" / s for s in SPLITS]
    folders = [f for f in folders if any(f.glob("*.npz"))] or [ROOT / "tests" / "data" / "relight_views"]
    embedded = registry.find_model("genvfx.relight.normalnet", slot="relight")
    methods = {f"genvfx NormalNet ({embedded.option('working_size')} px)": relight.load(embedded, "cpu")}
    for size in args.size:
        estimator = relight.load(embedded, "cpu")
        estimator.working_size = size
        methods[f"genvfx NormalNet ({size} px)"] = estimator
    for extra in args.model:
        manifest = registry.read_manifest(extra)
        methods[manifest.id] = relight.load(manifest, "auto")
    rows = []
    for folder in folders:
        result = evaluate_split(folder, methods, args.limit, args.sheet_views if args.sheet else 0)
        print_split(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder, result)
        rows += result["sheet"]
    if args.sheet and rows:
        import cv2

        width = max(row.shape[1] for row in rows)
        rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]
        picture = (np.clip(np.concatenate(rows, axis=0), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        cv2.imwrite(args.sheet, picture[..., ::-1])
        print(f"\nwrote {args.sheet}: plate | true normals | ours | true second-sun render | relit toward it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
