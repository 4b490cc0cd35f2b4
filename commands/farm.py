"""``genvfx farm``: a sequence of shots on many machines.

* ``genvfx farm run SHOT.blend … (--local N | --address ray://HOST:PORT)`` plans the
  sequence (:mod:`genvfx.backend.farm.plan`), runs the tasks on Ray with models kept warm in
  each worker (:mod:`genvfx.backend.farm.ray_run`; the Blender side of a task is
  :class:`BlendTasks`), then has each shot's composites rendered.
* ``genvfx farm openjd SHOT.blend … --out BUNDLE`` writes the same plan as an Open Job
  Description job bundle (:mod:`genvfx.backend.farm.openjd`) whose steps run ``genvfx generate``
  and ``genvfx render``.

Either way a frame is made with the job and the cache key ``genvfx render`` would give
it on one machine, into the same cache (each .blend's, beside it by default): the
farm's frames are that machine's frames.
"""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path

from ..backend.files import sequences
from ..backend.run.loaded_models import LoadedModels
from ..errors import BadInput
from ..backend.farm import openjd, plan, ray_run
from . import blender
from .generate import generate, in_process


def describe(blends: list[str], frames: list[int] | None) -> list[plan.ShotInfo]:
    """Each shot's frames and genvfx nodes, read from its .blend (with bpy)."""
    paths = [Path(blend).resolve() for blend in blends]
    missing = [path for path in paths if not path.is_file()]
    if missing:
        raise BadInput(f"No such .blend file: {missing[0]}", "Check the path.")
    headless = blender.headless()
    return [plan.ShotInfo.from_dict(headless.describe_blend(str(path), frames)) for path in paths]


def composite_dirs(tasks: list[plan.Task], out: str | None) -> dict[str, str]:
    """Shot name -> ``OUT/<shot>/`` (nothing without ``out``: each scene's output path)."""
    if not out:
        return {}
    root = Path(out).resolve()
    return {task.shot: str(root / task.shot.replace("/", "_").replace("#", "_")) for task in tasks}


class BlendTasks:
    """A farm worker's side of a task, in its own process: bpy and the models it loaded
    stay from one task to the next. A generate task brings the node's share up to date
    (:func:`.generate.generate`), a render task renders the shot's composites after
    bringing every node up to date (all in the cache by then)."""

    def __init__(self, composites: dict[str, str] | None = None):
        self.composites = composites or {}
        self.loaded = LoadedModels()

    def __call__(self, task: dict) -> dict:
        task = plan.Task.from_dict(task)
        lines: list[str] = []
        results: list[dict] = []
        if task.kind == plan.GENERATE:
            generate(task.blend, list(task.job_frames), task.node, list(task.frames), self.loaded,
                     lines.append, results)
            mine = [result for result in results if result["node"] == task.node]
            return {"computed": sum(len(result["computed"]) for result in mine), "log": lines,
                    "keys": {result["node"]: result["key"] for result in results}}
        headless = blender.headless()
        written = headless.render_blend(task.blend, list(task.job_frames), self.composites.get(task.shot),
                                        log=lines.append, run=in_process(headless, self.loaded, log=lines.append,
                                                                         results=results))
        return {"written": written, "log": lines, "keys": {result["node"]: result["key"] for result in results}}


def run(args) -> int:
    frames = sequences.parse_frames(args.frames)
    tasks = plan.plan(describe(args.blends, frames), args.chunk)
    settings = ray_run.Settings(address=args.address or "", local_workers=args.local or 0, workers=args.workers or 0,
                                cpus_per_worker=args.cpus_per_worker, gpus_per_worker=args.gpus_per_worker,
                                retries=args.retries, threads=args.threads or 0, verbose=args.verbose)
    runner = functools.partial(BlendTasks, composite_dirs(tasks, args.out))
    outcome = ray_run.run_tasks(tasks, runner, settings)
    rendered = [path for task in tasks if task.kind == plan.RENDER
                for path in outcome["results"][task.id].get("written", [])]
    folders = sorted({os.path.dirname(path) for path in rendered})
    shots = os.path.commonpath([os.path.dirname(task.blend) for task in tasks])
    print(f"genvfx farm: {len(tasks)} tasks done in {outcome['seconds']:.1f} s on {outcome['workers']} worker(s) "
          f"({outcome['retries']} run again, {outcome['lost_workers']} worker(s) lost); "
          f"{len(rendered)} composite frame(s) in {', '.join(folders) or 'the scenes’ output paths'}\n"
          f"genvfx farm: check and report the sequence with: genvfx verify {shlex.quote(shots)}; "
          f"genvfx report {shlex.quote(shots)}")
    return 0


def write_openjd(args) -> int:
    frames = sequences.parse_frames(args.frames)
    tasks = plan.plan(describe(args.blends, frames), args.chunk)
    template, values = openjd.job_template(tasks, args.genvfx, composite_dirs(tasks, args.composites),
                                           args.name or "genvfx sequence")
    path = openjd.write_bundle(args.out, template, values)
    print(f"genvfx farm: {len(template['steps'])} steps in {path}; run it here with: "
          f"{shlex.join(openjd.run_command(path))}")
    return 0


def main(args) -> int:
    if args.farm_command == "run":
        return run(args)
    return write_openjd(args)
