"""Provenance: what made a frame, in its EXR header and in the ledger beside it.

A frame's **record** says which file, the sha256 of its pixel data, the generator and
its version, the model (id, sha256, licence), parameters, seed, input files and their
hashes, the frame, the share of its pixels that were generated, the device and what it
cost (wall, CPU and GPU seconds, energy and how the energy was measured). The record
goes into the ledger (:mod:`genvfx.backend.provenance.ledger`), hash-chained to the entry before
it, and into the EXR header with that entry's hash.

Header entries: ``genvfx.record`` (the record, JSON), ``genvfx.ledger.entry`` (the
ledger entry's sha256), and the record's main fields one by one (``genvfx.generator``,
``genvfx.model``, ``genvfx.seed``…) for tools that read single attributes, and the
generator's own attributes the record lists under ``header``. ``genvfx verify`` compares
every one of them with the ledger's record. A signed frame also carries
``genvfx.signature`` and ``genvfx.signature.key`` (:mod:`.signing`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np

from ...version import __version__

HEADER_RECORD = "genvfx.record"
HEADER_KEY = "genvfx.key"
HEADER_FRAME = "genvfx.frame"
HEADER_ENTRY = "genvfx.ledger.entry"


def channels_sha256(channels: dict[str, np.ndarray]) -> str:
    """The sha256 of a frame's pixel data: every channel, by name, as float32 rows.
    It does not depend on the file's compression or header, so the header can carry it."""
    digest = hashlib.sha256()
    for name in sorted(channels):
        plane = np.ascontiguousarray(channels[name], dtype=np.float32)
        digest.update(f"{name}:{plane.shape[0]}x{plane.shape[1]}\n".encode())
        digest.update(memoryview(plane))  # the rows as they lie: no copy
    return digest.hexdigest()


def generated_share(job, passes) -> float:
    """The fraction of the frame's pixels that were generated (0-1): what the generator
    says (``passes.generated``) or its spec's rule."""
    share = getattr(passes, "generated", None)
    if share is None:
        share = job.spec.generated_share(passes)
    return float(np.clip(share, 0.0, 1.0))


def frame_record(job, key: str, frame: int, manifest, input_hashes: dict, file_name: str,
                 pixels_sha256: str, share: float, usage, device: str, header: dict | None = None) -> dict:
    """A frame's record; ``header`` holds the generator's own header attributes of the frame
    (e.g. the light a relight was split with), recorded so that verify can compare them."""
    frame_inputs = {role: hashes.get(frame, next(iter(hashes.values()))) for role, hashes in input_hashes.items()}
    return {
        "file": file_name,
        "pixels_sha256": pixels_sha256,
        "generator": job.generator,
        "version": f"{__version__}/{job.spec.version}",
        "model": job.model_id,
        "model_sha256": manifest.sha256,
        "licence": manifest.licence,
        "params": {**job.params, "proxy": job.proxy},
        "seed": int(job.seed),
        "frame": int(frame),
        "inputs": frame_inputs,
        "input_files": {role: str(job.frame_input_path(role, frame)) for role in input_hashes},
        "key": key,
        "generated_share": round(share, 6),
        "generated_basis": job.spec.generated_basis,
        "device": device,
        **usage.to_record(),
        "created": created(),
        "header": {str(name): str(value) for name, value in (header or {}).items()},
    }


def frame_header(record: dict, entry_hash: str) -> dict[str, str]:
    """The EXR header entries of a frame: the generator's own attributes the record lists,
    its whole record, its ledger entry's hash, and the main fields one by one."""
    return {
        **record.get("header", {}),
        HEADER_RECORD: json.dumps(record, sort_keys=True),
        HEADER_ENTRY: entry_hash,
        "genvfx.generator": record["generator"],
        "genvfx.version": record["version"],
        "genvfx.model": f"{record['model']}@{record['model_sha256'][:16]}",
        "genvfx.licence": record["licence"],
        "genvfx.params": json.dumps(record["params"], sort_keys=True),
        "genvfx.seed": str(record["seed"]),
        HEADER_FRAME: str(record["frame"]),
        "genvfx.inputs": json.dumps(record["inputs"], sort_keys=True),
        HEADER_KEY: record["key"],
        "genvfx.generated_share": f"{record['generated_share']:.6f}",
        "genvfx.created": record["created"],
    }


def record_from_header(header: dict) -> dict | None:
    text = header.get(HEADER_RECORD)
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return None


def created() -> str:
    """The time a frame is written (UTC), or ``SOURCE_DATE_EPOCH`` when set: the
    reproducible-builds convention, so that a render farm can make frames whose bytes
    repeat exactly (the pixels repeat either way)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.gmtime()
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", moment)
