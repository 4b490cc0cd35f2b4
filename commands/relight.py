"""``genvfx relight``: Relight passes of a plate (file or sequence), through the worker."""

from __future__ import annotations

from pathlib import Path

from ..backend.files import sequences
from ..backend.run.jobs import Job
from ..models.relight import Light
from .arguments import numbers
from .progress import run_and_report


def job_params(args) -> dict:
    """``light`` is set when any light option is given (the rest then come from the
    defaults of :class:`~genvfx.models.relight.Light`); without it Combined is the plate
    under the neutral light, i.e. the plate."""
    params = {"mode": args.mode, "temporal_strength": args.temporal_strength}
    given = {"direction": numbers(args.light_dir, "--light-dir", 3, "0.5,0.7,0.5"),
             "colour": numbers(args.light_color, "--light-color", 3, "0.5,0.7,0.5"),
             "intensity": args.intensity, "ambient": args.ambient, "wrap": args.wrap}
    given = {name: value for name, value in given.items() if value is not None}
    if given:
        params["light"] = Light(**given).to_dict()
    return params


def main(args) -> int:
    plate = str(Path(args.plate).resolve())
    frames = sequences.resolve_frames(plate, sequences.parse_frames(args.frames))
    out = Path(args.out).resolve()
    job = Job(generator="relight", inputs={"plate": plate}, frames=frames, seed=0, model=args.model,
              proxy=args.proxy, device=args.device, params=job_params(args), output_dir_override=str(out),
              sign_key=args.sign_key or "")
    run_and_report(job, "Relight", args.python, args.model_path)
    return 0
