"""Debris Fill against rendered ground truth, beside the plain baselines, in one run.
Prints figures; asserts nothing.

    .venv/bin/python scripts/make_fill_truth.py                    # once: data/fill_truth/<shot>/
    .venv/bin/python benchmarks/eval_fill_truth.py                 # every shot found
    .venv/bin/python benchmarks/eval_fill_truth.py --shots crates_truck,bin_pan --out out/fill_truth

For every shot (``plate``/``truth``/``mask``/``vector`` sequences, see the maker) and every
method, inside the hole (mask > 0) and on display-encoded pixels (sRGB, clipped to 0..1):

* **PSNR** and **SSIM** against the true clean plate (SSIM: skimage's map, Gaussian
  window, averaged over the hole), mean over frames;
* **warp**: the warping error with the TRUE motion (the truth's Vector pass): mean
  |out_t(p) - out_{t-1}(p + to_prev_t(p))| over the hole of frame t, for pixels whose
  motion is forward-backward consistent (not occluded) and lands in frame t-1, pooled
  over the shot; divided by the same measure on the truth itself (1.0 = as stable as
  reality; the truth's own error is shading change, noise and resampling).

Methods: ``telea`` and ``ns`` (OpenCV inpainting per frame, linear RGB on 16 bits);
``ring mean`` (the constant guess: each frame's hole the mean colour of the ring around
it); ``fill off`` (Debris Fill synthesis frame by frame, ``--temporal off``), ``fill
propagate`` (key frames carried and blended, ``--temporal propagate``) and ``fill carry``
(the default: one synthesis carried through the shot), all run through the executor API
(``run_job``) exactly as ``genvfx fill`` builds the job. ``exact`` says whether the
output equals the plate bit for bit outside the mask. s/frame is wall time here.

A contact sheet per shot goes to ``--out``: for two or three frames, plate (hole in
red), mask, Telea, fill off, fill propagate, fill carry, truth; and a zoom on the hole at 2x.
``--docs DIR`` also writes the zoom with plate, Telea, the default and truth alone (the
README's pictures, ``docs/fill_truth/``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from temporal_measures import opencv_inpaint, telea  # noqa: E402

from genvfx.backend.files import images, layers  # noqa: E402
from genvfx.backend.run.executor import run_job  # noqa: E402
from genvfx.backend.run.jobs import Job  # noqa: E402
from genvfx.models.fill import params as fill_params  # noqa: E402

METHODS = ("telea", "ns", "ring mean", "fill off", "fill propagate", "fill carry")


# ------------------------------------------------------------------------- reading

def load_shot(folder: Path) -> dict:
    import cv2

    info = json.loads((folder / "shot.json").read_text())
    frames = info["frames"]
    plates = [images.as_rgba(images.read_image(folder / f"plate.{f:04d}.exr")) for f in frames]
    truths = [images.as_rgba(images.read_image(folder / f"truth.{f:04d}.exr")) for f in frames]
    holes = [cv2.imread(str(folder / f"mask.{f:04d}.png"), cv2.IMREAD_GRAYSCALE) > 0 for f in frames]
    vectors = [np.load(folder / f"vector.{f:04d}.npz") for f in frames]
    return {"info": info, "frames": frames, "plates": plates, "truths": truths, "holes": holes,
            "to_prev": [v["to_prev"] for v in vectors], "to_next": [v["to_next"] for v in vectors]}


def srgb(rgba: np.ndarray) -> np.ndarray:
    x = np.clip(np.nan_to_num(rgba[..., :3].astype(np.float32)), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


# ------------------------------------------------------------------------- methods

def navier_stokes(plate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return opencv_inpaint(plate, hole, "ns")


def ring_mean(plate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The constant guess: the hole filled with the mean of a 6-px ring around it."""
    import cv2

    ring = cv2.dilate(hole.astype(np.uint8), np.ones((13, 13), np.uint8)).astype(bool) & ~hole
    out = plate.copy()
    out[hole, :3] = plate[ring, :3].mean(0) if ring.any() else plate[..., :3].mean((0, 1))
    return out


def per_frame(function, shot) -> tuple[list[np.ndarray], float]:
    started = time.perf_counter()
    outs = [function(p, h) for p, h in zip(shot["plates"], shot["holes"])]
    return outs, (time.perf_counter() - started) / len(outs)


def debris_fill(folder: Path, shot, cache: Path, temporal: str) -> tuple[list[np.ndarray], float]:
    params = fill_params.job_params(temporal, "", None)
    job = Job(generator="fill", frames=list(shot["frames"]), cache_dir=str(cache), seed=0, device="cpu",
              inputs={"plate": str(folder / "plate.####.exr"), "mask": str(folder / "mask.####.png")},
              params=params)
    started = time.perf_counter()
    result = run_job(job)
    seconds = (time.perf_counter() - started) / len(shot["frames"])
    outs = [layers.read_layers(result["pattern"].replace("####", f"{f:04d}"))["DebrisFill"]["Combined"]
            for f in result["frames"]]
    return outs, seconds


