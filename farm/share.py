"""A farm task's share of a job: some of its frames, computed with everything else of the
whole job — its key, its output folder, its ledger, and the shot the generator sees.

A job's key hashes the inputs of every frame it spans, and a generator made over the
shot (a fill carried between key frames, Relight's smoothing) reads the job's whole
frame list; so a task that computed a job of its own frames only would get another key
and other pixels. :func:`run_share` runs the whole job through the executor, in this
process (the farm worker keeps ``loaded`` warm between tasks), with the generator asked
only for the share's frames: the others already written stay as they are, the ones not
yet written are left to their own tasks. Frames computed this way are those of one run
over the job, as a resumed job's are (see ``backend/run/executor.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..backend.generators import GeneratorSpec, generator_spec
from ..backend.run.executor import JobEvents, run_job
from ..backend.run.jobs import Job
from ..backend.run.loaded_models import LoadedModels
from ..errors import BadInput


def _restricted(spec: GeneratorSpec, share: frozenset[int]) -> GeneratorSpec:
    """``spec``, asked for frames of ``share`` only (in the order it computes them)."""
    produce, per_frame = spec.run_frames, spec.run_frame

    def run_frames(read, job, todo, results, progress_for, model, side):
        wanted = [frame for frame in todo if frame in share]
        if not wanted:
            return
        if produce is not None:
            yield from produce(read, job, wanted, results, progress_for, model, side)
            return
        for frame in wanted:
            yield frame, per_frame(read, job, frame, progress_for(frame), model)

    return dataclasses.replace(spec, run_frames=run_frames)


@dataclass
class JobShare(Job):
    """A job whose generator is asked only for the frames of ``share`` (its key, folder
    and frame list are the whole job's)."""

    share: list[int] = field(default_factory=list)

    @property
    def spec(self) -> GeneratorSpec:
        return _restricted(generator_spec(self.generator), frozenset(self.share))


def run_share(job: Job, share: list[int] | None = None, events: JobEvents | None = None,
              model_folders: list[str] | None = None, loaded: LoadedModels | None = None) -> dict:
    """Compute the frames of ``share`` (default: all) of ``job`` not already in its folder;
    returns the executor's job_done fields (``computed``: the frames this share computed)."""
    if share is None:
        return run_job(job, events, model_folders, loaded)
    outside = sorted(set(share) - set(job.frames))
    if outside:
        raise BadInput(f"Frame {outside[0]} of the chunk is not among the job's frames "
                       f"{min(job.frames)}-{max(job.frames)}", "Give a chunk inside --frames.")
    fields = {item.name: getattr(job, item.name) for item in dataclasses.fields(Job)}
    return run_job(JobShare(**fields, share=sorted(set(share))), events, model_folders, loaded)
