"""The Provenance panel's data: what it shows for a genvfx node, read from the ledger
beside the node's result (no pixels are read, so it is cheap enough to draw),
remembered until the ledger changes; and the report of the cache, written by the
backend's Python in the background (a timer collects the result and tells
:mod:`.listeners`) or at once headless."""

from __future__ import annotations

import os

import bpy

from ..backend.files import sequences
from ..backend.process.client import command_result, start_command
from ..backend.provenance import ledger
from ..errors import GenVFXError
from . import listeners, preferences

_read: dict[str, tuple[tuple[int, int], list[dict]]] = {}


def _entries(folder: str) -> list[dict]:
    path = os.path.join(folder, ledger.LEDGER_NAME)
    try:
        stat = os.stat(path)
    except OSError:
        return []
    stamp = (stat.st_mtime_ns, stat.st_size)
    if path not in _read or _read[path][0] != stamp:
        try:
            _read[path] = (stamp, ledger.read(folder))
        except GenVFXError:  # a damaged ledger: the panel says there is none, verify says why
            _read[path] = (stamp, [])
    return _read[path][1]


def node_provenance(node, frame: int) -> dict | None:
    """The node's shot: model, licence, seed, generated share (this frame's and the
    shot's), compute and energy; None when the node has no result with a ledger."""
    if not node.result_pattern:
        return None
    pattern = bpy.path.abspath(node.result_pattern)
    entries = _entries(os.path.dirname(pattern))
    if not entries:
        return None
    current = ledger.current_entries(entries)
    records = [entry["record"] for entry in ledger.by_frame(entries)]
    here = current.get(sequences.frame_path(pattern, frame).name)
    record = here["record"] if here else records[-1]
    every = [entry["record"] for entry in entries]
    return {
        "model": record["model"],
        "licence": record["licence"],
        "seed": record["seed"],
        "frame": record["frame"] if here else None,
        "share_frame": record["generated_share"] if here else None,
        "share_shot": sum(r["generated_share"] for r in records) / len(records),
        "basis": record.get("generated_basis", ""),
        "frames": len(records),
        "energy_kwh": sum(r.get("energy_kwh", 0.0) for r in every),
        "cpu_seconds": sum(r.get("cpu_seconds", 0.0) for r in every),
        "gpu_seconds": sum(r.get("gpu_seconds", 0.0) for r in every),
        "energy_method": record.get("energy_method", ""),
        "device": record.get("device", ""),
        "entry": here["hash"] if here else "",
    }


_report = {"process": None, "html": "", "status": ""}


def report_status() -> str:
    """What the last report did (or that one is being written)."""
    return _report["status"]


def report_running() -> bool:
    return _report["process"] is not None


def _collect(process) -> None:
    try:
        command_result(process)
        _report["status"] = f"Report written: {_report['html']}"
    except GenVFXError as error:
        _report["status"] = f"Report not written: {error}"
    _report["process"] = None


def _poll():
    process = _report["process"]
    if process is None:
        return None
    if process.poll() is None:
        return 0.5
    _collect(process)
    listeners.notify()
    return None


def write_report(context, grid_intensity: float) -> bool:
    """Start writing ``<cache>/report.html`` and ``report.json``; True when it is done
    (headless, where it waits), False while it goes on in the background."""
    cache = preferences.cache_dir(context)
    if not os.path.isdir(cache):
        raise GenVFXError("bad_input", f"No genvfx cache at {cache}", "Generate a node first.")
    process = start_command(["report", cache, "--grid-intensity", str(grid_intensity)],
                            python=preferences.backend_python(context))
    _report.update(process=process, html=os.path.join(cache, "report.html"), status="Writing the report…")
    if bpy.app.background:
        _collect(process)
        return True
    bpy.app.timers.register(_poll, first_interval=0.5)
    return False