# ------------------------------------------------------------------------- measures

def psnr_ssim(outs, shot) -> tuple[float, float]:
    from skimage.metrics import structural_similarity

    psnrs, ssims = [], []
    for out, truth, hole in zip(outs, shot["truths"], shot["holes"]):
        a, b = srgb(out), srgb(truth)
        mse = float(((a[hole] - b[hole]) ** 2).mean())
        psnrs.append(10 * np.log10(1.0 / max(mse, 1e-10)))
        _, smap = structural_similarity(b, a, channel_axis=2, data_range=1.0, full=True,
                                        gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        ssims.append(float(smap.mean(-1)[hole].mean()))
    return float(np.mean(psnrs)), float(np.mean(ssims))


def warp(image: np.ndarray, offset: np.ndarray) -> np.ndarray:
    import cv2

    h, w = offset.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + offset[..., 0], ys + offset[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def warp_pixels(shot) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per pair (t-1, t): the hole pixels of t whose true motion lands inside frame t-1
    and comes back (forward-backward consistent within 0.5 px), and the motion."""
    pairs = []
    for t in range(1, len(shot["frames"])):
        back, forth = shot["to_prev"][t], shot["to_next"][t - 1]
        h, w = back.shape[:2]
        ys, xs = np.mgrid[0:h, 0:w]
        tx, ty = xs + back[..., 0], ys + back[..., 1]
        inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
        round_trip = np.linalg.norm(back + warp(forth, back), axis=-1)
        valid = shot["holes"][t] & inside & (round_trip < 0.5)
        pairs.append((valid, back))
    return pairs


def warp_error(outs, pairs) -> float:
    total, count = 0.0, 0
    for t, (valid, back) in enumerate(pairs, start=1):
        if not valid.any():
            continue
        moved = warp(srgb(outs[t - 1]), back)
        total += float(np.abs(srgb(outs[t]) - moved)[valid].sum())
        count += int(valid.sum()) * 3
    return total / max(count, 1)


def outside_exact(outs, shot) -> bool:
    return all(np.array_equal(o[~h], p[~h]) for o, p, h in zip(outs, shot["plates"], shot["holes"]))


# ------------------------------------------------------------------------- pictures

#: the sheets' columns (label, method): every method, and the README's pictures (``--docs``)
COLUMNS = [("plate", None), ("mask", None), ("Telea", "telea"), ("fill off", "fill off"),
           ("fill propagate", "fill propagate"), ("fill carry", "fill carry"), ("truth", None)]
DOCS_COLUMNS = [("plate", None), ("OpenCV Telea", "telea"), ("Debris Fill", "fill carry"), ("truth", None)]


def contact_sheet(path: Path, shot, results: dict, name: str, columns=COLUMNS, whole: bool = True):
    """``path`` (and ``<stem>_zoom.png``, the hole at 2x) with a row per picked frame;
    ``whole=False``: the zoom alone, written to ``path``."""
    import cv2

    n = len(shot["frames"])
    picks = sorted({0, n // 2, n - 1}) if n > 8 else [0, n - 1]
    ys, xs = np.nonzero(np.any([shot["holes"][i] for i in picks], axis=0))
    h, w = shot["holes"][0].shape
    pad = 16
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)

    def tile(label, key, i):
        hole = shot["holes"][i]
        if label == "plate":
            img = srgb(shot["plates"][i])
            edge = hole ^ cv2.erode(hole.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            img[edge] = (1.0, 0.1, 0.1)
        elif label == "mask":
            img = np.repeat(hole[..., None].astype(np.float32), 3, 2)
        elif label == "truth":
            img = srgb(shot["truths"][i])
        elif key in results:
            img = srgb(results[key]["outs"][i])
        else:
            img = np.zeros((h, w, 3), np.float32)
        return (img * 255 + 0.5).astype(np.uint8)

    def label_row(width, labels, cell):
        bar = np.full((14, width, 3), 255, np.uint8)
        for k, text in enumerate(labels):
            cv2.putText(bar, text, (k * cell + 3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1,
                        cv2.LINE_AA)
        return bar

    gap = 2
    sheets = (("", None, 1), ("_zoom", (y0, y1, x0, x1), 2)) if whole else (("", (y0, y1, x0, x1), 2),)
    for suffix, crop, scale in sheets:
        rows = []
        for i in picks:
            cells = []
            for label, key in columns:
                t = tile(label, key, i)
                if crop:
                    t = t[crop[0]:crop[1], crop[2]:crop[3]]
                    t = cv2.resize(t, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
                cells.append(np.pad(t, ((0, gap), (0, gap), (0, 0)), constant_values=255))
            row = np.concatenate(cells, 1)
            cv2.putText(row, f"f{shot['frames'][i]}", (3, row.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 0), 1, cv2.LINE_AA)
            rows.append(row)
        cell = rows[0].shape[1] // len(columns)
        sheet = np.concatenate([label_row(rows[0].shape[1], [c[0] for c in columns], cell)] + rows, 0)
        cv2.putText(sheet, name, (sheet.shape[1] - 8 * len(name) - 4, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (90, 90, 90), 1, cv2.LINE_AA)
        cv2.imwrite(str(path.with_name(path.stem + suffix + path.suffix)), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])


# ------------------------------------------------------------------------- main

def evaluate(folder: Path, out: Path, skip: set[str], docs: Path | None = None) -> dict:
    shot = load_shot(folder)
    name = folder.name
    results = {}
    for method, function in (("telea", telea), ("ns", navier_stokes), ("ring mean", ring_mean)):
        if method not in skip:
            outs, seconds = per_frame(function, shot)
            results[method] = {"outs": outs, "s/frame": seconds}
    for method, temporal in (("fill off", "off"), ("fill propagate", "propagate"), ("fill carry", "carry")):
        if method not in skip:
            outs, seconds = debris_fill(folder, shot, out / "cache", temporal)
            results[method] = {"outs": outs, "s/frame": seconds}
    pairs = warp_pixels(shot)
    truth_warp = warp_error(shot["truths"], pairs)
    rows = {}
    for method, r in results.items():
        psnr, ssim = psnr_ssim(r["outs"], shot)
        rows[method] = {"psnr": psnr, "ssim": ssim, "warp": warp_error(r["outs"], pairs) / max(truth_warp, 1e-9),
                        "s/frame": r["s/frame"], "exact": outside_exact(r["outs"], shot)}
    info = shot["info"]
    masks = [c["mask_pct"] for c in info["coverage"].values()]
    print(f"\n{name}: {len(shot['frames'])} frames {info['width']}x{info['height']}, {info['object']}; "
          f"{info['camera']}; hole {min(masks):.1f}-{max(masks):.1f} %; truth's own warp error "
          f"{truth_warp:.4f} over {sum(int(v.sum()) for v, _ in pairs)} px")
    print(f"  {'method':10} {'PSNR':>6} {'SSIM':>6} {'warp×':>6} {'s/frame':>8}  exact")
    for method, row in rows.items():
        print(f"  {method:10} {row['psnr']:6.2f} {row['ssim']:6.3f} {row['warp']:6.2f} {row['s/frame']:8.3f}  "
              f"{'yes' if row['exact'] else 'NO'}")
    out.mkdir(parents=True, exist_ok=True)
    contact_sheet(out / f"{name}.png", shot, results, name)
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
        contact_sheet(docs / f"{name}.jpg", shot, results, name, DOCS_COLUMNS, whole=False)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "fill_truth"))
    parser.add_argument("--shots", help="comma-separated shot names (default: every folder with shot.json)")
    parser.add_argument("--out", default=str(ROOT / "out" / "fill_truth"),
                        help="contact sheets, results.json and the fill's cache go here")
    parser.add_argument("--skip", action="append", default=[], choices=METHODS,
                        help="leave a method out (repeatable)")
    parser.add_argument("--skip-long", action="append", default=[], choices=METHODS,
                        help="leave a method out on shots longer than 8 frames (per-frame synthesis "
                             "is slow on a busy CPU)")
    parser.add_argument("--docs", help="also write each shot's hole, zoomed, as plate | Telea | Debris Fill | "
                                       "truth into this folder (the README's pictures: docs/fill_truth)")
    args = parser.parse_args()
    data, out = Path(args.data).resolve(), Path(args.out).resolve()
    docs = Path(args.docs).resolve() if args.docs else None
    names = args.shots.split(",") if args.shots else sorted(p.parent.name for p in data.glob("*/shot.json"))
    table = {}
    for name in names:
        frames = len(json.loads((data / name / "shot.json").read_text())["frames"])
        skip = set(args.skip) | (set(args.skip_long) if frames > 8 else set())
        table[name] = evaluate(data / name, out, skip, docs)
    if not table:
        print(f"no shots under {data}: run scripts/make_fill_truth.py first")
        return
    print(f"\nmedians over the shots that have the method ({len(table)} shots: {', '.join(table)})")
    print(f"  {'method':10} {'shots':>5} {'PSNR':>6} {'ΔTelea':>7} {'SSIM':>6} {'ΔTelea':>7} {'warp×':>6} "
          f"{'max warp×':>9}")
    for method in METHODS:
        have = [rows for rows in table.values() if method in rows]
        if not have:
            continue
        with_telea = [rows for rows in have if "telea" in rows]

        def median(key, minus_telea=False):
            values = [rows[method][key] - (rows["telea"][key] if minus_telea else 0.0)
                      for rows in (with_telea if minus_telea else have)]
            return float(np.median(values)) if values else float("nan")

        worst = max(rows[method]["warp"] for rows in have)
        print(f"  {method:10} {len(have):5d} {median('psnr'):6.2f} {median('psnr', True):+7.2f} "
              f"{median('ssim'):6.3f} {median('ssim', True):+7.3f} {median('warp'):6.2f} {worst:9.2f}")
    (out / "results.json").write_text(json.dumps(table, indent=1))
    print(f"\ncontact sheets and results.json in {out}")


if __name__ == "__main__":
    main()
