"""``genvfx fill``: Debris Fill on a plate (file or sequence), through the worker."""

from __future__ import annotations

from pathlib import Path

from ..backend.files import sequences
from ..backend.process.client import WorkerClient
from ..backend.run.jobs import Job
from ..errors import BadInput
from ..models.fill import params as fill_params
from . import variants
from .progress import run_and_report


#: Parameters sent only when given: each model has its own defaults.
GIVEN_ONLY = ("patch_size", "structure", "prompt", "negative_prompt", "strength", "steps", "guidance")


def job_params(args) -> dict:
    """The generator parameters of ``genvfx fill``: how the shot is treated and the model
    settings given (:func:`genvfx.models.fill.params.job_params`)."""
    keyed = args.key_frames is not None or args.key_interval is not None
    mode = args.temporal or ("hold" if args.hold else "propagate" if keyed else fill_params.DEFAULT_MODE)
    if args.hold and mode != "hold":
        raise BadInput(f"--hold contradicts --temporal {mode}", "Give one of them.")
    if keyed and mode in ("carry", "off"):
        raise BadInput(f"Key frames do not apply to --temporal {mode}",
                       "Leave --key-frames and --key-interval out, or use --temporal propagate or --hold.")
    settings = {name: getattr(args, name, None) for name in GIVEN_ONLY}
    return fill_params.job_params(mode, args.key_frames, args.key_interval, **settings)


def main(args) -> int:
    plate = str(Path(args.plate).resolve())
    frames = sequences.resolve_frames(plate, sequences.parse_frames(args.frames))
    inputs = {"plate": plate, "mask": str(Path(args.mask).resolve())}
    if args.source:
        inputs["source"] = str(Path(args.source).resolve())
    out = Path(args.out).resolve()
    job = Job(generator="fill", inputs=inputs, frames=frames, seed=args.seed, model=args.model,
              proxy=args.proxy, device=args.device, params=job_params(args), output_dir_override=str(out),
              sign_key=args.sign_key or "")
    if args.variants is not None:
        return main_variants(args, job, out)
    run_and_report(job, "Debris Fill", args.python, args.model_path)
    return 0


def main_variants(args, job: Job, out: Path) -> int:
    """``--variants N``: the first frame N times, seeds seed … seed+N-1, at the proxy scale."""
    count = variants.check_count(args.variants)
    client = WorkerClient(python=args.python, model_folders=args.model_path)
    try:
        results = variants.run(client, job, count, args.variants_proxy, out)
    finally:
        client.close()
    sheet = variants.write_variants_sheet(out / "variants.png", job, results)
    variants.report(results, sheet, job)
    return 0
