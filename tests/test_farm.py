"""A sequence on many machines (genvfx farm): the plan on plain data, a share of a job
against one run of it, the Ray scheduler on a stand-in Ray, the Open Job Description
template; then, with bpy and Ray, a local 2-worker cluster running a 2-shot multi-chunk
sequence with one worker killed mid-task, and the OpenJD bundle under ``openjd run``,
both against ``genvfx render`` on one machine, pixel for pixel and key for key."""

from __future__ import annotations

import dataclasses

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from farm_sequence import build, differences, env, genvfx
from photos import photo_linear, rect_mask, write_mask_png, write_plate

from genvfx import cli
from genvfx.backend.files import layers, sequences
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job, check_field_types
from genvfx.errors import BadInput, GenVFXError
from genvfx.backend.farm import openjd, plan, ray_run
from genvfx.backend.farm.plan import NodeInfo, ShotInfo, Task, frames_text, node_chunks

HAS_BPY = importlib.util.find_spec("bpy") is not None
HAS_RAY = importlib.util.find_spec("ray") is not None
OPENJD = shutil.which("openjd", path=str(Path(sys.executable).parent)) or shutil.which("openjd")


# ------------------------------------------------------------------------------ the plan
def test_frames_text_is_what_parse_frames_reads_back():
    assert frames_text([10, 9, 1, 2, 3, 7, 2]) == "1-3,7,9-10"
    assert frames_text([5]) == "5"
    for frames in ([1, 2, 3, 7, 9, 10], [4], list(range(1, 100, 3))):
        assert sequences.parse_frames(frames_text(frames)) == frames


@pytest.mark.parametrize("generator, params, size, chunks", [
    # key frames 1, 5, 9 first (filled on their own), then whole windows between keys
    ("fill", {"temporal": "propagate", "key_interval": 4}, 3, [[1, 5, 9], [2, 3, 4], [6, 7, 8], [10]]),
    ("fill", {"temporal": "propagate", "key_interval": 4}, 2, [[1, 5], [9], [2, 3, 4], [6, 7, 8], [10]]),
    ("fill", {"temporal": "propagate", "key_interval": 4}, 6, [[1, 5, 9], [2, 3, 4, 6, 7, 8], [10]]),
    ("fill", {"temporal": "propagate", "key_frames": [3, 8]}, 4, [[3, 8], [1, 2], [4, 5, 6, 7], [9, 10]]),
    ("fill", {"temporal": "hold", "key_interval": 4}, 4, [[1], [2, 3, 4, 5], [6, 7, 8, 9], [10]]),
    ("fill", {"temporal": "off"}, 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]),
    ("relight", {"temporal_strength": 0.6}, 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]),
    ("collapse", {}, 4, [list(range(1, 11))]),  # one simulation: whole
])
def test_a_node_is_cut_only_where_its_generator_allows(generator, params, size, chunks):
    frames = list(range(1, 11))
    assert node_chunks(generator, params, frames, size) == chunks
    assert sorted(f for chunk in chunks for f in chunk) == frames


def test_a_chunk_holds_a_frame_at_least():
    with pytest.raises(BadInput):
        node_chunks("relight", {}, [1, 2], 0)


def sequence_plan(chunk: int = 2) -> list[Task]:
    fill = NodeInfo("Debris Fill", "fill", {"temporal": "propagate", "key_interval": 2})
    relight = NodeInfo("Relight", "relight", {"temporal_strength": 0.6}, upstream=("Debris Fill",))
    first = ShotInfo("/shots/a/shot.blend", (1, 2, 3, 4), (fill, relight))
    second = ShotInfo("/shots/b/shot.blend", (5, 6, 7), (NodeInfo("Collapse Sim", "collapse"),))
    return plan.plan([first, second], chunk)


