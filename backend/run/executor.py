"""Running one job frame by frame: cache look-up, generation, atomic writes, provenance.

Used by the worker process; it has no notion of processes or pipes itself, so tests and
benchmarks can run it in-process.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ...errors import GenVFXError, JobCancelled
from ...models import registry
from ..files import images, layers
from ..generators.frames import SideFiles
from ..provenance import energy, ledger, record, signing
from .cache import (CachedFrames, check_output_folder, claim_folder, clean_stale_partials,
                    refuse_overwriting_inputs)
from .jobs import Job
from .loaded_models import LoadedModels


class FrameReader:
    """Reads a job's input frames (single files stand for every frame)."""

    def __init__(self, job: Job):
        self.job = job

    def path(self, role: str, frame: int) -> Path:
        return self.job.frame_input_path(role, frame)

    def _read(self, reader, role: str, frame: int) -> np.ndarray:
        try:
            return reader(self.path(role, frame))
        except GenVFXError as error:
            error.frame = frame if error.frame is None else error.frame
            raise

    def rgba(self, role: str, frame: int) -> np.ndarray:
        return images.as_rgba(self._read(images.read_image, role, frame))

    def mask(self, role: str, frame: int) -> np.ndarray:
        return self._read(images.read_mask, role, frame)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class JobEvents:
    """Callbacks the executor reports through; ``check_cancel`` raises JobCancelled."""

    progress: Callable[[int, int, int, int, int], None] = lambda *a: None
    frame_done: Callable[[int, str, bool], None] = lambda *a: None
    check_cancel: Callable[[], None] = lambda: None


def model_for(job: Job, model_folders: list[str] | None = None) -> registry.ModelManifest:
    manifest = registry.find_model(job.model_id, model_folders, slot=job.generator)
    registry.verify(manifest)
    return manifest


class _Progress:
    """Progress events of a job whose frames may be computed in any order: ``done`` counts
    the frames finished (cached or computed), ``frame`` is the one being worked on."""

    def __init__(self, events: JobEvents, total: int, done: int):
        self.events, self.total, self.done = events, total, done
        self.frame: int | None = None

    def on_step_for(self, frame: int) -> Callable[[int, int], None]:
        self.frame = frame
        self.events.check_cancel()

        def on_step(step: int, of: int) -> None:
            self.frame = frame
            self.events.check_cancel()
            self.events.progress(frame, step, of, self.done, self.total)

        return on_step


def _frame_by_frame(read, job: Job, todo: list[int], results, progress_for, model, side):
    for frame in todo:
        yield frame, job.spec.run_frame(read, job, frame, progress_for(frame), model)


def _write_frame(job: Job, key: str, frame: int, manifest, input_hashes: dict, passes, path: Path,
                 meter: energy.EnergyMeter, signer: signing.Signer | None = None, remaining: int = 1) -> energy.Usage:
    """Record a frame in the ledger beside it, then write it with that record and the
    entry's hash in its header (and, with a ``signer``, its signature of the entry). Ledger
    first: a crash in between leaves an entry whose file is missing, which a resumed job
    writes again under a new entry; a frame that cannot be written (a full disk) takes its
    entry back. A full disk is reported as a ``disk_full`` error naming the folder and the
    space the ``remaining`` frames need; no partial file or line is left."""
    channels = layers.exr_channels(job.layer, passes, job.spec.pass_channels)
    # a frame's file is at most about its raw pixel data (ZIP compression, a small header)
    needed = sum(channel.nbytes for channel in channels.values()) * max(1, remaining) + 65536
    needed_for = f"the {max(1, remaining)} frame(s) still to make, uncompressed"
    usage = meter.lap()
    entry_record = record.frame_record(
        job, key, frame, manifest, input_hashes, path.name, record.channels_sha256(channels),
        record.generated_share(job, passes), usage, meter.device, getattr(passes, "header", None))
    what = f"frame {frame} ({path.name})"
    try:
        entry = ledger.append(path.parent, entry_record, signer)
    except GenVFXError as error:
        if error.kind == ledger.DISK_FULL and error.__cause__ is not None:
            raise ledger.disk_full_error(error.__cause__, path.parent, what, needed,
                                         needed_for) from error.__cause__
        raise
    header = record.frame_header(entry_record, entry["hash"])
    if signer is not None:
        header.update(signer.entry_header(entry["hash"]))
    try:
        layers.write_channels(path, channels, header)
    except BaseException as exc:
        ledger.retract(path.parent, entry, signer)
        error = (ledger.disk_full_error(exc, path.parent, what, needed, needed_for)
                 if isinstance(exc, Exception) else None)
        if error is not None:
            raise error from exc
        raise
    return usage


