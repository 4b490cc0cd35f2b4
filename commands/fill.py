"""``genvfx fill``: Debris Fill on a plate (file or sequence), through the worker."""

from __future__ import annotations

from pathlib import Path

from ..backend import sequences
from ..backend.client import WorkerClient
from ..backend.jobs import Job
from .progress import run_with_progress


def main(args) -> int:
    plate = str(Path(args.plate).resolve())
    frames = sequences.resolve_frames(plate, sequences.parse_frames(args.frames))
    inputs = {"plate": plate, "mask": str(Path(args.mask).resolve())}
    if args.source:
        inputs["source"] = str(Path(args.source).resolve())
    job = Job(generator="fill", inputs=inputs, frames=frames, seed=args.seed, model=args.model,
              proxy=args.proxy, device=args.device, params={"patch_size": args.patch_size},
              output_dir_override=str(Path(args.out).resolve()))
    client = WorkerClient(python=args.python, model_folders=args.model_path)
    try:
        result = run_with_progress(client, job, "Debris Fill")
    finally:
        client.close()
    computed = len(result["computed"])
    print(f"{result['pattern']}: {len(frames)} frame(s), {computed} computed, "
          f"{len(frames) - computed} up to date, {result['seconds']:.1f} s")
    return 0
