"""The version switches (genvfx.addon.compat) against the Blender that runs the tests (the
bpy module: 5.0.1 here, 5.2 where a Python 3.13 machine installs it): compat must decide
what this Blender measurably does, and the add-on's colour mixes must give the same
pixels whichever path it takes. The Blender side is ``tests/blender/compat.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.blender,
    pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy module (pip install bpy==5.0.1)"),
]

TIME_LIMIT = 180
A_ALPHA = 0.25


@pytest.fixture(scope="module")
def compat_run(extension_zip, tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import run_blender_script

    root = tmp_path_factory.mktemp("compat_blender")
    out = root / "out"
    out.mkdir()
    return run_blender_script(root, "compat", {"zip": str(extension_zip), "out": str(out)}, TIME_LIMIT)


def test_compat_decides_what_this_blender_does(compat_run):
    assert compat_run["decided_mixes_alpha"] == compat_run["measured_mixes_alpha"], compat_run["raw_mix"]
    assert bool(compat_run["decided_file_output"]) == compat_run["measured_extension_toggle"]


def test_the_addon_mix_keeps_a_alpha_on_either_path(compat_run):
    own, put_back = compat_run["addon_mix"], compat_run["addon_mix_alpha_put_back"]
    assert own[3] == pytest.approx(A_ALPHA, abs=1e-5)
    assert put_back == pytest.approx(own, abs=1e-5)  # colour from the mix, A's alpha
    assert compat_run["addon_mix_alpha_put_back_value"] == pytest.approx(own, abs=1e-5)
    assert {"CompositorNodeSetAlpha", "CompositorNodeSeparateColor"} <= set(compat_run["put_back_nodes"])


def test_a_missing_socket_is_named(compat_run):
    assert "Nope" in compat_run["missing_identifier"] and "Value" in compat_run["missing_identifier"]
