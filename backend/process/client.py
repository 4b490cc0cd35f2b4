"""The worker's client, used by Blender and by the CLI.

It starts ``genvfx worker`` in the backend interpreter (Blender's own Python, a venv,
or the current interpreter), running the package's code from the folder it is
installed in, and keeps it warm between jobs. ``submit``/``poll`` never block (for a
``bpy.app.timers`` callback); ``run`` waits (headless Blender, the CLI).

If the worker dies (killed, out of memory, a crash in a native library), every job in
flight ends with an error event and the next ``submit`` starts a fresh worker.
"""

from __future__ import annotations

import itertools
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from . import protocol
from .bootstrap import IMPORT_PACKAGE, PACKAGE_ROOT
from ...errors import GenVFXError, JobCancelled
from ..run.jobs import Job


BOOTSTRAP = IMPORT_PACKAGE + (
    "from genvfx.backend.process.worker import main\n"
    "sys.exit(main([p for p in sys.argv[2:] if p]))\n"
)
# The same for a ``genvfx`` command (e.g. ``report``) run by the backend's Python.
BOOTSTRAP_CLI = IMPORT_PACKAGE + (
    "from genvfx.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def start_command(arguments: list[str], python: str | None = None) -> subprocess.Popen:
    """Start ``genvfx ARGUMENTS`` with the backend's Python (Blender's may lack the
    packages); :func:`command_result` reads how it ended."""
    try:
        return subprocess.Popen([python or sys.executable, "-c", BOOTSTRAP_CLI, str(PACKAGE_ROOT), *arguments],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        raise GenVFXError("worker", f"genvfx {arguments[0]} did not start: {exc}", "Check the backend Python.") from exc


def command_result(process: subprocess.Popen, timeout: float | None = None) -> str:
    """The output of a finished (or, with ``timeout``, awaited) command; a GenVFXError
    with its last line when it failed."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        raise GenVFXError("worker", f"The command took longer than {timeout:g} s", "") from exc
    if process.returncode != 0:
        lines = (stderr or stdout).strip().splitlines() or ["(no output)"]
        raise GenVFXError("worker", lines[-1].removeprefix("genvfx: error: "), "")
    return stdout


_CLIENTS = itertools.count(1)


def worker_log_path(client: int) -> Path:
    """Where the workers of this process's ``client``-th client write their stderr (a crash's
    traceback, what libraries print). Removed when the client closes after a clean run; kept,
    and named in the error, when a worker stopped unexpectedly or hit a genvfx bug."""
    return Path(tempfile.gettempdir()) / f"genvfx-worker-{os.getpid()}-{client}.log"


class WorkerClient:
    def __init__(self, python: str | None = None, model_folders: list[str] | None = None,
                 env: dict | None = None):
        self.python = python or sys.executable
        self.model_folders = list(model_folders or [])
        self.env = env
        self._process: subprocess.Popen | None = None
        self._events: queue.Queue = queue.Queue()
        self._in_flight: dict[str, int | None] = {}  # job id -> last frame reported
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.log_path = worker_log_path(next(_CLIENTS))
        self._log = None
        self._keep_log = False  # a worker crashed or reported a bug: its log is evidence

    # Process ----------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> None:
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self._log is None:
            self._log = open(self.log_path, "ab")
        try:
            self._process = subprocess.Popen(
                [self.python, "-c", BOOTSTRAP, str(PACKAGE_ROOT), *self.model_folders],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                env=env, text=True, bufsize=1,
            )
        except OSError as exc:
            raise GenVFXError("worker", f"Cannot start the backend with {self.python}: {exc}",
                              "Check the backend Python in the genvfx preferences.") from exc
        threading.Thread(target=self._read_events, args=(self._process,), daemon=True,
                         name="genvfx-client").start()

    def _read_events(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            try:
                event = protocol.decode(line)
            except ValueError:
                continue
            if event.get("type") == "error" and event.get("kind") == "internal":
                self._keep_log = True
                event["hint"] = f"{event.get('hint') or ''} ({self.log_path})".strip()
            with self._lock:
                job_id = event.get("job_id")
                if event.get("type") in protocol.FINAL_EVENTS:
                    self._in_flight.pop(job_id, None)
                elif job_id in self._in_flight and event.get("frame") is not None:
                    self._in_flight[job_id] = event["frame"]
            self._events.put(event)
        code = process.wait()
        if code != 0:
            self._keep_log = True
        with self._lock:
            orphans, self._in_flight = dict(self._in_flight), {}
        for job_id, frame in orphans.items():
            self._events.put(protocol.error(
                job_id, "worker", f"The backend stopped unexpectedly (exit code {code})",
                f"Generate again to restart it; if it repeats, see {self.log_path} "
                "(out of memory? try a lower proxy scale).", frame))

    def _send(self, message: dict) -> None:
        if not self.alive:
            self._start()
        try:
            self._process.stdin.write(protocol.encode(message))
            self._process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise GenVFXError("worker", "The backend is not responding", "Generate again to restart it.") from exc

    # Requests ---------------------------------------------------------------------
    def submit(self, job: Job) -> str:
        job_id = f"job-{os.getpid()}-{next(self._ids)}"
        with self._lock:
            self._in_flight[job_id] = None
        self._send(protocol.run(job_id, job.to_dict()))
        return job_id

    def cancel(self, job_id: str) -> None:
        if self.alive:
            self._send(protocol.cancel(job_id))

    def release_models(self) -> None:
        if self.alive:
            self._send(protocol.release())

    def ping(self, timeout: float = 30.0) -> dict:
        self._send(protocol.ping())
        return self._wait_for(lambda event: event.get("type") == "pong", timeout)

    def poll(self) -> list[dict]:
        """Every event received so far; never blocks."""
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def _wait_for(self, matches: Callable[[dict], bool], timeout: float | None,
                  on_event: Callable[[dict], None] | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                event = self._events.get(timeout=remaining)
            except queue.Empty:
                raise GenVFXError("worker", "The backend did not answer in time", "Generate again.") from None
            if on_event:
                on_event(event)
            if matches(event):
                return event

    def run(self, job: Job, on_event: Callable[[dict], None] | None = None,
            timeout: float | None = None) -> dict:
        """Submit ``job`` and wait for it: its job_done event, or GenVFXError."""
        job_id = self.submit(job)
        try:
            event = self._wait_for(lambda e: e.get("job_id") == job_id and e["type"] in protocol.FINAL_EVENTS,
                                   timeout, on_event)
        except KeyboardInterrupt:
            self.cancel(job_id)
            self._wait_for(lambda e: e.get("job_id") == job_id and e["type"] in protocol.FINAL_EVENTS, 60)
            raise JobCancelled() from None
        return result_of(event)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker; its log is removed unless a worker of this client crashed, was
        killed or reported a bug (then the log stays where the error said)."""
        if self.alive:
            try:
                self._send(protocol.shutdown())
                self._process.stdin.close()
                self._process.wait(timeout)
            except (GenVFXError, OSError, subprocess.TimeoutExpired):
                self._keep_log = True
                self._process.kill()
                self._process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is None:
            return
        self._log.close()
        self._log = None
        if self._process is not None and self._process.returncode != 0:
            self._keep_log = True
        if not self._keep_log:
            self.log_path.unlink(missing_ok=True)

    def kill(self) -> None:
        """Stop the worker at once (a stuck native library); jobs in flight fail."""
        if self.alive:
            self._process.kill()
            self._process.wait()


def result_of(event: dict) -> dict:
    """The job_done event itself, or the error it stands for, raised."""
    if event["type"] == "job_done":
        return event
    if event["type"] == "cancelled":
        raise JobCancelled(frame=event.get("frame"))
    raise GenVFXError.from_dict(event)
