"""The cache's side of a job: where it may write, whether a frame is already written for a
key, and the frames written so far, read back (what generators whose frames depend on
each other build on).

A job writes only into its own folder (``<cache>/<generator>/<key>/`` or the ``--out``
folder it was given), never over one of its inputs, and a folder holds the frames of one
job. A frame counts as written only when its header and its ledger entry say it is this
job's frame, of this number, with these pixels: a file name proves nothing. A job that
signs (:mod:`..provenance.signing`) takes a frame only when it is signed by its key.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ...errors import BadInput, GenVFXError
from ..files import layers
from ..provenance import ledger, signing
from ..provenance.record import HEADER_FRAME, HEADER_KEY
from .jobs import Job

#: A partial older than this before the job started is stale even if its pid is alive
#: again (pids are reused); a live writer renames its partial within one frame.
STALE_PARTIAL_SECONDS = 600.0


def _same_entry(path: Path) -> set[str]:
    """The names under which ``path`` can be reached: its folder resolved with its own
    name (the directory entry a rename would replace), and the file it leads to."""
    path = Path(path).absolute()
    return {str(path.parent.resolve() / path.name), str(path.resolve())}


def check_output_folder(job: Job, key: str) -> Path:
    """The job's output folder, after making sure it is where the caller asked: under the
    job's ``cache_dir/<generator>/`` or its explicit output folder."""
    folder = Path(os.path.normpath(job.output_dir(key)))
    allowed = Path(os.path.normpath(job.output_dir_override or Path(job.cache_dir) / job.generator))
    if folder != allowed and allowed not in folder.parents:
        raise BadInput(f"The job would write to {folder}, outside {allowed}",
                       "Give the cache directory or output folder the frames belong in.")
    return folder


def refuse_overwriting_inputs(job: Job, key: str) -> None:
    """Refuse ``job`` when a file it writes (a frame, the ledger) is one of the files it
    reads: a fill whose plate is its own output folder would destroy the plate."""
    folder = job.output_dir(key)
    written = [job.frame_path(key, frame) for frame in job.frames] + [folder / ledger.LEDGER_NAME]
    outputs = {name: path for path in written for name in _same_entry(path)}
    for source in job.input_files():
        clash = next((outputs[name] for name in sorted(_same_entry(source)) if name in outputs), None)
        if clash is not None:
            raise BadInput(f"The job would overwrite its own input {source} with {clash.name}",
                           "Write the output to another folder (--out), or read the input from elsewhere; "
                           "inputs are never written.")


def _frame_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.exr") if ledger.FRAME_FILE.match(path.name))


def _readable_entries(folder: Path) -> list[dict]:
    """The ledger's entries that hold a record, without an unfinished last line (an append
    a crash cut short; the next append removes it); [] without a ledger or when it cannot
    be read (the ledger's append names that problem when the job gets to it)."""
    if not (folder / ledger.LEDGER_NAME).is_file():
        return []
    try:
        entries = ledger.read(folder, skip_unfinished=True)
    except (BadInput, OSError, UnicodeDecodeError):
        return []
    return [entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("record"), dict)]


def claim_folder(job: Job, key: str) -> None:
    """Refuse to write into a folder that holds frames of another job (another key): its
    ledger's records, or the headers of its frames that the ledger does not name. One
    folder holds one job's frames, so a result is never half one job, half another."""
    folder = job.output_dir(key)
    if not folder.is_dir():
        return
    entries = _readable_entries(folder)
    owners = {str(entry["record"].get("key")): entry["record"].get("file", "") for entry in entries}
    recorded = set(ledger.current_entries(entries))
    for path in _frame_files(folder):
        if path.name in recorded:
            continue
        try:
            other = layers.read_header(path).get(HEADER_KEY)
        except GenVFXError:
            continue
        if other is not None:
            owners.setdefault(str(other), path.name)
    foreign = sorted((other, name) for other, name in owners.items() if other != key)
    if foreign:
        other, name = foreign[0]
        raise BadInput(f"{folder} holds the frames of another job ({name} has key {other}; this job's key is {key})",
                       "Write into another --out folder, or delete that folder's frames and ledger.jsonl to "
                       "replace them: one folder holds one job's frames.")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except (OverflowError, ValueError):  # no process has such a number
        return False
    return True


def clean_stale_partials(folder: Path, started: float | None = None) -> list[Path]:
    """Remove the half-written frames a killed writer left in ``folder`` (their pid is
    gone, or they were left long before this job started); returns those removed."""
    if not folder.is_dir():
        return []
    started = time.time() if started is None else started
    removed = []
    for path in folder.iterdir():
        match = layers.PARTIAL_FILE.match(path.name)
        if not match or not path.is_file():
            continue
        try:
            stale = (not _pid_alive(int(match["pid"]))
                     or path.stat().st_mtime < started - STALE_PARTIAL_SECONDS)
            if stale:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # renamed or removed by its writer meanwhile
            continue
    return removed


def frames_recorded(job: Job, key: str) -> bool:
    """Whether the ledger of ``job``'s folder records every frame of the job for ``key``: a
    cheap test (no pixels read) that a result on disk is not one whose ledger was lost or
    moved aside, which only a run of the job records again."""
    latest = ledger.current_entries(_readable_entries(job.output_dir(key)))
    for frame in job.frames:
        entry = latest.get(job.frame_path(key, frame).name)
        if entry is None or entry["record"].get("key") != key or entry["record"].get("frame") != frame:
            return False
    return True


def frame_is_current(path: Path, key: str, frame: int, entry: dict | None,
                     signer: signing.Signer | None = None) -> bool:
    """A cached frame counts only if it is whole, was made for this key and frame, and
    its pixels and header answer to its ledger ``entry`` (the last naming this file) —
    and, for a job that signs, its header carries ``signer``'s signature of the entry. A
    frame renamed, swapped, repainted, unrecorded or unsigned does not count: it is made
    again."""
    if entry is None or not path.is_file():
        return False
    record = entry.get("record", {})
    if record.get("key") != key or record.get("frame") != frame:
        return False
    try:
        header = layers.read_header(path)
    except GenVFXError:
        return False
    if (header.get(HEADER_KEY), header.get(HEADER_FRAME)) != (key, str(frame)):
        return False
    if signer is not None and not signer.signed(header, ledger.entry_hash(entry)):
        return False
    return ledger.check_frame(path, entry) is None


class CachedFrames:
    """The frames of a job already written, read back: what generators whose frames depend
    on each other (a fill carried from its key frames) build on."""

    def __init__(self, job: Job, key: str, signer: signing.Signer | None = None):
        self.job, self.key, self.signer = job, key, signer
        self._entries: dict[str, dict] = {}
        self._ledger_state: tuple | None = None

    def _current_entries(self) -> dict[str, dict]:
        """The ledger's last entry per file, read again when the ledger changed."""
        path = self.job.output_dir(self.key) / ledger.LEDGER_NAME
        try:
            stat = path.stat()
            state = (stat.st_size, stat.st_mtime_ns)
        except FileNotFoundError:
            state = None
        if state != self._ledger_state:
            self._entries = ledger.current_entries(_readable_entries(path.parent))
            self._ledger_state = state
        return self._entries

    def has(self, frame: int) -> bool:
        path = self.job.frame_path(self.key, frame)
        return frame_is_current(path, self.key, frame, self._current_entries().get(path.name), self.signer)

    def read(self, frame: int) -> dict[str, np.ndarray]:
        """``{pass: array}`` of ``frame`` as written (float32, so exactly what was computed)."""
        return layers.read_layers(self.job.frame_path(self.key, frame))[self.job.layer]
