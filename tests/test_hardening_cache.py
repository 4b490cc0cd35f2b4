"""Inputs are never written, outputs stay in their folder, and the cache never mixes jobs
or trusts a frame's name: each case here once went wrong."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from genvfx import cli
from genvfx.backend.files import layers
from genvfx.backend.provenance import ledger
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.errors import BadInput

ROOT = Path(__file__).resolve().parents[1]


def _fill(shot, out, frames=(1, 2, 3), **overrides) -> Job:
    settings = dict(generator="fill", frames=list(frames), device="cpu", output_dir_override=str(out),
                    inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.png")},
                    params={"temporal": "off"})
    settings.update(overrides)
    return Job(**settings)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


# -- inputs are sacred, outputs stay in their folder ---------------------------------------

def test_a_job_whose_outputs_would_overwrite_its_inputs_is_refused(small_shot, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    for frame in (1, 2, 3):  # the plates live where the layers would be written
        shutil.copy(small_shot / f"plate.{frame:04d}.exr", out / f"DebrisFill.{frame:04d}.exr")
    before = _digest(out)
    job = _fill(small_shot, out, inputs={"plate": str(out / "DebrisFill.####.exr"),
                                         "mask": str(small_shot / "mask.####.png")})
    with pytest.raises(BadInput, match="DebrisFill.0001.exr") as info:
        run_job(job)
    assert "overwrite" in info.value.message and info.value.hint
    # the same through a symlinked folder, and from the command line
    (tmp_path / "link").symlink_to(out)
    with pytest.raises(BadInput, match="overwrite"):
        run_job(_fill(small_shot, tmp_path / "link", inputs=job.inputs))
    code = cli.main(["fill", "--plate", str(out / "DebrisFill.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                     "--out", str(out), "--frames", "1-3"])
    assert code == 2 and "overwrite" in capsys.readouterr().err
    assert _digest(out) == before


def test_relative_cache_and_output_folders_are_refused(small_shot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="absolute path"):
        run_job(_fill(small_shot, "", frames=[1], cache_dir="cache"))
    with pytest.raises(BadInput, match="absolute path"):
        run_job(_fill(small_shot, "out", frames=[1]))
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def test_the_cli_resolves_out_against_the_callers_folder(small_shot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["fill", "--plate", str(small_shot / "plate.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                     "--out", "rel_out", "--frames", "1", "--proxy", "0.25"]) == 0
    assert (tmp_path / "rel_out" / "DebrisFill.0001.exr").is_file()


BLEND_SCRIPT = """
import os, sys, bpy
from genvfx.addon.jobs import absolute_cache_dir
unsaved = absolute_cache_dir("genvfx_cache")
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1])
print(unsaved)
print(absolute_cache_dir("genvfx_cache"))
print(absolute_cache_dir("/abs/cache"))
"""


def test_blender_resolves_a_relative_cache_dir_against_the_blend(tmp_path):
    pytest.importorskip("bpy")
    blend = tmp_path / "shot" / "shot.blend"
    blend.parent.mkdir()
    child = subprocess.run([sys.executable, "-c", BLEND_SCRIPT, str(blend)], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT.parent)})
    assert child.returncode == 0, child.stderr[-2000:]
    unsaved, saved, absolute = child.stdout.strip().splitlines()[-3:]
    assert os.path.isabs(unsaved) and not unsaved.startswith(str(tmp_path))
    assert saved == str(blend.parent / "genvfx_cache")
    assert absolute == "/abs/cache"


# -- the cache never mixes or trusts names -------------------------------------------------

def test_one_folder_holds_one_jobs_frames(small_shot, tmp_path):
    out = tmp_path / "out"
    assert run_job(_fill(small_shot, out, frames=[1, 2], seed=0))["computed"] == [1, 2]
    before = _digest(out)
    with pytest.raises(BadInput, match="another job") as info:
        run_job(_fill(small_shot, out, seed=1))
    assert "--out" in info.value.hint
    assert _digest(out) == before
    # the same job again is a resume, not another job
    assert run_job(_fill(small_shot, out, frames=[1, 2], seed=0))["computed"] == []
    # frames tell their job by their header even when the ledger was moved aside
    (out / ledger.LEDGER_NAME).rename(tmp_path / "ledger.kept")
    with pytest.raises(BadInput, match="another job"):
        run_job(_fill(small_shot, out, seed=1))


def test_swapped_or_repainted_frames_are_not_taken_as_up_to_date(small_shot, tmp_path, capsys):
    out = tmp_path / "out"
    run_job(_fill(small_shot, out))
    first, third = out / "DebrisFill.0001.exr", out / "DebrisFill.0003.exr"
    first.rename(tmp_path / "swap.exr")
    third.rename(first)
    (tmp_path / "swap.exr").rename(third)
    assert run_job(_fill(small_shot, out))["computed"] == [1, 3]
    assert cli.main(["verify", str(out)]) == 0, capsys.readouterr().out
    # repainted pixels under an untouched header
    second = out / "DebrisFill.0002.exr"
    header = {name: str(value) for name, value in layers.read_header(second).items() if name.startswith("genvfx.")}
    channels = layers.read_channels(second)
    channels["DebrisFill.Combined.R"] = np.zeros_like(channels["DebrisFill.Combined.R"])
    layers.write_channels(second, channels, header)
    assert run_job(_fill(small_shot, out))["computed"] == [2]
    assert cli.main(["verify", str(out)]) == 0, capsys.readouterr().out


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_partials_are_cleaned_on_the_next_run(small_shot, tmp_path):
    out = tmp_path / "out"
    run_job(_fill(small_shot, out, frames=[1, 2]))
    dead = out / f".DebrisFill.0003.exr.{_dead_pid()}.partial"
    old = out / f".DebrisFill.0004.exr.{os.getppid()}.partial"  # a live pid, but from long before this run
    live = out / f".DebrisFill.0005.exr.{os.getpid()}.partial"  # being written now by a live process
    for partial in (dead, old, live):
        partial.write_bytes(b"half a frame")
    hours_ago = time.time() - 7200
    os.utime(old, (hours_ago, hours_ago))
    assert run_job(_fill(small_shot, out, frames=[1, 2]))["computed"] == []
    assert not dead.exists() and not old.exists() and live.exists()
