from __future__ import annotations

import pytest

from genvfx.backend.files import sequences
from genvfx.errors import BadInput


def test_frame_ranges():
    assert sequences.parse_frames("1-4") == [1, 2, 3, 4]
    assert sequences.parse_frames("7") == [7]
    assert sequences.parse_frames("1-3,10,2") == [1, 2, 3, 10]
    assert sequences.parse_frames(None) is None
    for bad in ("a-b", "5-2", "1--"):
        with pytest.raises(BadInput):
            sequences.parse_frames(bad)


def test_patterns_and_discovery(tmp_path):
    pattern = str(tmp_path / "plate.####.exr")
    assert sequences.frame_path(pattern, 12).name == "plate.0012.exr"
    assert sequences.frame_path(str(tmp_path / "p_##.png"), 3).name == "p_03.png"
    for frame in (3, 4, 6):
        sequences.frame_path(pattern, frame).write_bytes(b"x")
    assert sequences.existing_frames(pattern) == [3, 4, 6]
    assert sequences.resolve_frames(pattern, None) == [3, 4, 6]
    with pytest.raises(BadInput, match="frame 5 is missing") as info:
        sequences.input_path(pattern, 5, "plate")
    assert info.value.frame == 5 and "gap" in info.value.hint
    with pytest.raises(BadInput, match="No frames"):
        sequences.resolve_frames(str(tmp_path / "none.####.exr"), None)
