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
from ..run.jobs import Job
from ..run.loaded_models import LoadedModels
from . import protocol


class Worker:
    def __init__(self, out, model_folders: list[str] | None = None):
        self._out = out
        self._write_lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._cancelled: set[str] = set()
        self.model_folders = model_folders
        self.loaded = LoadedModels()

    def send(self, message: dict) -> None:
        with self._write_lock:
            self._out.write(protocol.encode(message))
            self._out.flush()

    # Job thread -------------------------------------------------------------------
    def _events(self, job_id: str) -> JobEvents:
        def check_cancel() -> None:
            if job_id in self._cancelled:
                raise JobCancelled()

        return JobEvents(
            progress=lambda frame, step, of, done, total: self.send(
                protocol.progress(job_id, frame, step, of, done, total)),
            frame_done=lambda frame, path, cached: self.send(protocol.frame_done(job_id, frame, path, cached)),
            check_cancel=check_cancel,
        )

    def _run(self, job_id: str, job_data: dict) -> None:
        try:
            job = Job.from_dict(job_data)
            result = run_job(job, self._events(job_id), self.model_folders, self.loaded)
            self.send(protocol.job_done(job_id, **result))
        except JobCancelled as cancelled:
            self.send(protocol.cancelled(job_id, cancelled.frame))
        except GenVFXError as error:
            self.send(protocol.error(job_id, error.kind, error.message, error.hint, error.frame))
        except Exception as exc:  # a bug or a library failure: report it, keep serving
            traceback.print_exc(file=sys.stderr)
            self.send(protocol.error(job_id, "internal", f"{type(exc).__name__}: {exc}",
                                     "This is a genvfx bug; the worker log has the traceback."))
        finally:
            self._cancelled.discard(job_id)

    def _job_loop(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            self._run(*item)

    # Request loop -----------------------------------------------------------------
    def handle(self, request: dict) -> bool:
        """Act on one request; False when the worker should stop."""
        op = request.get("op")
        if op == "run":
            self._jobs.put((request["job_id"], request["job"]))
        elif op == "cancel":
            self._cancelled.add(request["job_id"])
        elif op == "release":
            self.loaded.release()  # a job running now keeps its own reference to its model
            self.send({"type": "released"})
        elif op == "ping":
            self.send({"type": "pong", "pid": os.getpid(), "version": __version__})
        elif op == "shutdown":
            return False
        else:
            self.send(protocol.error(None, "protocol", f"Unknown request '{op}'"))
        return True

    def serve(self, requests) -> None:
        job_thread = threading.Thread(target=self._job_loop, name="genvfx-job", daemon=True)
        job_thread.start()
        for line in requests:
            if not line.strip():
                continue
            try:
                request = protocol.decode(line)
            except ValueError as exc:
                self.send(protocol.error(None, "protocol", f"Cannot read request: {exc}"))
                continue
            if not self.handle(request):
                break
        self._jobs.put(None)
        job_thread.join()


def main(model_folders: list[str] | None = None) -> int:
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    sys.stdout = sys.stderr
    Worker(protocol_out, model_folders).serve(sys.stdin)
    return 0
