"""Provenance: what made a frame, in its EXR header and in the cache's ledger.

The ledger is append-only JSON lines (``<cache>/ledger.jsonl``): one line per frame
computed, so a studio can trace any pixel back to the generator, model, parameters,
seed and inputs that made it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .. import __version__


def frame_header(job, key: str, frame: int, model_hash: str, input_hashes: dict) -> dict[str, str]:
    frame_inputs = {role: hashes.get(frame, next(iter(hashes.values()))) for role, hashes in input_hashes.items()}
    return {
        "genvfx.generator": job.generator,
        "genvfx.version": f"{__version__}/{job.spec.version}",
        "genvfx.model": f"{job.model_id}@{model_hash}" if model_hash else job.model_id,
        "genvfx.params": json.dumps({**job.params, "proxy": job.proxy}, sort_keys=True),
        "genvfx.seed": str(job.seed),
        "genvfx.frame": str(frame),
        "genvfx.inputs": json.dumps(frame_inputs, sort_keys=True),
        "genvfx.key": key,
        "genvfx.created": created(),
    }


def created() -> str:
    """The time a frame is written (UTC), or ``SOURCE_DATE_EPOCH`` when set: the
    reproducible-builds convention, so that a render farm can make frames whose bytes
    repeat exactly (the pixels repeat either way)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.gmtime()
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", moment)


def append_ledger(folder: str | os.PathLike, header: dict[str, str], path: str | os.PathLike) -> None:
    """One line per frame, appended with a single write (safe for concurrent writers)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**header, "path": str(path)}, sort_keys=True) + "\n"
    with open(folder / "ledger.jsonl", "a", encoding="utf-8") as ledger:
        ledger.write(line)
