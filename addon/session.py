"""One backend worker per Blender session, and the timer that brings its events
back to the nodes.

The worker is a separate process (:class:`~genvfx.backend.client.WorkerClient`);
jobs are submitted without waiting, and a ``bpy.app.timers`` callback polls the
client's event queue (never blocking) and routes each event to the node that asked:
progress, errors, and on completion the node's internal Image node is pointed at the
cached EXR sequence. Headless, :func:`run` simply waits for the job.

A Variants request (:func:`submit_variants`, :func:`run_variants`) is a batch of jobs,
one a seed, on one frame; their results become the node's variant thumbnails instead of
its loaded result.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import bpy

from ..errors import GenVFXError, JobCancelled
from . import preferences

POLL_SECONDS = 0.2


@dataclass
class Route:
    """Where a job's events go: the node (by tree and node name) and what it asked."""

    tree: str
    node: str
    frames: list[int]
    proxy: float
    done_frames: list[int] = field(default_factory=list)
    batch: "VariantBatch | None" = None  # set for the jobs of a Variants request


@dataclass
class VariantBatch:
    """The jobs of one Variants request (job id -> seed) and how far they are."""

    frame: int
    seeds: dict[str, int] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.finished) >= len(self.seeds)


_client = None
_client_config: tuple | None = None
_routes: dict[str, Route] = {}


# ----------------------------------------------------------------------------- client
def client(context=None):
    """The session's worker client, (re)made when the preferences changed."""
    global _client, _client_config
    from ..backend.process.client import WorkerClient

    python = preferences.backend_python(context)
    folders = preferences.model_folders(context)
    config = (python, tuple(folders))
    if _client is not None and config != _client_config and not _routes:
        _client.close()
        _client = None
    if _client is None:
        if python is None and preferences.missing_modules():
            raise GenVFXError(
                "setup", f"Blender's Python lacks the backend packages ({', '.join(preferences.missing_modules())})",
                "Open Preferences > Add-ons > genvfx and press Set up Backend, or choose a Backend Python.")
        _client = WorkerClient(python=python, model_folders=folders)
        _client_config = config
    return _client


def shutdown() -> None:
    """Cancel what runs and stop the worker (unregister, quitting)."""
    global _client
    if _client is not None:
        for job_id in list(_routes):
            try:
                _client.cancel(job_id)
            except GenVFXError:
                pass
        _client.close()
        _client = None
    _routes.clear()
    if bpy.app.timers.is_registered(_poll):
        bpy.app.timers.unregister(_poll)
    _status(None)


def release_models() -> bool:
    if _client is None or not _client.alive:
        return False
    _client.release_models()
    return True


# ------------------------------------------------------------------------------- jobs
def _node(route: Route):
    tree = bpy.data.node_groups.get(route.tree)
    return tree.nodes.get(route.node) if tree is not None else None


def job_of(node) -> str | None:
    for job_id, route in _routes.items():
        if route.tree == node.id_data.name and route.node == node.name:
            return job_id
    return None


def _take_over(node, context):
    """The worker, after cancelling what ``node`` was running (a node runs one request)."""
    previous = job_of(node)
    if previous is not None:
        cancel(previous)
    return client(context)


def _watch() -> None:
    """Make sure the timer reports the routed jobs."""
    if not bpy.app.timers.is_registered(_poll):
        bpy.app.timers.register(_poll, first_interval=POLL_SECONDS)


def submit(node, job, context=None) -> str:
    """Start ``job`` for ``node`` without waiting; the timer reports back."""
    worker = _take_over(node, context)
    starting = not worker.alive
    job_id = worker.submit(job)
    _routes[job_id] = Route(node.id_data.name, node.name, list(job.frames), float(job.proxy))
    node.job_id = job_id
    node.state = "RUNNING"
    node.progress = 0.0
    node.message = "Starting the backend…" if starting else "Queued"
    _watch()
    return job_id


def run(node, job, context=None, on_event=None, timeout: float | None = None) -> dict:
    """Run ``job`` for ``node`` and wait (headless, or ``wait=True``); the node ends
    DONE or ERROR. Returns the job_done event; raises :class:`GenVFXError` (which the
    node shows too). Events of other jobs keep going to their nodes meanwhile."""
    from ..backend.process import protocol

    worker = client(context)
    route = Route(node.id_data.name, node.name, list(job.frames), float(job.proxy))
    node.state, node.progress, node.message = "RUNNING", 0.0, ""
    job_id = worker.submit(job)
    node.job_id = job_id
    final = []

    def note(event: dict) -> None:
        if on_event is not None:
            on_event(event)
        if event.get("type") in protocol.FINAL_EVENTS:
            final.append(event)

    _wait(worker, node, {job_id: route}, note, lambda: bool(final), timeout,
          "The job", "Use a lower proxy scale or fewer frames.")
    event = final[0]
    if event["type"] == "error":
        raise GenVFXError.from_dict(event)
    if event["type"] == "cancelled":
        raise JobCancelled()
    return event


