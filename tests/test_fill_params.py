"""A Debris Fill job's parameters, as the node and ``genvfx fill`` both build them
(genvfx.models.fill.params): one key-frame parser, one assembler."""

from __future__ import annotations

import pytest

from genvfx.errors import BadInput
from genvfx.models.fill.params import job_params, parse_key_frames
from genvfx.models.fill.temporal import DEFAULT_KEY_INTERVAL, TemporalOptions


@pytest.mark.parametrize("text, frames", [
    ("1,13,25", [1, 13, 25]),
    ("13, 1,25", [1, 13, 25]),       # sorted; spaces around a number are fine
    ("  7  ", [7]),
    ("5,5,1", [1, 5]),               # repeats once
    ("1,5,", [1, 5]),                # empty parts are ignored
    ("-3, 0", [-3, 0]),              # Blender allows frames before zero
    ("", []),
    ("   ", []),
    (None, []),
])
def test_key_frames_are_numbers_separated_by_commas(text, frames):
    assert parse_key_frames(text) == frames


@pytest.mark.parametrize("text", ["1-5", "1;5", "1 5", "a", "1,b,3", "2.5", "1, 5-9"])
def test_anything_else_is_refused_with_the_text_and_a_hint(text):
    with pytest.raises(BadInput) as caught:
        parse_key_frames(text)
    assert caught.value.kind == "bad_input"
    assert f"'{text}'" in caught.value.message and "1,13,25" in caught.value.hint


def test_the_shot_settings_are_always_written_out():
    assert job_params() == {"temporal": "carry"}
    assert job_params("carry", "1,13", 6) == {"temporal": "carry"}  # carry has no key frames
    assert job_params("propagate", "", 6) == {"temporal": "propagate", "key_interval": 6}
    assert job_params("propagate", "25, 1", 6) == {"temporal": "propagate", "key_frames": [1, 25]}  # keys win
    assert job_params("hold") == {"temporal": "hold"}
    assert job_params("hold", "", 8) == {"temporal": "hold", "key_interval": 8}
    assert job_params("hold", "9") == {"temporal": "hold", "key_frames": [9]}
    assert job_params("off", "1,x", 6) == {"temporal": "off"}  # a frame on its own: no keys to read


def test_model_settings_are_written_only_when_given():
    assert job_params("off", prompt="bricks", negative_prompt=None, strength=0.8, steps=None) == {
        "temporal": "off", "prompt": "bricks", "strength": 0.8}
    assert job_params("propagate", patch_size=9) == {"temporal": "propagate", "patch_size": 9,
                                                     "key_interval": DEFAULT_KEY_INTERVAL}


def test_bad_key_frames_fail_before_the_job_is_sent():
    with pytest.raises(BadInput):
        job_params("propagate", "1-5")


def test_the_worker_reads_back_what_was_assembled():
    options, rest = TemporalOptions.split(job_params("hold", " 13,1 ", 4, prompt="dust"))
    assert (options.mode, options.key_frames, rest) == ("hold", (1, 13), {"prompt": "dust"})
    options, rest = TemporalOptions.split(job_params("propagate", "", 6))
    assert (options.mode, options.key_interval, options.key_frames, rest) == ("propagate", 6, (), {})


def test_the_cli_and_the_demo_build_the_node_defaults():
    from genvfx.cli import build_parser
    from genvfx.commands.demo import FILL_PARAMS
    from genvfx.commands.fill import job_params as cli_params

    args = build_parser().parse_args(["fill", "--plate", "p.####.exr", "--mask", "m.png", "--out", "o"])
    node_defaults = job_params("carry", "", DEFAULT_KEY_INTERVAL)  # what a new Debris Fill node sends
    assert cli_params(args) == node_defaults == FILL_PARAMS
    keyed = build_parser().parse_args(["fill", "--plate", "p.####.exr", "--mask", "m.png", "--out", "o",
                                       "--key-frames", "13, 1"])
    assert cli_params(keyed) == job_params("propagate", "1,13", DEFAULT_KEY_INTERVAL)
    bad = build_parser().parse_args(["fill", "--plate", "p.####.exr", "--mask", "m.png", "--out", "o",
                                     "--key-frames", "1,x"])
    with pytest.raises(BadInput):
        cli_params(bad)
