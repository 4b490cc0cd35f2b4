"""``genvfx worker``: a long-lived process that runs jobs for Blender and the CLI.

It reads requests from stdin and writes events to stdout, one JSON object a line
(:mod:`.protocol`). Jobs run one at a time on a job thread, so a cancel or a ping is
answered while a frame is being computed; a cancel takes effect at the next step.
Anything a library prints goes to stderr: stdout carries the protocol only.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import traceback

from ...errors import GenVFXError, JobCancelled
from ...version import __version__
from ..run.executor import JobEvents, run_job
from ..run.jobs import Job, check_field_types
from ..run.loaded_models import LoadedModels
from . import protocol


class Worker:
    """Serves requests from any iterable of lines, writing events to ``out``; a request it
    cannot act on is answered with an error and the worker goes on (:mod:`.protocol`)."""

    def __init__(self, out, model_folders: list[str] | None = None):
        self._out = out
        self._write_lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._state_lock = threading.Lock()
        self._pending: dict[str | int, int] = {}  # job id -> how many runs of it are queued or running
        self._cancelled: set[str | int] = set()
        self.model_folders = model_folders
        self.loaded = LoadedModels()

    def send(self, message: dict) -> None:
        with self._write_lock:
            self._out.write(protocol.encode(message))
            self._out.flush()

    # Job thread -------------------------------------------------------------------
    def _events(self, job_id: str | int) -> JobEvents:
        def check_cancel() -> None:
            if job_id in self._cancelled:
                raise JobCancelled()

        return JobEvents(
            progress=lambda frame, step, of, done, total: self.send(
                protocol.progress(job_id, frame, step, of, done, total)),
            frame_done=lambda frame, path, cached: self.send(protocol.frame_done(job_id, frame, path, cached)),
            check_cancel=check_cancel,
        )

    def _outcome(self, job_id: str | int, job_data: dict) -> dict:
        """The final event of a job: job_done, cancelled or error."""
        try:
            check_field_types(job_data)
            job = Job.from_dict(job_data)
            result = run_job(job, self._events(job_id), self.model_folders, self.loaded)
            return protocol.job_done(job_id, **result)
        except JobCancelled as cancelled:
            return protocol.cancelled(job_id, cancelled.frame)
        except GenVFXError as error:
            return protocol.error(job_id, error.kind, error.message, error.hint, error.frame)
        except Exception as exc:  # a bug or a library failure: report it, keep serving
            return internal_error(job_id, exc)

    def _run(self, job_id: str | int, job_data: dict) -> None:
        """Run one job and send its one final event, whatever happens."""
        try:
            outcome = self._outcome(job_id, job_data)
        finally:
            with self._state_lock:
                self._pending[job_id] -= 1
                if not self._pending[job_id]:
                    del self._pending[job_id]
                    self._cancelled.discard(job_id)
        try:
            self.send(outcome)
        except Exception as exc:  # e.g. a result that is not JSON: the job still ends
            self.send(internal_error(job_id, exc))

    def _job_loop(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            try:
                self._run(*item)
            except Exception:  # nothing may end this thread: later jobs would never be answered
                traceback.print_exc(file=sys.stderr)

    # Request loop -----------------------------------------------------------------
    def handle(self, request: dict) -> bool:
        """Act on one request; False when the worker should stop. A malformed request
        raises GenVFXError (kind bad_request), answered by :meth:`serve`."""
        op = request.get("op")
        if op == "run":
            job_id = protocol.request_job_id(request)
            job = request.get("job")
            if not isinstance(job, dict):
                shown = "missing" if "job" not in request else f"{type(job).__name__} {protocol.short(job)}"
                error = protocol.bad_request(f"The request's 'job' must be a JSON object ({shown})")
                self.send(protocol.error(job_id, error.kind, error.message, error.hint))
                return True
            with self._state_lock:
                self._pending[job_id] = self._pending.get(job_id, 0) + 1
            self._jobs.put((job_id, job))
        elif op == "cancel":
            job_id = protocol.request_job_id(request)
            with self._state_lock:
                if job_id in self._pending:  # a cancel for no job is forgotten, not kept for a later one
                    self._cancelled.add(job_id)
        elif op == "release":
            self.loaded.release()  # a job running now keeps its own reference to its model
            self.send({"type": "released"})
        elif op == "ping":
            self.send({"type": "pong", "pid": os.getpid(), "version": __version__})
        elif op == "shutdown":
            return False
        else:
            shown = "missing" if "op" not in request else protocol.short(op)
            raise protocol.bad_request(f"Unknown request: 'op' must be one of {', '.join(protocol.REQUESTS)} ({shown})")
        return True

    def serve(self, requests) -> None:
        job_thread = threading.Thread(target=self._job_loop, name="genvfx-job", daemon=True)
        job_thread.start()
        for line in requests:
            if not line.strip():
                continue
            try:
                if not self.handle(protocol.decode(line)):
                    break
            except ValueError as exc:
                self.send(protocol.error(None, protocol.BAD_REQUEST, f"Cannot read the request: {str(exc)[:200]}",
                                         protocol.REQUEST_HINT))
            except GenVFXError as error:
                self.send(protocol.error(None, error.kind, error.message, error.hint))
            except Exception as exc:  # a bug: answer this request, keep serving the next
                self.send(internal_error(None, exc))
        self._jobs.put(None)
        job_thread.join()


def internal_error(job_id: str | int | None, exc: Exception) -> dict:
    """The error event of an unexpected exception (its traceback goes to the log)."""
    traceback.print_exception(exc, file=sys.stderr)
    return protocol.error(job_id, "internal", f"{type(exc).__name__}: {str(exc)[:500]}",
                          "This is a genvfx bug; the worker log has the traceback.")


def main(model_folders: list[str] | None = None) -> int:
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    sys.stdout = sys.stderr
    # bytes that are not UTF-8 become U+FFFD (then an unreadable request), never an exception
    sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    Worker(protocol_out, model_folders).serve(sys.stdin)
    return 0
