"""Worker events to node state (genvfx.addon.routing), on plain objects: no Blender needed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from genvfx.addon import routing
from genvfx.addon.routing import Route, VariantBatch
from genvfx.backend.process import protocol


class Node:
    """Stands in for a genvfx node: the attributes and methods routing uses."""

    def __init__(self, name="Debris Fill", tree="Compositing", result_pattern="", job_id=""):
        self.name, self.id_data = name, SimpleNamespace(name=tree)
        self.state, self.progress, self.message, self.job_id = "IDLE", 0.0, "", job_id
        self.result_pattern = result_pattern
        self.loaded: list[tuple] = []
        self.variants: dict[int, tuple[str, int]] = {}
        self.fail_to_load = False

    def load_result(self, pattern, frames, proxy, key):
        if self.fail_to_load:
            raise OSError("the EXR is damaged")
        self.loaded.append((pattern, frames, proxy, key))
        self.result_pattern = pattern

    def add_variant(self, seed, frame_file, frame):
        self.variants[seed] = (frame_file, frame)

    def variant_seed_list(self):
        return sorted(self.variants)

    def clear_variants(self):
        self.variants.clear()


class Worker:
    """Stands in for the worker client: numbers the jobs it is given."""

    def __init__(self):
        self.jobs = []

    def submit(self, job) -> str:
        self.jobs.append(job)
        return f"job-{len(self.jobs)}"


def job(frames=(1, 2), proxy=0.5, seed=0):
    return SimpleNamespace(frames=list(frames), proxy=proxy, seed=seed)


def event(event_type, job_id="job-1", **fields):
    return {"type": event_type, "job_id": job_id, **fields}


PATTERN = "/cache/fill/abc/DebrisFill.####.exr"


def test_a_route_names_the_node_and_what_it_asked():
    node = Node(name="Fill 2", tree="Shot")
    route = Route.of(node, job((3, 4, 5), proxy=0.25))
    assert (route.tree, route.node, route.frames, route.proxy, route.batch) == ("Shot", "Fill 2", [3, 4, 5], 0.25, None)
    assert route.leads_to(node) and not route.leads_to(Node(name="Fill 2", tree="Other"))
    assert routing.job_of({"job-7": route}, node) == "job-7"
    assert routing.job_of({"job-7": route}, Node()) is None


def test_progress_and_finished_frames_move_the_bar():
    node, route = Node(), Route.of(Node(), job((1, 2, 3, 4)))
    routing.apply_event(node, route, event("progress", frame=2, step=1, of=4, done_frames=1, total_frames=4))
    assert node.state == "RUNNING" and node.message == "Frame 2: step 1/4"
    assert node.progress == pytest.approx((1 + 0.25) / 4)
    routing.apply_event(node, route, event("frame_done", frame=1))
    routing.apply_event(node, route, event("frame_done", frame=2))
    assert route.done_frames == [1, 2] and node.progress == pytest.approx(0.5)


def test_job_done_loads_the_result_and_says_what_came_from_the_cache():
    node, route = Node(job_id="job-1"), Route.of(Node(), job((1, 2, 3), proxy=0.5))
    routing.apply_event(node, route, event("job_done", pattern=PATTERN, frames=[3, 1, 2], computed=[2], key="k1"))
    assert node.loaded == [(PATTERN, [3, 1, 2], 0.5, "k1")]
    assert (node.state, node.progress, node.job_id) == ("DONE", 1.0, "")
    assert node.message == "1 frame(s) generated, 2 from the cache"
    other = Node()
    routing.apply_event(other, Route.of(other, job((4, 5))), event("job_done", pattern=PATTERN))
    assert other.loaded == [(PATTERN, [4, 5], 0.5, "")]  # no frames in the event: those asked


def test_an_error_ends_the_job_with_its_message():
    node = Node(job_id="job-1")
    routing.apply_event(node, Route.of(node, job()), event("error", kind="bad_input", message="The mask is 64×48",
                                                           hint="Give a mask of the plate's size.", frame=2))
    assert (node.state, node.progress, node.job_id) == ("ERROR", 0.0, "")
    assert node.message == "The mask is 64×48 (frame 2) — Give a mask of the plate's size."


@pytest.mark.parametrize("result, state", [("", "IDLE"), (PATTERN, "DONE")])
def test_cancelling_keeps_the_result_the_node_had(result, state):
    node = Node(result_pattern=result, job_id="job-1")
    node.progress = 0.4
    routing.apply_event(node, Route.of(node, job()), event("cancelled"))
    assert (node.state, node.message, node.progress, node.job_id) == (state, "Cancelled", 0.0, "")


def test_dispatch_routes_by_job_and_ends_the_route_on_a_final_event():
    node = Node()
    routes = {"job-1": Route.of(node, job((1,)))}
    find = {("Compositing", "Debris Fill"): node}

    def find_node(route):
        return find.get((route.tree, route.node))

    routing.dispatch(routes, event("progress", job_id="job-9", step=1, of=2), find_node)  # not ours: dropped
    assert node.state == "IDLE" and list(routes) == ["job-1"]
    routing.dispatch(routes, event("progress", step=1, of=2), find_node)
    assert node.state == "RUNNING" and list(routes) == ["job-1"]
    routing.dispatch(routes, event("job_done", pattern=PATTERN, frames=[1], computed=[1]), find_node)
    assert node.state == "DONE" and routes == {}
    assert set(protocol.FINAL_EVENTS) == {"job_done", "error", "cancelled"}

    routes["job-2"] = Route.of(node, job((1,)))
    find.clear()  # the node was deleted meanwhile: the route still ends
    routing.dispatch(routes, event("cancelled", job_id="job-2"), find_node)
    assert routes == {}


def test_a_result_that_cannot_load_shows_on_the_node_instead_of_raising():
    node = Node(job_id="job-1")
    node.fail_to_load = True
    routes = {"job-1": Route.of(node, job((1,)))}
    routing.dispatch(routes, event("job_done", pattern=PATTERN, frames=[1]), lambda route: node)
    assert node.state == "ERROR" and node.message.startswith("Could not load the result: the EXR is damaged")
    assert routing.LOAD_FAILED_HINT in node.message and node.job_id == "" and routes == {}


def start_variants(node, seeds=(5, 6), frame=7):
    worker = Worker()
    batch, routes = routing.start_variants(worker, node, [job((frame,), 0.25, seed) for seed in seeds])
    return worker, batch, dict(routes)


def test_a_variants_request_is_one_batch_of_jobs():
    node = Node()
    node.variants = {1: ("old.exr", 1)}
    worker, batch, routes = start_variants(node)
    assert len(worker.jobs) == 2 and node.variants == {}  # the old thumbnails go
    assert batch.seeds == {"job-1": 5, "job-2": 6} and batch.frame == 7 and not batch.complete
    assert all(route.batch is batch for route in routes.values())
    assert (node.state, node.message, node.job_id) == ("RUNNING", "2 variant(s) queued", "job-2")
    # cancelling one job of the request cancels the rest of it
    assert routing.request_of(routes, ["job-1"]) == ["job-1", "job-2"]
    del routes["job-2"]
    assert routing.request_of(routes, ["job-1"]) == ["job-1"]


def test_variants_become_thumbnails_and_the_last_one_reports():
    node = Node()
    _, batch, routes = start_variants(node)
    routing.apply_event(node, routes["job-1"], event("progress", step=1, of=2, done_frames=0, total_frames=1))
    assert node.message == "Variant seed 5: step 1/2" and node.progress == pytest.approx(0.25)
    routing.apply_event(node, routes["job-1"], event("job_done", pattern=PATTERN))
    frame_file, frame = node.variants[5]
    assert Path(frame_file).name == "DebrisFill.0007.exr" and frame == 7
    assert node.progress == pytest.approx(0.5) and node.state == "RUNNING"
    routing.apply_event(node, routes["job-1"], event("job_done", pattern=PATTERN))  # a repeat changes nothing
    assert batch.finished == ["job-1"]
    routing.apply_event(node, routes["job-2"], event("error", job_id="job-2", kind="model", message="Out of memory"))
    assert batch.complete and batch.errors == ["Out of memory"]
    assert (node.state, node.job_id, node.progress) == ("IDLE", "", 0.0)
    assert node.message == "1 variant(s): pick one in the sidebar (N); 1 failed: Out of memory"


def test_variants_that_all_fail_or_are_cancelled_say_so():
    node = Node(result_pattern=PATTERN)
    _, _, routes = start_variants(node)
    for job_id in routes:
        routing.apply_event(node, routes[job_id], event("error", job_id=job_id, kind="model", message=f"{job_id} broke"))
    assert (node.state, node.message) == ("ERROR", "job-1 broke")

    node = Node(result_pattern=PATTERN)
    _, _, routes = start_variants(node)
    for job_id in routes:
        routing.apply_event(node, routes[job_id], event("cancelled", job_id=job_id))
    assert (node.state, node.message) == ("DONE", "Cancelled")  # the loaded result stays


def test_a_generate_that_took_the_node_over_keeps_reporting():
    node = Node()
    _, batch, routes = start_variants(node, seeds=(5,))
    node.state, node.job_id, node.message = "RUNNING", "job-99", "Queued"  # Generate pressed meanwhile
    routing.apply_event(node, routes["job-1"], event("job_done", pattern=PATTERN))
    assert batch.complete and 5 in node.variants
    assert (node.state, node.job_id, node.message) == ("RUNNING", "job-99", "Queued")


def test_a_batch_is_complete_when_every_job_ended():
    batch = VariantBatch(frame=1, seeds={"a": 1, "b": 2})
    batch.finished.append("a")
    assert not batch.complete
    batch.finished.append("b")
    assert batch.complete
