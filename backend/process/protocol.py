"""The worker's protocol: JSON lines on stdin (requests) and stdout (events).

Requests (client → worker)::

    {"op": "run", "job_id": "...", "job": {...Job...}}
    {"op": "cancel", "job_id": "..."}
    {"op": "release"}            # drop loaded models
    {"op": "ping"}
    {"op": "shutdown"}

Events (worker → client)::

    {"type": "progress", "job_id", "frame", "step", "of", "done_frames", "total_frames"}
    {"type": "frame_done", "job_id", "frame", "path", "cached"}
    {"type": "job_done", "job_id", "key", "output_dir", "pattern", "frames", "computed", "seconds", "peak_rss_mb",
     "energy_kwh", "energy_method"}  (the energy of the frames computed, and how it was measured)
    {"type": "error", "job_id", "kind", "message", "hint", "frame"}
    {"type": "cancelled", "job_id", "frame"}
    {"type": "pong", "pid", "version"} / {"type": "released"}

Every request is answered, and a malformed one never stops the worker: a run gets
exactly one final event (job_done, error or cancelled) under its job_id; ping a pong;
release a released; a cancel is answered by the final event of the job it stops (a
cancel of a job not queued or running is forgotten). A line that is not a request —
not a JSON object, an unknown op, a job_id that is not text or a whole number, a run
without a job object — gets one error of kind ``bad_request`` with job_id null (a run
whose job_id is valid gets its error under that job_id), naming what is wrong.

The Blender client and the CLI both speak it through :mod:`.client`.
"""

from __future__ import annotations

import json

from ...errors import GenVFXError

REQUESTS = ("run", "cancel", "release", "ping", "shutdown")
EVENTS = ("progress", "frame_done", "job_done", "error", "cancelled", "pong", "released")
FINAL_EVENTS = ("job_done", "error", "cancelled")
BAD_REQUEST = "bad_request"
REQUEST_HINT = "The client sent a request the worker cannot act on; see the protocol in backend/process/protocol.py."


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n"


def decode(line: str) -> dict:
    """The JSON object on ``line``; ValueError for anything else (nesting too deep included)."""
    try:
        message = json.loads(line)
    except RecursionError:
        raise ValueError("the JSON is nested too deep") from None
    if not isinstance(message, dict):
        raise ValueError("a protocol message is a JSON object")
    return message


def bad_request(message: str) -> GenVFXError:
    return GenVFXError(BAD_REQUEST, message, REQUEST_HINT)


def request_job_id(request: dict) -> str | int:
    """The request's job_id: text or a whole number; a bad_request error naming it otherwise."""
    job_id = request.get("job_id")
    if not isinstance(job_id, (str, int)) or isinstance(job_id, bool):
        shown = "missing" if "job_id" not in request else f"{type(job_id).__name__} {short(job_id)}"
        raise bad_request(f"The request's 'job_id' must be text or a whole number ({shown})")
    return job_id


def short(value, limit: int = 60) -> str:
    """``value`` for a message, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run(job_id: str, job: dict) -> dict:
    return {"op": "run", "job_id": job_id, "job": job}


def cancel(job_id: str) -> dict:
    return {"op": "cancel", "job_id": job_id}


def release() -> dict:
    return {"op": "release"}


def ping() -> dict:
    return {"op": "ping"}


def shutdown() -> dict:
    return {"op": "shutdown"}


def progress(job_id: str, frame: int, step: int, of: int, done_frames: int, total_frames: int) -> dict:
    return {"type": "progress", "job_id": job_id, "frame": frame, "step": step, "of": of,
            "done_frames": done_frames, "total_frames": total_frames}


def frame_done(job_id: str, frame: int, path: str, cached: bool) -> dict:
    return {"type": "frame_done", "job_id": job_id, "frame": frame, "path": path, "cached": cached}


def job_done(job_id: str, **result) -> dict:
    return {"type": "job_done", "job_id": job_id, **result}


def error(job_id: str | None, kind: str, message: str, hint: str = "", frame: int | None = None) -> dict:
    return {"type": "error", "job_id": job_id, "kind": kind, "message": message, "hint": hint, "frame": frame}


def cancelled(job_id: str, frame: int | None = None) -> dict:
    return {"type": "cancelled", "job_id": job_id, "frame": frame}


def overall_fraction(event: dict) -> float:
    """0..1 progress of a whole job from a progress event."""
    total = max(1, event.get("total_frames", 1))
    within = event.get("step", 0) / max(1, event.get("of", 1))
    return min(1.0, (event.get("done_frames", 0) + within) / total)
