"""``genvfx generate SHOT.blend [--node NAME] [--frames A-B] [--chunk FRAMES]``: bring a
shot's genvfx nodes up to date without rendering (``genvfx render`` is this, then the
render).

Without ``--chunk`` the nodes run through the worker, exactly as ``genvfx render`` runs
them. With ``--chunk`` (a farm task: ``genvfx farm``) the node computes only those frames
of its job (the job's ``compute`` field) — the job, its cache key and how the shot is
treated still span ``--frames`` — in this process; the nodes upstream of it are
brought up to date first (on a farm their tasks ran before, so they are read from the
cache).
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

from ..backend.files import sequences
from ..backend.run.loaded_models import LoadedModels
from ..errors import BadInput
from ..backend.farm.plan import frames_text
from ..backend.run.executor import run_job
from . import blender


def in_process(headless, loaded: LoadedModels, shares: dict[str, list[int]] | None = None, log=print,
               results: list | None = None):
    """A ``run(node, job, model_folders)`` for :func:`~genvfx.addon.headless.generate_stale`
    that runs each job in this process with the models in ``loaded`` (kept between calls),
    computing only ``shares[node.name]`` of a node named there; each job's result (its
    ``job_done`` fields) is added to ``results``."""
    shares = shares or {}
    results = results if results is not None else []

    def run(node, job, model_folders: list[str]) -> dict:
        share = shares.get(node.name)
        if share is not None:
            job = dataclasses.replace(job, compute=sorted(set(share)))
        result = run_job(job, model_folders=model_folders, loaded=loaded)
        headless.show_result(node, job, result)
        results.append({"node": node.name, **result})
        done = share if share is not None else job.frames
        log(f"genvfx: {node.name}: frames {frames_text(done)} of {frames_text(job.frames)}, "
            f"{len(result['computed'])} computed, key {result['key']}")
        return result

    return run


def generate(blend: str, frames: list[int] | None = None, node: str = "", chunk: list[int] | None = None,
             loaded: LoadedModels | None = None, log=print, results: list | None = None) -> list[str]:
    """Bring the genvfx nodes of ``blend`` (or ``node`` and those upstream of it) up to
    date for ``frames`` (default: the scene's); with ``chunk``, ``node`` computes only
    those frames, in this process (``loaded``: the models it keeps; ``results``: gets each
    job's result). Returns the names of the nodes run."""
    path = Path(blend).resolve()
    if not path.is_file():
        raise BadInput(f"No such .blend file: {path}", "Check the path.")
    if chunk is not None and not node:
        raise BadInput("--chunk needs --node", "Name the node whose frames the chunk is (genvfx farm does).")
    headless = blender.headless()
    scene = headless.open_blend(str(path))
    frames = frames or headless.scene_frames(scene)
    nodes = headless.nodes_for(scene, node)
    run = None
    if chunk is not None:
        run = in_process(headless, loaded if loaded is not None else LoadedModels(), {node: chunk}, log, results)
    return headless.generate_stale(scene, frames, log, nodes=nodes, run=run)


def main(args) -> int:
    generated = generate(args.blend, sequences.parse_frames(args.frames), args.node or "",
                         sequences.parse_frames(args.chunk))
    print(f"generated: {', '.join(generated) or 'nothing (every node up to date)'}")
    return 0