def test_the_plan_runs_upstream_first_a_node_in_turn_and_renders_last():
    tasks = sequence_plan()
    by_id = {task.id: task for task in tasks}
    described = [(t.shot, t.kind, t.node, t.frames, tuple(by_id[up].node or "render" for up in t.after)) for t in tasks]
    assert described == [
        ("a/shot", "generate", "Debris Fill", (1, 3), ()),
        ("a/shot", "generate", "Debris Fill", (2, 4), ("Debris Fill",)),
        ("a/shot", "generate", "Relight", (1, 2), ("Debris Fill",)),   # after the fill's last chunk
        ("a/shot", "generate", "Relight", (3, 4), ("Relight",)),
        ("a/shot", "render", "", (1, 2, 3, 4), ("Debris Fill", "Relight")),
        ("b/shot", "generate", "Collapse Sim", (5, 6, 7), ()),          # another shot: runs beside
        ("b/shot", "render", "", (5, 6, 7), ("Collapse Sim",)),
    ]
    assert tasks[3].after == (tasks[2].id,) and tasks[2].after == (tasks[1].id,)
    assert all(task.job_frames == ((1, 2, 3, 4) if task.shot == "a/shot" else (5, 6, 7)) for task in tasks)
    assert plan.writers_in_turn(tasks)
    assert [Task.from_dict(json.loads(json.dumps(task.to_dict()))) for task in tasks] == tasks


def test_two_tasks_writing_one_folder_unordered_are_caught():
    tasks = sequence_plan()
    unordered = [Task(**{**task.to_dict(), "after": ()}) if task.node == "Relight" else task for task in tasks]
    assert not plan.writers_in_turn(unordered)


def test_a_plan_refuses_a_shot_twice_and_a_node_before_its_source():
    shot = ShotInfo("/shots/a.blend", (1, 2), (NodeInfo("Fill", "fill"),))
    with pytest.raises(BadInput, match="more than once"):
        plan.plan([shot, shot])
    backwards = ShotInfo("/shots/a.blend", (1, 2), (NodeInfo("Relight", "relight", upstream=("Fill",)),
                                                      NodeInfo("Fill", "fill")))
    with pytest.raises(BadInput, match="not listed before"):
        plan.plan([backwards])


# ------------------------------------------------------------- a share of a job, no bpy
@pytest.fixture
def pan_shot(tmp_path):
    photo = photo_linear("coffee", (88, 48))
    for frame in range(1, 5):
        write_plate(tmp_path / f"plate.{frame:04d}.exr", np.ascontiguousarray(photo[:, 4 * frame:4 * frame + 64]))
        write_mask_png(tmp_path / f"mask.{frame:04d}.png", rect_mask(48, 64, (0.3, 0.35, 0.7, 0.65)))
    return tmp_path


@pytest.mark.parametrize("generator, params", [
    ("fill", {"temporal": "propagate", "key_interval": 2}),
    ("fill", {"temporal": "carry"}),
    ("relight", {"mode": "recombine", "temporal_strength": 0.6}),
])
def test_chunks_computed_in_turn_make_the_frames_and_key_of_one_run(pan_shot, generator, params):
    inputs = {"plate": str(pan_shot / "plate.####.exr")}
    if generator == "fill":
        inputs["mask"] = str(pan_shot / "mask.####.png")

    def job(cache: str) -> Job:
        return Job(generator=generator, inputs=inputs, frames=[1, 2, 3, 4], cache_dir=str(pan_shot / cache),
                   params=params, device="cpu")

    whole = run_job(job("whole"))
    chunked = job("chunked")
    for chunk in node_chunks(generator, params, chunked.frames, 2):
        result = run_job(dataclasses.replace(chunked, compute=chunk))
        assert result["key"] == whole["key"] and result["computed"] == sorted(chunk)
    for frame in chunked.frames:
        a = layers.read_layers(sequences.frame_path(whole["pattern"], frame))
        b = layers.read_layers(sequences.frame_path(result["pattern"], frame))
        assert all(np.array_equal(a[layer][name], b[layer][name]) for layer in a for name in a[layer]), frame
    assert cli.main(["verify", result["output_dir"]]) == 0
    with pytest.raises(BadInput, match="not among the job's frames"):
        run_job(dataclasses.replace(chunked, compute=[9]))


