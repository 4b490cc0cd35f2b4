"""The ledger: an append-only, hash-chained record of every frame generated in a folder.

``ledger.jsonl`` lies beside the layers it records (a job's cache folder
``<cache>/<generator>/<key>/`` or a command's ``--out`` folder), one JSON line per frame
written::

    {"seq": 3, "prev": "<sha256 of entry 2>", "record": {...}, "hash": "<sha256>"}

``hash`` is the sha256 of the entry's canonical JSON without ``hash``; ``prev`` chains
it to the entry before (64 zeros for the first). Changing, removing or reordering a line
breaks the chain; changing a frame's pixels breaks its ``pixels_sha256``. A frame made
again (a resumed or repeated job) gets a new entry: the last entry naming a file is the
one its pixels answer to, the earlier ones stay as history.

Writers hold an exclusive lock on the ledger while they read its tail and append, so
two processes writing into one folder still make one chain.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import BadInput
from ..files import layers
from ..files.hashing import json_sha256
from .record import HEADER_ENTRY, channels_sha256

LEDGER_NAME = "ledger.jsonl"
GENESIS = "0" * 64
FRAME_FILE = re.compile(r"^[A-Za-z][\w-]*\.\d{4,}\.exr$")  # Layer.0001.exr; not the clean plates


def entry_hash(entry: dict) -> str:
    return json_sha256({name: value for name, value in entry.items() if name != "hash"})


def _last_line(handle) -> str:
    """The last line of an open ledger, read from its end (a ledger grows with the shot)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    block = 1 << 16
    while True:
        start = max(0, size - block)
        handle.seek(start)
        tail = handle.read(size - start)
        lines = tail.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            return lines[-1].decode("utf-8") if lines and lines[-1] else ""
        block *= 4


def append(folder: str | os.PathLike, record: dict) -> dict:
    """Append ``record`` to ``folder``'s ledger, chained to its last entry; returns the entry."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LEDGER_NAME, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            last = _last_line(handle)
            try:
                previous = json.loads(last) if last else None
            except json.JSONDecodeError:
                raise BadInput(f"The ledger {folder / LEDGER_NAME} ends in a damaged line, so no frame can be "
                               f"chained to it", "Run 'genvfx verify' on the folder; to go on, move ledger.jsonl "
                               "aside (keep it as evidence) and generate again.") from None
            entry = {"seq": previous["seq"] + 1 if previous else 0,
                     "prev": previous["hash"] if previous else GENESIS,
                     "record": record}
            entry["hash"] = entry_hash(entry)
            handle.seek(0, os.SEEK_END)
            handle.write((json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return entry


def read(folder: str | os.PathLike) -> list[dict]:
    """Every entry of ``folder``'s ledger, in file order (unparseable lines raise)."""
    path = Path(folder) / LEDGER_NAME
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path} line {number} is not JSON ({exc.msg})",
                           "The ledger was edited or truncated; it cannot be trusted.") from exc
    return entries


def current_entries(entries: list[dict]) -> dict[str, dict]:
    """``{file name: its last entry}``: what each frame's pixels answer to now."""
    latest: dict[str, dict] = {}
    for entry in entries:
        latest[entry.get("record", {}).get("file", "")] = entry
    return latest


def by_frame(entries: list[dict]) -> list[dict]:
    """The current entry of each file (see :func:`current_entries`), in frame order."""
    return sorted(current_entries(entries).values(), key=lambda entry: entry["record"]["frame"])


def ledger_folders(root: str | os.PathLike) -> list[Path]:
    """Folders under ``root`` (itself included) that hold a ledger or genvfx frames."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise BadInput(f"Not a folder: {root}", "Give the output folder of a genvfx job, or a cache folder.")
    folders = {path.parent for path in root.rglob(LEDGER_NAME)}
    folders |= {path.parent for path in root.rglob("*.exr") if FRAME_FILE.match(path.name)
                and path.parent not in folders and _is_genvfx_frame(path)}
    return sorted(folders)


def _is_genvfx_frame(path: Path) -> bool:
    try:
        return any(str(name).startswith("genvfx.") for name in layers.read_header(path))
    except BadInput:
        return False


@dataclass
class Problem:
    kind: str  # altered, missing, unrecorded, chain, header
    file: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.file}: {self.detail}"


@dataclass
class FolderCheck:
    folder: Path
    entries: int = 0
    frames: int = 0
    problems: list[Problem] = field(default_factory=list)


def check_chain(entries: list[dict]) -> list[Problem]:
    problems = []
    previous = GENESIS
    for position, entry in enumerate(entries):
        name = entry.get("record", {}).get("file", f"entry {position}")
        if entry.get("hash") != entry_hash(entry):
            problems.append(Problem("chain", name, f"ledger entry {position} was changed (its hash does not match)"))
        if entry.get("prev") != previous or entry.get("seq") != position:
            problems.append(Problem("chain", name, f"ledger entry {position} is out of order or an entry before it "
                                                   f"was removed (it does not chain to the entry before)"))
        previous = entry.get("hash")
    return problems


def check_folder(folder: str | os.PathLike) -> FolderCheck:
    """Recompute every frame's pixel hash and the chain of ``folder``'s ledger."""
    folder = Path(folder)
    check = FolderCheck(folder)
    try:
        entries = read(folder) if (folder / LEDGER_NAME).is_file() else []
    except BadInput as error:
        check.problems.append(Problem("chain", LEDGER_NAME, error.message))
        entries = []
    check.entries = len(entries)
    check.problems += check_chain(entries)
    latest = current_entries(entries)
    on_disk = sorted(path.name for path in folder.glob("*.exr") if FRAME_FILE.match(path.name))
    check.frames = len(on_disk)
    for name in on_disk:
        if name not in latest:
            check.problems.append(Problem("unrecorded", name, "this frame is not in the ledger"))
    for name, entry in sorted(latest.items()):
        problem = check_frame(folder / name, entry)
        if problem is not None:
            check.problems.append(problem)
    return check


def check_frame(path: Path, entry: dict) -> Problem | None:
    """What is wrong with the frame at ``path`` against its ledger ``entry`` (the last
    naming it): gone, unreadable, other pixels than recorded, or a header naming another
    entry; None when it answers to the entry."""
    name = path.name
    if not path.is_file():
        return Problem("missing", name, "the ledger records this frame but the file is gone")
    try:
        pixels = channels_sha256(layers.read_channels(path))
        header = layers.read_header(path)
    except BadInput as error:
        return Problem("altered", name, f"cannot be read ({error.message})")
    if pixels != entry.get("record", {}).get("pixels_sha256"):
        return Problem("altered", name, "its pixel data differ from what the ledger recorded")
    if header.get(HEADER_ENTRY) != entry.get("hash"):
        return Problem("header", name, "its header names a different ledger entry")
    return None
