"""A planned sequence (:mod:`.plan`) run on a Ray cluster.

Each worker is a Ray actor: one process that keeps what it loaded — Blender, and the
models in its :class:`~genvfx.backend.run.loaded_models.LoadedModels` — from one task to
the next. It runs a task through the ``runner`` it was made with (a picklable callable
taking no arguments that returns ``runner(task_dict) -> dict``; ``commands/farm.py``
gives one that opens the .blend and generates or renders). On GPU nodes each worker asks
for a share of a GPU (``num_gpus`` below 1), so several workers keep their models on one
card.

The driver hands out the tasks itself, each once the tasks it waits for are done, to a
free worker, and prints the progress of the whole sequence. A task that fails is run
again (at most ``retries`` more times, on another worker where there is one); a worker
that dies (killed, out of memory, its machine gone) is replaced and the task it held goes
back to the queue, to whichever worker is free first. Nothing is lost with it: a task
resumes from the frames its job's ledger already records.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field

from ...errors import GenVFXError
from ...models.runtime import cpu_threads
from .plan import GENERATE, Task

#: Kinds of error that running the task again cannot mend.
NOT_RETRIED = ("bad_input", "bad_request", "config", "dependency", "setup", "cancelled")
#: Object store of a local cluster: tasks pass small dicts, the frames go through files.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024
#: How long a worker may take to start (Ray placing it, Python importing genvfx).
WORKER_START_SECONDS = 600


def import_ray():
    try:
        import ray
    except ImportError as exc:
        raise GenVFXError("dependency", "Ray is not installed in this Python, so 'genvfx farm run' cannot start",
                          "Install the farm extra: pip install 'genvfx[farm]' (on every machine of the cluster), "
                          "or write a bundle for a render farm with 'genvfx farm openjd'.") from exc
    return ray


class FarmWorker:
    """One worker: made once per actor, it keeps ``runner()`` (and all it loads) between tasks."""

    def __init__(self, runner):
        self.runner = runner()

    def where(self) -> dict:
        return {"pid": os.getpid(), "host": socket.gethostname()}

    def run(self, task: dict) -> dict:
        started = time.perf_counter()
        try:
            result = self.runner(task)
        except GenVFXError as error:  # sent as data: the driver decides whether to run it again
            return {"ok": False, "error": error.to_dict(), "seconds": time.perf_counter() - started}
        return {"ok": True, **result, "seconds": time.perf_counter() - started}


@dataclass
class Settings:
    address: str = ""            # ray://HOST:PORT (Ray Client) or HOST:PORT / auto on a cluster node
    local_workers: int = 0       # start a local cluster with this many workers instead
    workers: int = 0             # workers on a cluster (default: its CPUs / cpus_per_worker)
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None  # default: the cluster's GPUs shared among the workers
    retries: int = 2
    threads: int = 0             # GENVFX_THREADS of the workers (default: the driver's, else cpus_per_worker)
    verbose: bool = False        # the workers' own output to this terminal


@dataclass
class Worker:
    index: int
    actor: object
    where: object = None  # the reference to its where() while it starts
    pid: int = 0
    host: str = ""
    task: str = ""  # the task it runs

    def __str__(self) -> str:
        if not self.pid:
            return f"worker {self.index} (starting)"
        return f"worker {self.index} (pid {self.pid}{', ' + self.host if self.host != socket.gethostname() else ''})"


@dataclass
class Progress:
    """The whole sequence: tasks, frames generated and shots rendered, time left."""

    tasks: list[Task]
    started: float = field(default_factory=time.perf_counter)
    done: set[str] = field(default_factory=set)

    def _work(self, ids) -> int:
        return sum(len(task.frames) for task in self.tasks if task.id in ids)

    def line(self) -> str:
        generate = {task.id for task in self.tasks if task.kind == GENERATE}
        render = {task.id for task in self.tasks} - generate
        elapsed = time.perf_counter() - self.started
        done_work, all_work = self._work(self.done), self._work({task.id for task in self.tasks})
        left = f", about {elapsed / done_work * (all_work - done_work):.0f} s left" if 0 < done_work < all_work else ""
        return (f"sequence: {len(self.done)}/{len(self.tasks)} tasks, "
                f"{self._work(self.done & generate)}/{self._work(generate)} frames generated, "
                f"{len(self.done & render)}/{len(render)} shots rendered, {elapsed:.0f} s{left}")


def connect(ray, settings: Settings) -> None:
    quiet = dict(include_dashboard=False, log_to_driver=settings.verbose, logging_level=logging.WARNING)
    if settings.local_workers:
        ray.init(num_cpus=int(settings.local_workers * settings.cpus_per_worker + 0.999),
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, **quiet)
        return
    try:
        ray.init(address=settings.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        hint = "Check the address and that the cluster runs the same Ray and Python versions"
        if settings.address.startswith("ray://"):
            hint += " (Ray Client needs ray[client]: pip install 'genvfx[farm]')"
        raise GenVFXError("farm", f"Could not connect to the Ray cluster at {settings.address}: {exc}",
                          hint + ".") from exc


def worker_count(ray, settings: Settings) -> int:
    if settings.local_workers:
        return settings.local_workers
    if settings.workers:
        return settings.workers
    return max(1, int(ray.cluster_resources().get("CPU", 1) // settings.cpus_per_worker))


def worker_options(ray, settings: Settings, count: int) -> dict:
    gpus = ray.cluster_resources().get("GPU", 0)
    share = settings.gpus_per_worker
    if share is None:
        share = min(1.0, gpus / count) if gpus else 0.0
    threads = settings.threads or cpu_threads() or max(1, int(settings.cpus_per_worker))
    # the driver's genvfx settings (model path, signing key, TDP…) hold on the workers too
    env = {name: value for name, value in os.environ.items() if name.startswith("GENVFX_")}
    return {"num_cpus": settings.cpus_per_worker, "num_gpus": share, "max_restarts": 0,
            "runtime_env": {"env_vars": {**env, "GENVFX_THREADS": str(threads)}}}


def run_tasks(tasks: list[Task], runner, settings: Settings, log=print) -> dict:
    """Run ``tasks`` (in plan order) on Ray; returns ``{task id: its result}`` and totals.
    Raises :class:`GenVFXError` naming the task when one fails more than ``retries`` times."""
    ray = import_ray()
    connect(ray, settings)
    try:
        return Scheduler(ray, tasks, runner, settings, log).run()
    finally:
        ray.shutdown()


class Scheduler:
    """Hands ``tasks`` to the workers of a connected ``ray`` (the module, or anything with
    its ``remote``, ``wait``, ``get``, ``kill`` and ``exceptions``) until all are done."""

    def __init__(self, ray, tasks: list[Task], runner, settings: Settings, log=print):
        self.ray, self.tasks, self.runner, self.settings, self.log = ray, tasks, runner, settings, log
        self.count = worker_count(ray, settings)
        self.options = worker_options(ray, settings, self.count)
        self.actor_class = ray.remote(FarmWorker)
        self.progress = Progress(tasks)
        self.results: dict[str, dict] = {}
        self.attempts: dict[str, int] = {}
        self.avoid: dict[str, set[int]] = {}
        self.lost = 0

    def _start(self, index: int, wait: bool = True) -> Worker:
        """A new worker; ``wait``: until it runs (a replacement is used as soon as Ray
        places it, which may be later: its machine may be the one that went)."""
        actor = self.actor_class.options(**self.options).remote(self.runner)
        worker = Worker(index, actor, where=actor.where.remote())
        if wait:
            try:
                self._where(worker, WORKER_START_SECONDS)
            except self.ray.exceptions.GetTimeoutError:
                raise GenVFXError("farm", f"Worker {index} did not start within {WORKER_START_SECONDS} s",
                                  "Check that the cluster has the CPUs (and GPUs) asked for each worker "
                                  "(--cpus-per-worker, --gpus-per-worker).") from None
        return worker

    def _where(self, worker: Worker, timeout: float | None = 0) -> None:
        """Fill in the worker's pid and machine once it has started."""
        if worker.pid or worker.where is None:
            return
        if timeout == 0 and not self.ray.wait([worker.where], timeout=0)[0]:
            return
        where = self.ray.get(worker.where, timeout=timeout)
        worker.pid, worker.host = where["pid"], where["host"]

    def _say(self, text: str) -> None:
        self.log(f"genvfx farm: {text}")

    def run(self) -> dict:
        started = time.perf_counter()
        gpus = self.options["num_gpus"]
        self._say(f"{len(self.tasks)} tasks on {self.count} worker(s)" +
                  (f", {gpus:g} GPU each" if gpus else "") +
                  f", GENVFX_THREADS={self.options['runtime_env']['env_vars']['GENVFX_THREADS']}")
        workers = [self._start(index + 1) for index in range(self.count)]
        waiting = list(self.tasks)
        running: dict = {}  # ObjectRef -> (worker, task)
        while len(self.results) < len(self.tasks):
            for task in [t for t in waiting if all(up in self.results for up in t.after)]:
                free = [w for w in workers if not w.task]
                if not free:
                    break
                worker = self._pick(task, free, workers)
                if worker is None:
                    continue
                worker.task = task.id
                self._where(worker)
                waiting.remove(task)
                running[worker.actor.run.remote(task.to_dict())] = (worker, task)
                self._say(f"started {task.label()} on {worker}")
            if not running:
                raise GenVFXError("internal", "The farm has tasks left that nothing they wait for will finish",
                                  "This is a genvfx bug: report it with the plan.")
            [ref], _ = self.ray.wait(list(running), num_returns=1)
            worker, task = running.pop(ref)
            worker.task = ""
            outcome = self._outcome(ref, worker, task, workers)
            if outcome is None:
                waiting.insert(0, task)
                continue
            self.results[task.id] = outcome
            self.progress.done.add(task.id)
            computed = outcome.get("computed")
            what = f": {computed} frame(s) computed" if computed is not None else ""
            self._say(f"done {task.label()} in {outcome['seconds']:.1f} s{what} · {self.progress.line()}")
            if self.settings.verbose:
                for line in outcome.get("log", []):
                    self.log(f"    {line}")
        return {"results": self.results, "seconds": time.perf_counter() - started, "workers": self.count,
                "retries": sum(self.attempts.values()), "lost_workers": self.lost}

    def _pick(self, task: Task, free: list[Worker], workers: list[Worker]) -> Worker | None:
        """The free worker to run ``task``: one it has not failed on, else none while such a
        worker is busy (it goes elsewhere), else any."""
        avoid = self.avoid.get(task.id, set())
        fresh = [w for w in free if w.index not in avoid]
        if fresh:
            return fresh[0]
        if any(w.index not in avoid for w in workers):
            return None
        return free[0]

    def _outcome(self, ref, worker: Worker, task: Task, workers: list[Worker]) -> dict | None:
        """The task's result, or None when it goes back to the queue."""
        exceptions = self.ray.exceptions
        try:
            outcome = self.ray.get(ref)
        except exceptions.RayActorError as exc:
            self.lost += 1
            self._retry(task, f"{worker} was lost ({type(exc).__name__})", "worker", worker)
            try:
                self.ray.kill(worker.actor, no_restart=True)
            except Exception:  # already gone
                pass
            replacement = self._start(worker.index, wait=False)
            workers[workers.index(worker)] = replacement
            self._say(f"{worker} replaced by {replacement}")
            return None
        except exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None) or exc
            outcome = {"ok": False, "error": {"kind": "internal", "message": f"{type(cause).__name__}: {cause}",
                                              "hint": "This is a genvfx bug; the worker's traceback is above "
                                                      "with --verbose."}}
        if outcome.get("ok"):
            return outcome
        error = GenVFXError.from_dict(outcome["error"])
        if error.kind in NOT_RETRIED:
            raise GenVFXError(error.kind, f"{task.label()}: {error.message}", error.hint, error.frame)
        self._retry(task, f"failed on {worker}: {error}", error.kind, worker, error)
        return None

    def _retry(self, task: Task, why: str, kind: str, worker: Worker, error: GenVFXError | None = None) -> None:
        self.attempts[task.id] = self.attempts.get(task.id, 0) + 1
        self.avoid.setdefault(task.id, set()).add(worker.index)
        if self.attempts[task.id] > self.settings.retries:
            message = f"{task.label()} {why}, {self.attempts[task.id]} time(s)"
            raise GenVFXError(kind, message, error.hint if error else "Check the workers' machines (memory, disk).",
                              error.frame if error else None)
        self._say(f"{task.label()}: {why}; running it again "
                  f"(attempt {self.attempts[task.id] + 1} of {self.settings.retries + 1})")