def test_frames_to_compute_is_a_list_of_the_jobs_frames():
    """A request's ``compute`` is checked like ``frames``; the key ignores it."""
    job = {"generator": "relight", "inputs": {"plate": "/p.####.exr"}, "frames": [1, 2, 3], "cache_dir": "/c"}
    for wrong in ("1-2", [1, "2"], [True]):
        with pytest.raises(GenVFXError, match="'compute'") as caught:
            check_field_types({**job, "compute": wrong})
        assert caught.value.kind == "bad_request"
    check_field_types({**job, "compute": [2]})
    assert Job.from_dict({**job, "compute": [3, 1]}).frames_to_compute == [1, 3]
    assert Job.from_dict(job).frames_to_compute == [1, 2, 3]
    assert Job.from_dict({**job, "compute": [2]}).key("m", {}) == Job.from_dict(job).key("m", {})


# ------------------------------------------------------------ the scheduler, a stand-in Ray
class Died(Exception):
    """What the stand-in Ray turns into a lost worker."""


class FakeRay:
    """Just what :class:`ray_run.Scheduler` uses of Ray, run in this process: a call runs
    when its result is asked for; a runner raising :class:`Died` is a worker process gone."""

    class exceptions:
        class RayActorError(Exception):
            pass

        class RayTaskError(Exception):
            def __init__(self, cause):
                super().__init__(str(cause))
                self.cause = cause

        class GetTimeoutError(Exception):
            pass

    class Ref:
        def __init__(self, call):
            self.call = call

    class Method:
        def __init__(self, handle, name):
            self.handle, self.name = handle, name

        def remote(self, *args):
            return FakeRay.Ref(lambda: self.handle.call(self.name, *args))

    class Handle:
        def __init__(self, cls, args):
            self.instance, self.dead = cls(*args), False

        def call(self, name, *args):
            if self.dead:
                raise FakeRay.exceptions.RayActorError("dead")
            try:
                return getattr(self.instance, name)(*args)
            except Died:
                self.dead = True
                raise FakeRay.exceptions.RayActorError("died") from None
            except Exception as exc:
                raise FakeRay.exceptions.RayTaskError(exc) from None

        def __getattr__(self, name):
            return FakeRay.Method(self, name)

    def __init__(self):
        self.killed = []

    def remote(self, cls):
        class ActorClass:
            def options(self, **options):
                return self

            def remote(self, *args):
                return FakeRay.Handle(cls, args)

        return ActorClass()

    def wait(self, refs, num_returns=1, timeout=None):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref, timeout=None):
        return ref.call()

    def kill(self, handle, no_restart=True):
        self.killed.append(handle)

    def cluster_resources(self):
        return {"CPU": 2.0}


class ScriptedRunner:
    """A worker's runner that does what ``SCRIPT[task id]`` says on each attempt."""

    SCRIPT: dict[str, list[str]] = {}
    CALLS: list[tuple[str, int]] = []

    def __call__(self, task: dict) -> dict:
        ScriptedRunner.CALLS.append((task["id"], id(self)))
        step = (ScriptedRunner.SCRIPT.get(task["id"]) or ["ok"]).pop(0)
        if step == "die":
            raise Died()
        if step == "fail":
            raise GenVFXError("worker", "the worker ran out of luck", "Try again.")
        if step == "bad":
            raise BadInput("the plate is missing", "Check the path.")
        if step == "bug":
            raise RuntimeError("a bug")
        return {"computed": len(task["frames"])}


def scheduled(script: dict, retries: int = 2) -> tuple[dict, list[str]]:
    ScriptedRunner.SCRIPT = {key: list(value) for key, value in script.items()}
    ScriptedRunner.CALLS = []
    lines: list[str] = []
    tasks = sequence_plan()
    outcome = ray_run.Scheduler(FakeRay(), tasks, ScriptedRunner, ray_run.Settings(local_workers=2, retries=retries),
                                lines.append).run()
    return outcome, lines