def run_job(job: Job, events: JobEvents | None = None, model_folders: list[str] | None = None,
            loaded: LoadedModels | None = None) -> dict:
    """Compute every frame of ``job`` not already in the cache; returns the job_done fields.
    ``loaded`` keeps models between jobs (the worker's); without it the model is loaded
    for this job only, and only when a frame needs computing.

    A generator computes frame by frame (``run_frame``) or, when its frames depend on each
    other, over the whole list of missing frames (``run_frames``), in the order it needs,
    reading frames already written back through :class:`CachedFrames`."""
    events = events or JobEvents()
    loaded = loaded if loaded is not None else LoadedModels()
    started, started_at = time.perf_counter(), time.time()
    job.validate()
    manifest = model_for(job, model_folders)
    input_hashes = job.input_hashes()
    key = job.key(manifest.hash, input_hashes)
    # the output folder: where the caller asked, no input written over, this job's alone
    output_dir = check_output_folder(job, key)
    refuse_overwriting_inputs(job, key)
    signer = signing.signer_for(job.sign_key)
    claim_folder(job, key)
    clean_stale_partials(output_dir, started_at)
    reader = FrameReader(job)
    results = CachedFrames(job, key, signer)
    side = SideFiles(folder=output_dir, shared=job.shared_dir())
    todo, wanted = [], job.frames_to_compute
    for frame in wanted:
        if results.has(frame):
            events.frame_done(frame, str(job.frame_path(key, frame)), True)
        else:
            todo.append(frame)
    progress = _Progress(events, len(wanted), len(wanted) - len(todo))
    computed, spent = [], energy.Usage()
    if todo:
        events.check_cancel()
        try:
            meter = energy.EnergyMeter(on_gpu=job.device != "cpu")
            model = loaded.get(manifest, job.device, job.spec.load_model)
            produce = job.spec.run_frames or _frame_by_frame
            for frame, passes in produce(reader, job, todo, results, progress.on_step_for, model, side):
                progress.frame = frame
                path = job.frame_path(key, frame)
                spent.add(_write_frame(job, key, frame, manifest, input_hashes, passes, path, meter, signer,
                                       len(todo) - len(computed)))
                computed.append(frame)
                progress.done += 1
                events.frame_done(frame, str(path), False)
        except (GenVFXError, JobCancelled) as error:
            error.frame = progress.frame if error.frame is None else error.frame
            raise
        except (OSError, RuntimeError) as exc:  # side files (clean plates, simulations) on a full disk
            error = ledger.disk_full_error(exc, output_dir, f"a file of frame {progress.frame}")
            if error is None:
                raise
            error.frame = progress.frame
            raise error from exc
        except MemoryError as exc:
            raise GenVFXError("out_of_memory", f"Out of memory while generating frame {progress.frame}",
                              "Use a lower proxy scale or a smaller mask, or free memory.", progress.frame) from exc
    return {
        "key": key,
        "output_dir": str(output_dir),
        "pattern": str(job.sequence_pattern(key)),
        "frames": list(job.frames),
        "computed": sorted(computed),
        "seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "energy_kwh": spent.energy_joules / 3.6e6,
        "energy_method": spent.method,
    }
