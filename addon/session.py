"""One backend worker per Blender session, and the timer that brings its events
back to the nodes.

The worker is a separate process (:class:`~genvfx.backend.process.client.WorkerClient`);
jobs are submitted without waiting, and a ``bpy.app.timers`` callback polls the
client's event queue (never blocking) and routes each event to the node that asked
(:mod:`.routing`: progress, errors, and on completion the node's internal Image node
pointed at the cached EXR sequence), then tells :mod:`.listeners` (the status bar).
Headless, :func:`run` simply waits for the job.

A Variants request (:func:`submit_variants`, :func:`run_variants`) is a batch of jobs,
one a seed, on one frame; their results become the node's variant thumbnails instead of
its loaded result.
"""

from __future__ import annotations

import os
import sys
import time

import bpy

from ..backend.process import protocol
from ..backend.process.blender import BLENDER_VARIABLE
from ..backend.process.client import WorkerClient
from ..errors import GenVFXError, JobCancelled
from . import listeners, preferences, routing
from .routing import Route

POLL_SECONDS = 0.2

_client = None
_client_config: tuple | None = None
_routes: dict[str, Route] = {}


# ----------------------------------------------------------------------------- client
def worker_environment() -> dict:
    """The worker's environment: this one, naming this Blender's binary (when it is one,
    not the bpy module) for what the backend renders in Blender (Collapse Sim's final
    frames), unless the user named one."""
    env = dict(os.environ)
    if bpy.app.binary_path and not env.get(BLENDER_VARIABLE):
        env[BLENDER_VARIABLE] = bpy.app.binary_path
    return env


def client(context=None):
    """The session's worker client, (re)made when the preferences changed."""
    global _client, _client_config
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
        _client = WorkerClient(python=python, model_folders=folders, env=worker_environment())
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
    if bpy.app.timers.is_registered(poll):
        bpy.app.timers.unregister(poll)
    listeners.notify()


def release_models() -> bool:
    if _client is None or not _client.alive:
        return False
    _client.release_models()
    return True


def worker_log() -> str | None:
    """Where the session's worker writes its log (kept after a crash), or None before one started."""
    return os.fspath(_client.log_path) if _client is not None else None


# ------------------------------------------------------------------------------- jobs
def _node(route: Route):
    tree = bpy.data.node_groups.get(route.tree)
    return tree.nodes.get(route.node) if tree is not None else None


def job_of(node) -> str | None:
    return routing.job_of(_routes, node)


def running_jobs() -> list[str]:
    return list(_routes)


def running_job_nodes() -> list:
    """The node of each running job (a Variants request's node once per seed)."""
    return [node for node in map(_node, _routes.values()) if node is not None]


def _take_over(node, context):
    """The worker, after cancelling what ``node`` was running (a node runs one request)."""
    previous = job_of(node)
    if previous is not None:
        cancel(previous)
    return client(context)


def _watch() -> None:
    """Make sure the timer reports the routed jobs."""
    if not bpy.app.timers.is_registered(poll):
        bpy.app.timers.register(poll, first_interval=POLL_SECONDS)


def submit(node, job, context=None) -> str:
    """Start ``job`` for ``node`` without waiting; the timer reports back."""
    worker = _take_over(node, context)
    starting = not worker.alive
    job_id = worker.submit(job)
    _routes[job_id] = Route.of(node, job)
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
    worker = client(context)
    route = Route.of(node, job)
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


def submit_variants(node, jobs: list, context=None) -> list[str]:
    """Start a Variants request for ``node`` (one job a seed) without waiting; the timer
    turns each result into a thumbnail. Returns the job ids."""
    _batch, routes = routing.start_variants(_take_over(node, context), node, jobs)
    _routes.update(routes)
    _watch()
    return [job_id for job_id, _route in routes]


def run_variants(node, jobs: list, context=None, on_event=None, timeout: float | None = None) -> list[int]:
    """Run a Variants request for ``node`` and wait (headless, or ``wait=True``); returns
    the seeds made. Raises :class:`GenVFXError` when none could be made."""
    worker = client(context)
    batch, routes = routing.start_variants(worker, node, jobs)
    _wait(worker, node, dict(routes), on_event, lambda: batch.complete, timeout,
          "The variants", "Ask for fewer variants.")
    seeds = node.variant_seed_list()
    if not seeds:
        raise GenVFXError("variants", batch.errors[0], "") if batch.errors else JobCancelled()
    return seeds


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
                    routing.dispatch(_routes, event, _node)
                    continue
                if on_event is not None:
                    on_event(event)
                routing.apply_event(node, route, event)
            if done():
                break
            if deadline is not None and time.monotonic() > deadline:
                for job_id in routes:
                    worker.cancel(job_id)
                error = GenVFXError("timeout", f"{what} took longer than {timeout:.0f} s", hint)
                routing.show_error(node, error)
                raise error
            time.sleep(0.05)
    except KeyboardInterrupt:
        for job_id in routes:
            worker.cancel(job_id)
        routing.show_error(node, JobCancelled())
        raise


def cancel(job_id: str | None = None) -> list[str]:
    """Ask the worker to stop ``job_id`` (or every job); the 'cancelled' event ends it."""
    ids = routing.request_of(_routes, [job_id] if job_id else list(_routes))
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


# ------------------------------------------------------------------------------ timer
def poll():
    """The timer: route every pending event, tell the listeners; stop when nothing runs."""
    if _client is None:
        _routes.clear()
        return None
    try:
        events = _client.poll()
    except Exception as exc:  # never let the timer die with jobs in flight
        print(f"genvfx: polling the backend failed: {exc}", file=sys.stderr)
        events = []
    for event in events:
        routing.dispatch(_routes, event, _node)
    listeners.notify()
    return POLL_SECONDS if _routes else None


@bpy.app.handlers.persistent
def _on_load_pre(*_args) -> None:
    """A new file: its nodes are not these; stop their jobs."""
    if _routes:
        cancel()
        _routes.clear()
    listeners.notify()


def register() -> None:
    if _on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(_on_load_pre)


def unregister() -> None:
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    shutdown()
