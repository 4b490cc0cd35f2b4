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

An append is a whole line or nothing: a write, flush or fsync that fails (a full disk)
truncates the ledger back to its length before, and is reported as a ``disk_full`` error
naming the folder. A line left unfinished by a crash mid-write (it has no newline) is
removed by the next append; its frame was never written (the ledger goes first).

A job with a signing key (:mod:`.signing`) signs the ledger's tip after every append
(``ledger.sig``), under the same lock, and each frame's entry in its header;
:func:`check_folder` checks them against trusted keys.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import BadInput, GenVFXError
from ..files import layers
from ..files.hashing import json_sha256
from . import signing
from .record import HEADER_ENTRY, channels_sha256, frame_header

LEDGER_NAME = "ledger.jsonl"
GENESIS = "0" * 64
FRAME_FILE = re.compile(r"^[A-Za-z][\w-]*\.\d{4,}\.exr$")  # Layer.0001.exr; not the clean plates


def entry_hash(entry: dict) -> str:
    return json_sha256({name: value for name, value in entry.items() if name != "hash"})


DISK_FULL = "disk_full"
_FULL_ERRNOS = {errno.ENOSPC: "full", errno.EDQUOT: "over its quota"}


def _size(count: float) -> str:
    if count < 1024:
        return f"{count:.0f} bytes"
    for unit in ("KB", "MB"):
        count /= 1024
        if count < 1024:
            return f"{count:.1f} {unit}"
    return f"{count / 1024:.1f} GB"


def disk_full_error(exc: BaseException, folder: str | os.PathLike, what: str,
                    needed: int | None = None, needed_for: str = "") -> GenVFXError | None:
    """The ``disk_full`` error for ``exc`` when it is a full disk or a used-up quota
    (ENOSPC, EDQUOT; as an OSError, or in the text of a library's error); else None.
    ``what`` is what could not be written, ``needed`` about how many bytes are needed
    (``needed_for`` says what for)."""
    code = getattr(exc, "errno", None)
    if code not in _FULL_ERRNOS:
        text = str(exc)
        code = next((number for number in _FULL_ERRNOS if os.strerror(number) in text), None)
        if code is None:
            return None
    folder = Path(folder)
    try:
        free = f", {_size(shutil.disk_usage(folder if folder.is_dir() else folder.parent).free)} free"
    except OSError:
        free = ""
    need = f"at least {_size(needed)}{f' ({needed_for})' if needed_for else ''}" if needed else "space"
    return GenVFXError(
        DISK_FULL, f"The disk holding {folder} is {_FULL_ERRNOS[code]}{free}: {what} could not be written",
        f"Free {need} there, or write to another disk (--out, or the cache folder in the genvfx "
        f"preferences), then generate again: the frames and ledger already written are whole and kept, "
        f"and no partial file was left.")


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


def _raise_disk_full(exc: BaseException, folder: Path, what: str, needed: int | None = None) -> None:
    """Raise the ``disk_full`` error for ``exc`` when it is one (else return)."""
    error = disk_full_error(exc, folder, what, needed)
    if error is not None:
        raise error from exc


def _drop_unfinished_line(descriptor: int) -> int:
    """Cut an unfinished last line (no newline: a write that a crash interrupted) off the
    open ledger; returns the ledger's length after."""
    size = os.fstat(descriptor).st_size
    if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
        return size
    end, block = size, 1 << 16
    while end > 0:
        start = max(0, end - block)
        newline = os.pread(descriptor, end - start, start).rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    os.ftruncate(descriptor, end)
    os.fsync(descriptor)
    return end


def _truncate_quietly(descriptor: int, size: int) -> None:
    """Take the ledger back to ``size`` bytes after a failed append (best effort: the
    error being reported matters more than one that follows it)."""
    try:
        os.ftruncate(descriptor, size)
        os.fsync(descriptor)
    except OSError:
        pass


def _write_whole(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]
    os.fsync(descriptor)


