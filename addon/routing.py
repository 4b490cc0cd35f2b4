"""Worker events to node state: which node a job's events go to (:class:`Route`), the jobs
of one Variants request (:class:`VariantBatch`), and what each event does to the node.

Nothing here needs bpy: a node is any object with a genvfx node's attributes (``state``,
``progress``, ``message``, ``job_id``, ``result_pattern``) and methods (``load_result``,
``add_variant``, ``variant_seed_list``, ``clear_variants``), so the rules are tested on
plain objects (tests/test_routing.py). :mod:`.session` owns the worker and the timer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backend.files import sequences
from ..backend.process import protocol
from ..errors import GenVFXError, JobCancelled

LOAD_FAILED_HINT = "Generate again; if it repeats, report it."


@dataclass
class Route:
    """Where a job's events go: the node (by tree and node name) and what it asked."""

    tree: str
    node: str
    frames: list[int]
    proxy: float
    done_frames: list[int] = field(default_factory=list)
    batch: "VariantBatch | None" = None  # set for the jobs of a Variants request

    @classmethod
    def of(cls, node, job, batch: "VariantBatch | None" = None) -> "Route":
        """The route of ``job`` (a backend Job), asked by ``node``."""
        return cls(node.id_data.name, node.name, list(job.frames), float(job.proxy), batch=batch)

    def leads_to(self, node) -> bool:
        return self.tree == node.id_data.name and self.node == node.name


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


# ------------------------------------------------------------------------ the routes
def job_of(routes: dict[str, Route], node) -> str | None:
    """The id of a job ``node`` is running (the first, for a Variants request)."""
    for job_id, route in routes.items():
        if route.leads_to(node):
            return job_id
    return None


def request_of(routes: dict[str, Route], job_ids: list[str]) -> list[str]:
    """``job_ids`` and, for a job of a Variants request, the request's other jobs still
    routed: a request stops as a whole."""
    ids = list(job_ids)
    for ident in list(ids):
        route = routes.get(ident)
        if route is not None and route.batch is not None:
            ids += [other for other in route.batch.seeds if other not in ids and other in routes]
    return ids


def start_variants(worker, node, jobs: list) -> tuple[VariantBatch, list[tuple[str, Route]]]:
    """Submit the jobs of a Variants request for ``node`` (one a seed, on one frame) to
    ``worker``; returns the batch and each job's (id, route)."""
    batch = VariantBatch(frame=int(jobs[0].frames[0]))
    node.clear_variants()
    node.state, node.progress, node.message = "RUNNING", 0.0, f"{len(jobs)} variant(s) queued"
    routes = []
    for job in jobs:
        job_id = worker.submit(job)
        batch.seeds[job_id] = int(job.seed)
        routes.append((job_id, Route.of(node, job, batch)))
    node.job_id = routes[-1][0]
    return batch, routes


def dispatch(routes: dict[str, Route], event: dict, find_node) -> None:
    """Route one event to the node whose job it is (``find_node(route)``: the node, or
    None when it is gone); a final event ends the route. Events of unknown jobs are
    dropped, and a node that cannot take an event shows why instead of raising."""
    job_id = event.get("job_id")
    route = routes.get(job_id)
    if route is None:
        return
    node = find_node(route)
    if node is not None:
        try:
            apply_event(node, route, event)
        except Exception as exc:
            show_error(node, GenVFXError("internal", f"Could not load the result: {exc}", LOAD_FAILED_HINT))
    if event.get("type") in protocol.FINAL_EVENTS:
        del routes[job_id]


# ------------------------------------------------------------------------ the events
def apply_event(node, route: Route, event: dict) -> None:
    """Show one worker event on ``node``."""
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
        show_error(node, GenVFXError.from_dict(event))
    elif kind == "cancelled":
        show_error(node, JobCancelled())


def show_error(node, error: GenVFXError) -> None:
    """End ``node``'s job with ``error``; a cancelled job keeps the result it had."""
    if isinstance(error, JobCancelled):
        node.state = "DONE" if node.result_pattern else "IDLE"
        node.message = "Cancelled"
    else:
        node.state = "ERROR"
        node.message = str(error)
    node.progress = 0.0
    node.job_id = ""


def _apply_variant_event(node, batch: VariantBatch, event: dict) -> None:
    """One event of a Variants job: progress over the batch; a finished variant becomes a
    thumbnail on the node; the last one to end says how it went."""
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
