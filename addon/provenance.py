"""What the Provenance panel shows for a genvfx node: read from the ledger beside the
node's result (no pixels are read, so it is cheap enough to draw), remembered until
the ledger changes."""

from __future__ import annotations

import os

import bpy

from ..backend import ledger
from ..errors import GenVFXError

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
    from .node_base import _frame_file

    if not node.result_pattern:
        return None
    pattern = bpy.path.abspath(node.result_pattern)
    entries = _entries(os.path.dirname(pattern))
    if not entries:
        return None
    current = ledger.current_entries(entries)
    records = sorted((entry["record"] for entry in current.values()), key=lambda record: record["frame"])
    here = current.get(os.path.basename(_frame_file(pattern, frame)))
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
