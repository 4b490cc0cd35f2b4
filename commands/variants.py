"""``genvfx fill --variants N``: one frame filled N times with seeds seed … seed+N-1, at a
proxy scale, so the artist picks a look before paying for the full-resolution shot.

Each variant is its own job (frame by frame, no temporal propagation) sent to one warm
worker; it lands in ``OUT/variants/seed_<seed>/`` (a second run with the same inputs finds
its frames there and computes nothing), and ``OUT/variants.png`` shows the plate (mask
tinted) beside every variant, labelled with its seed. The full job is then an ordinary
``genvfx fill … --seed S``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..backend.files import images, layers, sequences
from ..review import preview
from ..errors import BadInput
from ..backend.run.jobs import PROXY_SCALES, Job
from .progress import run_with_progress

MAX_VARIANTS = 16
#: Parameters that only mean something over a shot.
SHOT_PARAMS = ("key_interval", "key_frames")


def check_count(count: int) -> int:
    if not 1 <= int(count) <= MAX_VARIANTS:
        raise BadInput(f"--variants {count} is out of range", f"Ask for 1 to {MAX_VARIANTS} variants.")
    return int(count)


def variant_params(params: dict) -> dict:
    """A variant is one frame filled on its own: the shot settings do not apply."""
    params = {name: value for name, value in params.items() if name not in SHOT_PARAMS}
    params["temporal"] = "off"
    return params


def variant_jobs(job: Job, count: int, proxy: float, out: Path) -> list[Job]:
    """``count`` copies of ``job`` on its first frame, seeds ``job.seed`` upwards, each
    written to its own folder under ``out/variants``."""
    if float(proxy) not in PROXY_SCALES:
        raise BadInput(f"Proxy scale {proxy} is not supported", "Use 0.25, 0.5 or 1.0.")
    frame = job.frames[0]
    return [replace(job, frames=[frame], seed=seed, proxy=float(proxy), params=variant_params(job.params),
                    output_dir_override=str(out / "variants" / f"seed_{seed:04d}"))
            for seed in range(int(job.seed), int(job.seed) + count)]


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (width, height) when it is not that size already."""
    if image.shape[1::-1] == tuple(size):
        return image
    import cv2

    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def write_variants_sheet(path: Path, job: Job, results: list[tuple[int, str]], columns: int = 4) -> Path:
    """The plate (mask tinted over it) and each variant's Combined, labelled with its seed,
    all at the variants' size, ``columns`` tiles a row."""
    frame = job.frames[0]
    plate = images.as_rgba(images.read_image(sequences.input_path(job.inputs["plate"], frame, "plate")))
    mask = images.read_mask(sequences.input_path(job.inputs["mask"], frame, "mask"))
    tiles = []
    for seed, frame_file in results:
        combined = layers.read_layers(frame_file)[job.layer]["Combined"]
        tiles.append((f"seed {seed}", preview.to_display_8bit(combined)))
    size = tiles[0][1].shape[1::-1]
    tiles.insert(0, (f"plate {frame}", _fit(preview.mask_overlay(plate, mask), size)))
    rows = [tiles[start:start + columns] for start in range(0, len(tiles), columns)]
    return preview.write_png(path, preview.contact_sheet(rows))


def run(client, job: Job, count: int, proxy: float, out: Path) -> list[tuple[int, str]]:
    """Compute the variants through ``client`` (one worker, one job a variant); returns
    ``[(seed, frame file)]`` and writes ``out/variants.png``."""
    count = check_count(count)
    results = []
    for variant in variant_jobs(job, count, proxy, out):
        done = run_with_progress(client, variant, f"Variant seed {variant.seed}")
        results.append((variant.seed, str(sequences.frame_path(done["pattern"], variant.frames[0]))))
    return results


def report(results: list[tuple[int, str]], sheet: Path, job: Job) -> None:
    for seed, frame_file in results:
        print(f"seed {seed}: {frame_file}")
    print(f"contact sheet: {sheet}")
    first, last = results[0][0], results[-1][0]
    frames = f"frame {job.frames[0]}" if len(job.frames) == 1 else f"frames {job.frames[0]}-{job.frames[-1]}"
    print(f"Pick a seed ({first}-{last}) and run the full fill ({frames}) with --seed S.")
