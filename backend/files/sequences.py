"""Input paths: single files or numbered sequences (``plate.####.exr``) and frame ranges."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import BadInput

HASHES = re.compile(r"#+")


#: genvfx names its layers ``<Layer>.####.exr``: four digits, so frames up to 9999.
FRAME_DIGITS = 4
MAX_FRAME = 10 ** FRAME_DIGITS - 1
FRAME_RANGE_HINT = f"Frames run from 0 to {MAX_FRAME}: write A-B (e.g. 1-24) or a list 1,5,9."


def check_frames(frames: list[int]) -> list[int]:
    """``frames`` when every one is a frame a file name can hold (0..MAX_FRAME); else BadInput."""
    for frame in frames:
        if frame < 0:
            raise BadInput(f"Frame {frame} is negative", FRAME_RANGE_HINT)
        if frame > MAX_FRAME:
            raise BadInput(f"Frame {frame} is beyond {MAX_FRAME}, the last frame a four-digit file name holds",
                           FRAME_RANGE_HINT)
    return frames


def parse_frames(text: str | None) -> list[int] | None:
    """``"1-8"`` → [1..8]; ``"5"`` → [5]; ``"1-3,7,10-11"`` also works; None → None.
    Frames run from 0 to :data:`MAX_FRAME`; a range past it is refused before any list is built."""
    if text is None or str(text).strip() == "":
        return None
    frames: set[int] = set()
    for chunk in str(text).split(","):
        match = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", chunk)
        if not match:
            raise BadInput(f"Cannot read the frame range '{text}'", "Write it as A-B (e.g. 1-24) or a list 1,5,9.")
        ends = [match.group(1), match.group(2) if match.group(2) is not None else match.group(1)]
        # a number too long to be a frame is refused as such (int() of thousands of digits raises)
        first, last = (MAX_FRAME + 1 if len(end.lstrip("-").lstrip("0")) > len(str(MAX_FRAME))
                       else int(end) for end in ends)
        check_frames([first, last])
        if last < first:
            raise BadInput(f"The frame range '{chunk.strip()}' ends before it starts", "Write it as A-B with A ≤ B.")
        frames.update(range(first, last + 1))
    return sorted(frames)


def is_sequence(pattern: str) -> bool:
    return bool(HASHES.search(Path(pattern).name))


def frame_path(pattern: str, frame: int) -> Path:
    """The file of ``frame`` in ``pattern`` (the last run of ``#`` is the zero-padded frame)."""
    path = Path(pattern)
    runs = list(HASHES.finditer(path.name))
    if not runs:
        return path
    run = runs[-1]
    name = path.name[: run.start()] + f"{frame:0{len(run.group())}d}" + path.name[run.end():]
    return path.with_name(name)


def existing_frames(pattern: str) -> list[int]:
    """Frame numbers present on disk for a sequence pattern."""
    path = Path(pattern)
    runs = list(HASHES.finditer(path.name))
    if not runs:
        return []
    run = runs[-1]
    regex = re.compile(re.escape(path.name[: run.start()]) + r"(-?\d+)" + re.escape(path.name[run.end():]) + "$")
    if not path.parent.is_dir():
        return []
    return sorted(int(m.group(1)) for p in path.parent.iterdir() if (m := regex.match(p.name)))


def resolve_frames(pattern: str, frames: list[int] | None) -> list[int]:
    """The frames a job runs: those asked, or every frame on disk (a single file is frame 1);
    each within 0..MAX_FRAME."""
    if not is_sequence(pattern):
        return check_frames(frames or [1])
    if frames:
        return check_frames(frames)
    found = existing_frames(pattern)
    if not found:
        raise BadInput(f"No frames found for {pattern}", "Check the folder and the file name; '#' stands for the frame number.")
    return check_frames(found)


def input_path(pattern: str, frame: int, role: str = "input") -> Path:
    """The existing file of ``frame`` for an input; a clear error when it is missing."""
    path = frame_path(pattern, frame)
    if not path.is_file():
        hint = "The sequence has a gap: render or copy the missing frame, or narrow --frames."
        if not is_sequence(pattern):
            hint = "Check the path."
        raise BadInput(f"The {role} file for frame {frame} is missing: {path}", hint, frame)
    return path