def append(folder: str | os.PathLike, record: dict, signer: "signing.Signer | None" = None) -> dict:
    """Append ``record`` to ``folder``'s ledger, chained to its last entry; returns the entry.
    The line is written whole or not at all; with a ``signer`` the new tip is signed
    (``ledger.sig``) before the lock is let go, and a failure to sign takes the line back."""
    folder = Path(folder)
    what = f"the ledger entry of {record.get('file', 'a frame')}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LEDGER_NAME, "a+b")
    except OSError as exc:
        _raise_disk_full(exc, folder, what)
        raise
    with handle:
        descriptor = handle.fileno()
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            try:
                size = _drop_unfinished_line(descriptor)
            except OSError as exc:
                _raise_disk_full(exc, folder, what)
                raise
            last = _last_line(handle)
            try:
                previous = json.loads(last) if last else None
            except json.JSONDecodeError:
                raise BadInput(f"The ledger {folder / LEDGER_NAME} ends in a damaged line, so no frame can be "
                               f"chained to it", "Run 'genvfx verify' on the folder; to go on, move ledger.jsonl "
                               "out of the folder (keep it as evidence) and generate again: the frames are "
                               "made again and recorded in a new ledger.") from None
            entry = {"seq": previous["seq"] + 1 if previous else 0,
                     "prev": previous["hash"] if previous else GENESIS,
                     "record": record}
            entry["hash"] = entry_hash(entry)
            line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
            try:
                _write_whole(descriptor, line)
                if signer is not None:
                    signer.sign_folder(folder, entry["seq"] + 1, entry["hash"], record.get("file", ""))
            except BaseException as exc:
                _truncate_quietly(descriptor, size)
                if isinstance(exc, OSError):
                    _raise_disk_full(exc, folder, what, len(line))
                raise
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return entry


def retract(folder: str | os.PathLike, entry: dict, signer: "signing.Signer | None" = None) -> bool:
    """Take ``entry`` back off ``folder``'s ledger when its frame could not be written, if it
    is still the last line (another writer may have appended since: then it stays, and a
    later run writes the frame again). The tip before it is signed again. Returns whether
    the entry was taken back."""
    path = Path(folder) / LEDGER_NAME
    try:
        handle = open(path, "r+b")
    except OSError:
        return False
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
            size = os.fstat(handle.fileno()).st_size
            if size < len(line) or os.pread(handle.fileno(), len(line), size - len(line)) != line:
                return False
            os.ftruncate(handle.fileno(), size - len(line))
            os.fsync(handle.fileno())
            if signer is not None:
                last = _last_line(handle)
                try:
                    previous = json.loads(last) if last else None
                    if previous is not None:
                        signer.sign_folder(folder, previous["seq"] + 1, previous["hash"],
                                           previous.get("record", {}).get("file", ""))
                    else:
                        (Path(folder) / signing.SIGNATURE_NAME).unlink(missing_ok=True)
                except (OSError, ValueError, KeyError, TypeError):
                    pass  # the signature stays one entry ahead; the next append signs again
            return True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read(folder: str | os.PathLike, skip_unfinished: bool = False) -> list[dict]:
    """Every entry of ``folder``'s ledger, in file order (unparseable lines raise).
    ``skip_unfinished`` leaves out an unfinished last line (no newline: an append a crash
    cut short, whose frame was never written), as the next append will."""
    path = Path(folder) / LEDGER_NAME
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    unfinished = bool(text) and not text.endswith("\n")
    if unfinished and skip_unfinished:
        lines = lines[:-1]
    entries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if unfinished and number == len(lines):
                raise BadInput(f"{path} line {number} is not JSON ({exc.msg}): an unfinished line, an append "
                               f"cut short (a full disk, a crash)",
                               "Generate again: the job removes the unfinished line, makes the frame it "
                               "was for and records it.") from exc
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
    kind: str  # altered, missing, unrecorded, chain, header, signature
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
    #: ``ledger.sig`` as read (None: none, or unreadable); checked only against trusted keys
    signature: dict | None = None
    #: the fingerprint of the trusted key whose valid signature covers the ledger's tip
    signed_by: str | None = None
    #: checked against trusted keys, and found whole and signed by one of them
    authenticated: bool = False


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


def check_folder(folder: str | os.PathLike, trusted: "list[signing.TrustedKey] | None" = None) -> FolderCheck:
    """Recompute every frame's pixel hash and the chain of ``folder``'s ledger, and compare
    each frame's provenance header with its record; with ``trusted`` keys (even none), also
    that the ledger's tip and every frame's entry are signed by one of them."""
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
    try:
        check.signature = signing.read_signature(folder)
    except BadInput:
        check.signature = None
    if trusted is not None:
        problems, check.signed_by = check_signatures(folder, entries, trusted)
        check.problems += problems
        check.authenticated = check.signed_by is not None and not check.problems
    return check


def _line_file(entry: dict, number: int) -> str:
    record = entry.get("record") if isinstance(entry, dict) else None
    return str(record.get("file", "")) if isinstance(record, dict) and record.get("file") else f"ledger line {number}"


