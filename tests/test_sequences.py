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


def test_frames_are_what_a_file_name_can_hold():
    assert sequences.MAX_FRAME == 9999  # layers are written as <Layer>.####.exr
    assert sequences.parse_frames("0-2") == [0, 1, 2]
    assert sequences.parse_frames("9998-9999") == [9998, 9999]
    for bad, message in (("-5", "negative"), ("-5-2", "negative"), ("10000", "9999"),
                         (str(10**18), "9999"), ("1-10000000000", "9999"), ("1-" + "9" * 5000, "9999")):
        with pytest.raises(BadInput, match=message) as info:
            sequences.parse_frames(bad)
        assert info.value.hint


def test_huge_lists_of_ranges_stay_small():
    assert sequences.parse_frames(",".join(["0-9999"] * 2000)) == list(range(10000))


def test_frames_found_or_asked_outside_the_range_are_refused(tmp_path):
    pattern = str(tmp_path / "plate.####.exr")
    for frame in (-5, 3, 12345):
        (tmp_path / f"plate.{frame:04d}.exr").write_bytes(b"x")
    with pytest.raises(BadInput, match="-5"):
        sequences.resolve_frames(pattern, None)
    with pytest.raises(BadInput, match="9999"):
        sequences.resolve_frames(pattern, [3, 10**18])
    with pytest.raises(BadInput, match="negative"):
        sequences.resolve_frames(str(tmp_path / "still.exr"), [-1])
    assert sequences.resolve_frames(pattern, [3]) == [3]
