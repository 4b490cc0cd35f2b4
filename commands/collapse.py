"""``genvfx collapse``: bring down the masked building of a plate, through the worker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..backend.files import layers, sequences
from ..backend.run.jobs import Job
from ..models.collapse import CollapseOptions
from ..review import preview
from .arguments import numbers
from .progress import run_and_report


def job_params(args) -> dict:
    params = {"fragments": args.fragments, "seed": args.seed, "height": args.height,
              "gravity_scale": args.gravity_scale, "dust": args.dust, "speed": args.speed,
              "size_falloff": args.size_falloff, "fps": args.fps, "quality": args.quality, "samples": args.samples,
              "motion_blur": not args.no_motion_blur}
    if args.start is not None:
        params["start"] = args.start
    origin = numbers(args.origin, "--origin", 2, "0.5,0.9")
    bias = numbers(args.direction_bias, "--direction-bias", 2, "0.5,0.9")
    light = (args.light_dir or "").strip()
    if light:
        params["light"] = light if light == "plate" else numbers(light, "--light-dir", 3, "-0.5,0.8,0.4 (or plate)")
    if origin is not None:
        params["origin"] = origin
    if bias is not None:
        params["direction_bias"] = bias
    return params


def main(args) -> int:
    plate = str(Path(args.plate).resolve())
    mask = str(Path(args.mask).resolve())
    frames = sequences.resolve_frames(plate, sequences.parse_frames(args.frames))
    params = job_params(args)
    params.setdefault("start", frames[0])
    options, warnings = CollapseOptions.from_params(params)
    options, moved = options.clamp_start(frames)
    for warning in warnings + moved:
        print(f"genvfx: warning: {warning}", file=sys.stderr)
    inputs = {"plate": plate, "mask": mask}
    if args.clean:
        inputs["clean"] = str(Path(args.clean).resolve())
    out = Path(args.out).resolve()
    job = Job(generator="collapse", inputs=inputs, frames=frames, seed=options.seed, proxy=args.proxy,
              device=args.device, params=options.to_params(), output_dir_override=str(out),
              sign_key=args.sign_key or "")
    result = run_and_report(job, "Collapse Sim", args.python, args.model_path)
    first = sequences.frame_path(result["pattern"], frames[0])
    for warning in json.loads(layers.read_header(first).get("genvfx.collapse.warnings", "[]")):
        if warning not in warnings + moved:
            print(f"genvfx: warning: {warning}", file=sys.stderr)
    print(f"simulation: {out / 'Collapse.sim.npz'}")
    if args.preview:
        movie = preview.write_movie(out / "preview.gif", [sequences.frame_path(result["pattern"], f) for f in frames],
                                    "Collapse", fps=options.fps)
        print(f"preview: {movie}")
    return 0