def _wait(worker, node, routes: dict, on_event, done, timeout: float | None, what: str, hint: str) -> None:
    """Route the worker's events until ``done()``: those of ``routes`` (job id -> Route) go
    to ``on_event`` and onto ``node``, the others to their own nodes. A timeout or Ctrl+C
    cancels ``routes`` and shows it on the node."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not done():
            for event in worker.poll():
                route = routes.get(event.get("job_id"))
                if route is None:
                    _dispatch(event)
                    continue
                if on_event is not None:
                    on_event(event)
                apply_event(node, route, event)
            if done():
                break
            if deadline is not None and time.monotonic() > deadline:
                for job_id in routes:
                    worker.cancel(job_id)
                error = GenVFXError("timeout", f"{what} took longer than {timeout:.0f} s", hint)
                _show_error(node, error)
                raise error
            time.sleep(0.05)
    except KeyboardInterrupt:
        for job_id in routes:
            worker.cancel(job_id)
        _show_error(node, JobCancelled())
        raise


def cancel(job_id: str | None = None) -> list[str]:
    """Ask the worker to stop ``job_id`` (or every job); the 'cancelled' event ends it."""
    ids = [job_id] if job_id else list(_routes)
    for ident in list(ids):  # a Variants request stops as a whole
        route = _routes.get(ident)
        if route is not None and route.batch is not None:
            ids += [other for other in route.batch.seeds if other not in ids and other in _routes]
    if _client is not None:
        for ident in ids:
            if ident in _routes:
                _client.cancel(ident)
    for ident in ids:
        route = _routes.get(ident)
        node = _node(route) if route else None
        if node is not None:
            node.message = "Cancelling…"
    return ids


def running_jobs() -> list[str]:
    return list(_routes)


# ----------------------------------------------------------------------------- events
def apply_event(node, route: Route, event: dict) -> None:
    """Show one worker event on ``node``."""
    from ..backend.process import protocol

    if route.batch is not None:
        _apply_variant_event(node, route.batch, event)
        return
    kind = event.get("type")
    if kind == "progress":
        node.state = "RUNNING"
        node.progress = protocol.overall_fraction(event)
        node.message = f"Frame {event.get('frame')}: step {event.get('step')}/{event.get('of')}"
    elif kind == "frame_done":
        route.done_frames.append(int(event["frame"]))
        node.progress = min(1.0, len(route.done_frames) / max(1, len(route.frames)))
    elif kind == "job_done":
        frames = [int(frame) for frame in event.get("frames") or route.frames]
        node.load_result(event["pattern"], frames, route.proxy, event.get("key", ""))
        node.state, node.progress = "DONE", 1.0
        computed = len(event.get("computed", frames))
        node.message = f"{computed} frame(s) generated, {len(frames) - computed} from the cache"
        node.job_id = ""
    elif kind == "error":
        _show_error(node, GenVFXError.from_dict(event))
    elif kind == "cancelled":
        node.state = "DONE" if node.result_pattern else "IDLE"
        node.progress = 0.0
        node.message = "Cancelled"
        node.job_id = ""


def _apply_variant_event(node, batch: VariantBatch, event: dict) -> None:
    """One event of a Variants job: progress over the batch; a finished variant becomes a
    thumbnail on the node; the last one to end says how it went."""
    from ..backend.process import protocol
    from ..backend.files import sequences

    kind, job_id = event.get("type"), event.get("job_id")
    seed = batch.seeds.get(job_id)
    count = max(1, len(batch.seeds))
    if kind == "progress":
        node.state = "RUNNING"
        node.progress = min(1.0, (len(batch.finished) + protocol.overall_fraction(event)) / count)
        node.message = f"Variant seed {seed}: step {event.get('step')}/{event.get('of')}"
        return
    if kind not in protocol.FINAL_EVENTS or job_id in batch.finished:
        return
    batch.finished.append(job_id)
    node.progress = len(batch.finished) / count
    if kind == "job_done":
        node.add_variant(seed, str(sequences.frame_path(event["pattern"], batch.frame)), batch.frame)
    elif kind == "error":
        batch.errors.append(str(GenVFXError.from_dict(event)))
    if batch.complete:
        _end_variants(node, batch)


def _end_variants(node, batch: VariantBatch) -> None:
    made = len(node.variant_seed_list())
    if node.job_id and node.job_id not in batch.seeds:
        return  # another job (Generate) took the node over: it reports from now on
    node.job_id, node.progress = "", 0.0
    if batch.errors and not made:
        node.state, node.message = "ERROR", batch.errors[0]
        return
    node.state = "DONE" if node.result_pattern else "IDLE"
    if not made:
        node.message = "Cancelled"
    else:
        node.message = f"{made} variant(s): pick one in the sidebar (N)"
        if batch.errors:
            node.message += f"; {len(batch.errors)} failed: {batch.errors[0]}"


def _submit_batch(worker, node, jobs: list) -> tuple[VariantBatch, list[str]]:
    batch = VariantBatch(frame=int(jobs[0].frames[0]))
    node.clear_variants()
    node.state, node.progress, node.message = "RUNNING", 0.0, f"{len(jobs)} variant(s) queued"
    routes = []
    for job in jobs:
        job_id = worker.submit(job)
        batch.seeds[job_id] = int(job.seed)
        routes.append((job_id, Route(node.id_data.name, node.name, list(job.frames), float(job.proxy),
                                     batch=batch)))
    node.job_id = routes[-1][0]
    return batch, routes


def submit_variants(node, jobs: list, context=None) -> list[str]:
    """Start a Variants request for ``node`` (one job a seed) without waiting; the timer
    turns each result into a thumbnail. Returns the job ids."""
    _batch, routes = _submit_batch(_take_over(node, context), node, jobs)
    _routes.update(routes)
    _watch()
    return [job_id for job_id, _route in routes]


def run_variants(node, jobs: list, context=None, on_event=None, timeout: float | None = None) -> list[int]:
    """Run a Variants request for ``node`` and wait (headless, or ``wait=True``); returns
    the seeds made. Raises :class:`GenVFXError` when none could be made."""
    worker = client(context)
    batch, routes = _submit_batch(worker, node, jobs)
    _wait(worker, node, dict(routes), on_event, lambda: batch.complete, timeout,
          "The variants", "Ask for fewer variants.")
    seeds = node.variant_seed_list()
    if not seeds:
        raise GenVFXError("variants", batch.errors[0], "") if batch.errors else JobCancelled()
    return seeds


def _show_error(node, error: GenVFXError) -> None:
    if isinstance(error, JobCancelled):
        node.state = "DONE" if node.result_pattern else "IDLE"
        node.message = "Cancelled"
    else:
        node.state = "ERROR"
        node.message = str(error)
    node.progress = 0.0
    node.job_id = ""


def _poll():
    """The timer: route every pending event, redraw; stop when nothing runs."""
    if _client is None:
        _routes.clear()
        return None
    try:
        events = _client.poll()
    except Exception as exc:  # never let the timer die with jobs in flight
        print(f"genvfx: polling the backend failed: {exc}", file=sys.stderr)
        events = []
    for event in events:
        _dispatch(event)
    _status(_status_text())
    _redraw()
    return POLL_SECONDS if _routes else None


def _dispatch(event: dict) -> None:
    """Route one event to the node whose job it is (events of unknown jobs are dropped)."""
    job_id = event.get("job_id")
    route = _routes.get(job_id)
    if route is None:
        return
    node = _node(route)
    if node is not None:
        try:
            apply_event(node, route, event)
        except Exception as exc:
            _show_error(node, GenVFXError("internal", f"Could not load the result: {exc}",
                                          "Generate again; if it repeats, report it."))
    if event.get("type") in ("job_done", "error", "cancelled"):
        del _routes[job_id]


def _status_text() -> str | None:
    if not _routes:
        return None
    parts = []
    for route in _routes.values():
        node = _node(route)
        if node is not None:
            parts.append(f"{node.name}: {node.progress * 100:.0f}%")
    return "genvfx — " + ", ".join(parts) + " (Esc in the node editor or the node's ✕ cancels)"


def _status(text: str | None) -> None:
    wm = bpy.context.window_manager if bpy.context else None
    if wm is None:
        return
    for window in wm.windows:
        workspace = window.workspace
        if workspace is not None:
            workspace.status_text_set(text)


def _redraw() -> None:
    wm = bpy.context.window_manager if bpy.context else None
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "NODE_EDITOR":
                area.tag_redraw()


@bpy.app.handlers.persistent
def _on_load_pre(*_args) -> None:
    """A new file: its nodes are not these; stop their jobs."""
    if _routes:
        cancel()
        _routes.clear()
    _status(None)


def register() -> None:
    if _on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(_on_load_pre)


def unregister() -> None:
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    shutdown()


def worker_log() -> str:
    from ..backend.process.client import worker_log_path

    return os.fspath(worker_log_path())