def _tip_problems(signature: dict, entries: list[dict]) -> list[Problem]:
    """How ``entries`` differ from the ledger the (valid, trusted) ``signature`` signed."""
    signed, tip, tip_file = int(signature["entries"]), signature["tip"], signature.get("file") or LEDGER_NAME
    count = len(entries)
    if count < signed:
        return [Problem("signature", tip_file, f"the ledger was signed with {signed} entries and has {count}: "
                                               f"line(s) {count + 1}-{signed} were removed (the last one signed "
                                               f"recorded {tip_file})")]
    problems = []
    if entry_hash(entries[signed - 1]) != tip:
        problems.append(Problem("signature", _line_file(entries[signed - 1], signed),
                                f"ledger line {signed}, the last one signed, is not the entry that was signed: the "
                                f"ledger was rewritten at or before line {signed}"))
    for position in range(signed, count):
        problems.append(Problem("signature", _line_file(entries[position], position + 1),
                                f"ledger line {position + 1} was added after the ledger was last signed"))
    return problems


def check_signatures(folder: str | os.PathLike, entries: list[dict],
                     trusted: "list[signing.TrustedKey]") -> tuple[list[Problem], str | None]:
    """The signature problems of ``folder`` against the ``trusted`` keys: ``ledger.sig``
    (missing, not a valid signature, by an untrusted key, or of another ledger: lines added,
    removed or rewritten since), and each current frame's header signature of its entry.
    Returns them and the fingerprint of the trusted key that signed the tip (None if none)."""
    folder = Path(folder)
    keys = {key.public_raw: key for key in trusted}
    problems: list[Problem] = []
    signed_by = None
    try:
        content = signing.read_signature(folder)
    except BadInput as error:
        return [Problem("signature", signing.SIGNATURE_NAME, error.message)], None
    if content is None:
        return [Problem("signature", signing.SIGNATURE_NAME, "the folder has no signature: its frames were written "
                                                             "without a signing key, or the signature was removed")], None
    status, public_raw = signing.tip_signature_status(content)
    if status != "valid":
        problems.append(Problem("signature", signing.SIGNATURE_NAME,
                                "it is not a valid signature of the ledger tip it names (it was edited)"))
    elif public_raw not in keys:
        problems.append(Problem("signature", signing.SIGNATURE_NAME,
                                f"it is signed by key {signing.fingerprint(public_raw)}, which is not trusted"))
    else:
        signed_by = keys[public_raw].fingerprint
        problems += _tip_problems(content, entries)
    for name, entry in sorted(current_entries(entries).items()):
        try:
            header = layers.read_header(folder / name)
        except BadInput:
            continue  # named as missing or altered
        status, public_raw = signing.entry_signature(header, entry_hash(entry))
        if status == "unsigned":
            problems.append(Problem("signature", name, "the frame is not signed"))
        elif status == "invalid":
            problems.append(Problem("signature", name, "its signature does not match its ledger entry: the entry "
                                                       "(its record, or one before it) was changed after signing"))
        elif public_raw not in keys:
            problems.append(Problem("signature", name, f"it is signed by key {signing.fingerprint(public_raw)}, "
                                                       "which is not trusted"))
    return problems, signed_by


def _same_value(found, expected: str) -> bool:
    if str(found) == expected:
        return True
    try:  # JSON attributes written by another serializer
        return json.loads(str(found)) == json.loads(expected)
    except (TypeError, ValueError):
        return False


def header_problems(header: dict, entry: dict) -> list[str]:
    """Each provenance attribute of a frame's ``header`` that differs from what its ledger
    ``entry`` makes of it (:func:`frame_header`), is missing, or (for records that list
    their generator's own attributes) is not in the record; the signature attributes are
    judged by :func:`check_signatures`."""
    record = entry.get("record", {})
    try:
        expected = frame_header(record, str(entry.get("hash")))
    except (KeyError, TypeError, ValueError, AttributeError):
        return ["the ledger record lacks the fields a frame header is made from"]
    found = []
    for name, value in expected.items():
        if name not in header:
            found.append(f"its header lacks the {name} attribute")
        elif not _same_value(header[name], value):
            found.append(f"its {name} attribute is {str(header[name])[:80]!r} but the ledger records {value[:80]!r}")
    if isinstance(record, dict) and "header" in record:
        for name in sorted(map(str, header)):
            if name.startswith("genvfx.") and name not in expected and name not in signing.SIGNATURE_HEADERS:
                found.append(f"its {name} attribute is not in the ledger record")
    return found


def check_frame(path: Path, entry: dict) -> Problem | None:
    """What is wrong with the frame at ``path`` against its ledger ``entry`` (the last
    naming it): gone, unreadable, other pixels than recorded, a header naming another
    entry, or provenance attributes other than the record's; None when it answers to the
    entry."""
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
    attributes = header_problems(header, entry)
    if attributes:
        return Problem("header", name, "; ".join(attributes))
    return None