def test_every_task_runs_once_after_what_it_waits_for():
    outcome, lines = scheduled({})
    order = [task_id for task_id, _ in ScriptedRunner.CALLS]
    tasks = sequence_plan()
    assert sorted(order) == [task.id for task in tasks] and len(outcome["results"]) == len(tasks)
    assert all(order.index(up) < order.index(task.id) for task in tasks for up in task.after)
    assert "7/7 tasks" in lines[-1] and "2/2 shots rendered" in lines[-1]


def test_a_failed_task_runs_again_on_another_worker():
    outcome, lines = scheduled({"t002": ["fail"], "t003": ["bug"]})
    assert len(outcome["results"]) == 7 and outcome["retries"] == 2
    runs = [worker for task_id, worker in ScriptedRunner.CALLS if task_id == "t002"]
    assert len(runs) == 2 and runs[0] != runs[1]
    assert any("running it again (attempt 2 of 3)" in line for line in lines)


def test_a_lost_workers_task_goes_back_to_the_queue_and_the_worker_is_replaced():
    outcome, lines = scheduled({"t003": ["die"]})
    assert len(outcome["results"]) == 7 and outcome["lost_workers"] == 1
    assert [task_id for task_id, _ in ScriptedRunner.CALLS].count("t003") == 2
    assert any("was lost" in line for line in lines) and any("replaced by" in line for line in lines)


def test_a_task_failing_past_its_retries_or_on_bad_input_stops_the_run_naming_it():
    with pytest.raises(GenVFXError, match=r"a/shot · Relight frames 1-2 failed .* 2 time\(s\)"):
        scheduled({"t003": ["fail", "fail"]}, retries=1)
    with pytest.raises(GenVFXError, match="a/shot · Debris Fill frames 1,3: the plate is missing") as caught:
        scheduled({"t001": ["bad"]})
    assert caught.value.kind == "bad_input"
    assert [task_id for task_id, _ in ScriptedRunner.CALLS].count("t001") == 1  # not run again


def test_without_ray_the_error_names_the_farm_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(GenVFXError, match=r"genvfx\[farm\]"):
        ray_run.import_ray()


