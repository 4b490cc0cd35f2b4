"""``genvfx render SHOT.blend``: generate stale genvfx nodes, then render the compositor."""

from __future__ import annotations

from pathlib import Path

from ..backend.files import sequences
from . import blender
from ..errors import BadInput


def main(args) -> int:
    blend = Path(args.blend).resolve()
    if not blend.is_file():
        raise BadInput(f"No such .blend file: {blend}", "Check the path.")
    headless = blender.headless()
    frames = sequences.parse_frames(args.frames)
    rendered = headless.render_blend(str(blend), frames=frames, out_dir=str(Path(args.out).resolve()) if args.out else None)
    print(f"composite: {rendered}")
    return 0
