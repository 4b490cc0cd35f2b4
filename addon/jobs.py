"""Turn a genvfx node into a backend :class:`~genvfx.backend.run.jobs.Job`.

The node's input sockets become file patterns (used as they are, or baked into the
cache by :mod:`.bake`); its properties become the job's seed, model, proxy scale and
parameters; the add-on preferences give the device, the cache and the signing key.
"""

from __future__ import annotations

import os
import tempfile

import bpy

from ..backend.run.cache import frames_recorded
from ..backend.run.jobs import Job
from ..errors import BadInput, GenVFXError
from ..models import registry
from . import bake, preferences
from .scene_nodes import scene_of


def scope_frames(scene, scope: str) -> list[int]:
    if scope == "RANGE":
        return list(range(scene.frame_start, scene.frame_end + 1, max(1, scene.frame_step)))
    return [scene.frame_current]


def absolute_cache_dir(folder: str) -> str:
    """``folder`` as an absolute path, decided here and not by the worker's working folder:
    a relative folder lies beside the .blend (as Blender's ``//`` does), or in the temporary
    folder while the file is unsaved."""
    folder = bpy.path.abspath(folder)
    if os.path.isabs(folder):
        return os.path.normpath(folder)
    base = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else tempfile.gettempdir()
    return os.path.normpath(os.path.join(base, folder))


def build_job(context, node, frames: list[int], on_bake=None) -> Job:
    """The job for ``node`` on ``frames``; bakes inputs that are not plain files."""
    scene = scene_of(context, node)
    cache_dir = absolute_cache_dir(preferences.cache_dir(context))
    inputs: dict[str, str] = {}
    for socket_name, role in node.input_roles.items():
        try:
            pattern = bake.input_pattern(scene, node, socket_name, role, frames, cache_dir, on_frame=on_bake)
        except RuntimeError as exc:  # bpy.ops.render.render failing
            raise GenVFXError("bake", f"Could not bake the {socket_name} input: {exc}",
                              "Check the nodes feeding it render in the compositor.") from exc
        if pattern is None:
            raise BadInput(f"{node.bl_label} '{node.name}' has nothing connected to its {socket_name} input",
                           f"Connect the {socket_name} socket and generate again.")
        inputs[role] = pattern
    if getattr(node, "source", ""):
        source = os.path.normpath(bpy.path.abspath(node.source))
        if not os.path.isfile(source):
            raise BadInput(f"The source image {source} does not exist", "Pick another source or clear it.")
        inputs["source"] = source
    return Job(
        generator=node.generator,
        inputs=inputs,
        frames=list(frames),
        cache_dir=cache_dir,
        params=node.job_params(),
        seed=int(node.seed),
        model=node.model_id,
        proxy=node.proxy_scale,
        device=preferences.device(context),
        sign_key=preferences.signing_key(context),
    )


def expected_key(job: Job, model_folders: list[str] | None = None) -> str:
    """The key the worker will give ``job`` (same inputs, model, parameters → same key)."""
    manifest = registry.find_model(job.model_id, model_folders, slot=job.generator)
    return job.key(manifest.hash, job.input_hashes())


def is_stale(node, job: Job, model_folders: list[str] | None = None) -> bool:
    """Whether ``node`` must generate for ``job``: its loaded result has another key,
    some of the job's frames are not on disk, or its ledger does not record them (it was
    lost or moved aside: only a run of the job records them again)."""
    if node.state != "DONE" or not node.job_key or not node.result_pattern:
        return True
    try:
        key = expected_key(job, model_folders)
    except GenVFXError:
        return True
    if key != node.job_key:
        return True
    if any(frame not in node.result_frames for frame in job.frames):
        return True
    return not node.frames_on_disk(job.frames) or not frames_recorded(job, key)