# ------------------------------------------------------------------ the OpenJD template
def test_the_openjd_template_has_a_step_per_task_and_their_dependencies(tmp_path):
    tasks = sequence_plan()
    template, values = openjd.job_template(tasks, "genvfx", {"a/shot": "/out/a"})
    steps = {step["name"]: step for step in template["steps"]}
    assert template["specificationVersion"] == "jobtemplate-2023-09" and len(steps) == len(tasks)
    relight = template["steps"][3]
    assert relight["script"]["actions"]["onRun"]["args"] == [
        "generate", "{{Param.Shot1}}", "--node", "Relight", "--frames", "1-4", "--chunk", "3-4"]
    assert [d["dependsOn"] for d in relight["dependencies"]] == [template["steps"][2]["name"]]
    render = template["steps"][4]["script"]["actions"]["onRun"]["args"]
    assert render == ["render", "{{Param.Shot1}}", "--frames", "1-4", "--out", "{{Param.Composites1}}"]
    assert all(d["dependsOn"] in steps for step in steps.values() for d in step.get("dependencies", []))
    assert values == {"GenvfxCommand": "genvfx", "Shot1": "/shots/a/shot.blend", "Composites1": "/out/a",
                      "Shot2": "/shots/b/shot.blend"}
    path = openjd.write_bundle(tmp_path / "bundle", template, values)
    listed = json.loads((tmp_path / "bundle" / openjd.VALUES_NAME).read_text())["parameterValues"]
    assert {item["name"]: item["value"] for item in listed} == values
    if OPENJD:
        check = subprocess.run([OPENJD, "check", str(path)], capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
    odd = [Task(**{**tasks[0].to_dict(), "node": "Fill {{Param.X}}"})]
    with pytest.raises(BadInput, match="expression"):
        openjd.job_template(odd)


# ------------------------------------------------- with bpy and Ray: against one machine
FARM_TIME_LIMIT = 480


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """Two 4-frame shots (plate → Debris Fill → Relight) in three copies: one rendered by
    ``genvfx render`` on this machine (the reference), one for Ray, one for OpenJD."""
    root = tmp_path_factory.mktemp("farm")
    blends = build(root, shots=2, sides=("one", "ray", "openjd"))
    for (side, name), blend in blends.items():
        if side == "one":
            done = subprocess.run(genvfx("render", str(blend), "--out", str(root / "one" / "out" / name)),
                                  capture_output=True, text=True, timeout=300, env=env(root))
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root, blends


@pytest.mark.skipif(not HAS_RAY, reason="needs ray (pip install 'genvfx[farm]')")
@pytest.mark.blender
@pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module")
def test_ray_with_a_worker_killed_mid_task_makes_the_frames_of_one_machine(sequence):
    """2 local workers, 2 shots, 2-frame chunks (10 tasks); the worker running the first
    shot's key frames is killed (SIGKILL) while it works: its task runs again elsewhere,
    and every generated frame, cache key and composite equals one machine's."""
    root, blends = sequence
    names = sorted({name for _, name in blends})
    command = genvfx("farm", "run", *(str(blends["ray", name]) for name in names), "--chunk", "2", "--local", "2",
                     "--out", str(root / "ray" / "out"))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env(root))
    lines, killed = [], []
    target = re.compile(rf"started {names[0]} · Debris Fill frames 1,3 on worker \d+ \(pid (\d+)")
    first_frame = blends["ray", names[0]].parent / "genvfx_cache" / "fill"

    def kill(pid: int) -> None:
        """When the task's first key frame is written, or 1.5 s into the task (a fresh
        worker loads Blender and the models first): either way mid-task."""
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline and not list(first_frame.glob("*/DebrisFill.0001.exr")):
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(FARM_TIME_LIMIT, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            lines.append(line)
            match = target.search(line)
            if match and not killed:
                killed.append(int(match.group(1)))
                threading.Thread(target=kill, args=(killed[0],), daemon=True).start()
        process.wait()
    finally:
        timer.cancel()
    output = "".join(lines)
    assert process.returncode == 0, output[-5000:]
    assert killed and f"(pid {killed[0]}) was lost" in output, output[-5000:]
    assert "running it again (attempt 2 of 3)" in output and "replaced by" in output
    assert "10 tasks done" in output and "1 worker(s) lost" in output
    for name in names:
        assert differences(blends["one", name], blends["ray", name], root / "one" / "out" / name,
                           root / "ray" / "out" / name) == []
        verify = subprocess.run(genvfx("verify", str(blends["ray", name].parent / "genvfx_cache")),
                                capture_output=True, text=True, timeout=120, env=env(root))
        assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.blender
@pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module")
@pytest.mark.skipif(OPENJD is None, reason="needs openjd-cli (pip install 'genvfx[farm]')")
def test_the_openjd_bundle_runs_under_openjd_and_makes_the_frames_of_one_machine(sequence):
    root, blends = sequence
    name = sorted({name for _, name in blends})[1]
    bundle = root / "openjd" / "bundle"
    launcher = shutil.which("genvfx", path=str(Path(sys.executable).parent))
    if launcher is None:
        pytest.skip("needs the genvfx command beside this Python (pip install -e .)")
    wrote = subprocess.run(genvfx("farm", "openjd", str(blends["openjd", name]), "--chunk", "2", "--out", str(bundle),
                                  "--composites", str(root / "openjd" / "out"), "--genvfx", launcher),
                           capture_output=True, text=True, timeout=120, env=env(root))
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    template = bundle / openjd.TEMPLATE_NAME
    check = subprocess.run([OPENJD, "check", str(template)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([OPENJD, *openjd.run_command(template)[1:]], capture_output=True, text=True,
                         timeout=FARM_TIME_LIMIT, env=env(root))
    assert run.returncode == 0 and "Chunks run: 5" in run.stdout, run.stdout[-5000:] + run.stderr[-3000:]
    assert differences(blends["one", name], blends["openjd", name], root / "one" / "out" / name,
                       root / "openjd" / "out" / name) == []
