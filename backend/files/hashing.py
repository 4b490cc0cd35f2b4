"""Content hashes of input files, remembered by (path, size, mtime) so a warm worker
does not read an unchanged plate twice.

A file modified in the last two seconds is not remembered: file times are only as fine
as the kernel's clock tick, so a quick rewrite of the same size could otherwise pass for
the old file (the same rule git uses for "racily clean" files)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

RACY_SECONDS = 2.0
_known: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    path = Path(path)
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if memo in _known:
        return _known[memo]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if time.time() - stat.st_mtime > RACY_SECONDS:
        _known[memo] = digest.hexdigest()
    return digest.hexdigest()


def json_sha256(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
