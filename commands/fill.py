"""``genvfx fill``: Debris Fill on a plate (file or sequence), through the worker."""

from __future__ import annotations

from pathlib import Path

from ..backend.files import sequences
from ..errors import BadInput
from ..backend.process.client import WorkerClient
from ..backend.run.jobs import Job
from ..models.fill.temporal import DEFAULT_KEY_INTERVAL
from .progress import run_and_report


#: Parameters sent only when given: each model has its own defaults.
GIVEN_ONLY = ("patch_size", "prompt", "negative_prompt", "strength", "steps", "guidance")


def job_params(args) -> dict:
    """The generator parameters of ``genvfx fill``: how the shot is treated (always written
    out, so the cache key names the behaviour) and the model settings given."""
    mode = args.temporal or ("hold" if args.hold else "propagate")
    if args.hold and mode != "hold":
        raise BadInput(f"--hold contradicts --temporal {mode}", "Give one of them.")
    params = {"temporal": mode}
    for name in GIVEN_ONLY:
        value = getattr(args, name, None)
        if value is not None:
            params[name] = value
    if mode == "off":
        return params
    if args.key_frames:
        try:
            params["key_frames"] = sorted({int(part) for part in args.key_frames.replace(" ", "").split(",") if part})
        except ValueError:
            raise BadInput(f"Cannot read the key frames '{args.key_frames}'",
                           "Give frame numbers such as 1,13,25.") from None
        if not params["key_frames"]:
            raise BadInput("No key frames given", "Give frame numbers such as 1,13,25.")
    elif mode == "propagate" or args.key_interval is not None:
        params["key_interval"] = DEFAULT_KEY_INTERVAL if args.key_interval is None else args.key_interval
    return params


def main(args) -> int:
    plate = str(Path(args.plate).resolve())
    frames = sequences.resolve_frames(plate, sequences.parse_frames(args.frames))
    inputs = {"plate": plate, "mask": str(Path(args.mask).resolve())}
    if args.source:
        inputs["source"] = str(Path(args.source).resolve())
    out = Path(args.out).resolve()
    job = Job(generator="fill", inputs=inputs, frames=frames, seed=args.seed, model=args.model,
              proxy=args.proxy, device=args.device, params=job_params(args), output_dir_override=str(out))
    if args.variants is not None:
        return main_variants(args, job, out)
    run_and_report(job, "Debris Fill", args.python, args.model_path)
    return 0


def main_variants(args, job: Job, out: Path) -> int:
    """``--variants N``: the first frame N times, seeds seed … seed+N-1, at the proxy scale."""
    from . import variants

    count = variants.check_count(args.variants)
    client = WorkerClient(python=args.python, model_folders=args.model_path)
    try:
        results = variants.run(client, job, count, args.variants_proxy, out)
    finally:
        client.close()
    sheet = variants.write_variants_sheet(out / "variants.png", job, results)
    variants.report(results, sheet, job)
    return 0
