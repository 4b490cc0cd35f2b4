"""Provenance: the hash-chained ledger, `genvfx verify`, frame headers and energy accounting."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from genvfx import cli
from genvfx.backend.provenance import energy, ledger
from genvfx.backend.files import layers
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.backend.provenance.record import channels_sha256
from genvfx.errors import GenVFXError


def _fill(shot, out, **params) -> Job:
    return Job(generator="fill", frames=[1, 2, 3], device="cpu", output_dir_override=str(out),
               inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.png")},
               params={"temporal": "off", **params})


@pytest.fixture
def filled(small_shot, tmp_path_factory):
    """A three-frame Debris Fill of a photograph, written with its ledger."""
    out = tmp_path_factory.mktemp("filled")
    run_job(_fill(small_shot, out))
    return out


def _verify(folder, capsys) -> tuple[int, str]:
    code = cli.main(["verify", str(folder)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_clean_job_verifies_and_headers_carry_the_ledger_entry(filled, small_shot, capsys):
    code, output = _verify(filled, capsys)
    assert code == 0, output
    entries = ledger.read(filled)
    assert [entry["record"]["file"] for entry in entries] == [f"DebrisFill.{f:04d}.exr" for f in (1, 2, 3)]
    assert entries[0]["prev"] == ledger.GENESIS and entries[1]["prev"] == entries[0]["hash"]
    for entry in entries:
        path = filled / entry["record"]["file"]
        header = layers.read_header(path)
        assert header["genvfx.ledger.entry"] == entry["hash"]
        assert json.loads(header["genvfx.record"]) == entry["record"]
        record = entry["record"]
        assert record["pixels_sha256"] == channels_sha256(layers.read_channels(path))
        assert record["model"] == "genvfx.fill.patchmatch" and len(record["model_sha256"]) == 64
        assert record["licence"] == "GPL-3.0-or-later" and record["seed"] == 0
        # the generated share of a fill is the mask's coverage
        mask = layers.read_layers(path)["DebrisFill"]["Mask"]
        assert record["generated_share"] == pytest.approx(float(mask.mean()), abs=1e-5)
        assert 0.05 < record["generated_share"] < 0.2
        assert record["energy_joules"] > 0 and record["cpu_seconds"] > 0 and record["energy_method"]
        assert record["device"].startswith("cpu")
        assert record["input_files"]["plate"].endswith(f"plate.{record['frame']:04d}.exr")


def test_altered_pixels_fail_naming_the_frame(filled, capsys):
    path = filled / "DebrisFill.0002.exr"
    channels = layers.read_channels(path)
    channels["DebrisFill.Combined.R"] = channels["DebrisFill.Combined.R"].copy()
    channels["DebrisFill.Combined.R"][40, 60] += 0.01  # one pixel, a retouch nobody recorded
    layers.write_channels(path, channels, {k: v for k, v in layers.read_header(path).items()
                                           if str(k).startswith("genvfx.")})
    code, output = _verify(filled, capsys)
    assert code == 1
    assert "altered: DebrisFill.0002.exr" in output
    assert "DebrisFill.0001.exr" not in output and "DebrisFill.0003.exr" not in output


def test_a_deleted_frame_fails(filled, capsys):
    (filled / "DebrisFill.0003.exr").unlink()
    code, output = _verify(filled, capsys)
    assert code == 1 and "missing: DebrisFill.0003.exr" in output
    assert cli.main(["verify", "--json", str(filled)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert not result["verified"] and result["folders"][0]["problems"] == [
        {"kind": "missing", "file": "DebrisFill.0003.exr",
         "detail": "the ledger records this frame but the file is gone"}]


def test_a_reordered_or_edited_ledger_fails(filled, capsys):
    lines = (filled / "ledger.jsonl").read_text().splitlines()
    (filled / "ledger.jsonl").write_text("\n".join([lines[1], lines[0], lines[2]]) + "\n")
    code, output = _verify(filled, capsys)
    assert code == 1 and "chain:" in output and "out of order" in output

    edited = json.loads(lines[1])
    edited["record"]["generated_share"] = 0.0  # under-declaring the generated share
    (filled / "ledger.jsonl").write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    code, output = _verify(filled, capsys)
    assert code == 1 and "chain: DebrisFill.0002.exr" in output and "was changed" in output


def test_an_unrecorded_frame_fails_and_a_resumed_job_verifies(filled, small_shot, capsys):
    shutil.copy(filled / "DebrisFill.0001.exr", filled / "DebrisFill.0009.exr")
    code, output = _verify(filled, capsys)
    assert code == 1 and "unrecorded: DebrisFill.0009.exr" in output
    (filled / "DebrisFill.0009.exr").unlink()
    # a crash lost frame 2: the job writes it again under a new entry, and the folder verifies
    (filled / "DebrisFill.0002.exr").unlink()
    assert run_job(_fill(small_shot, filled))["computed"] == [2]
    entries = ledger.read(filled)
    assert len(entries) == 4 and entries[3]["prev"] == entries[2]["hash"]
    assert entries[3]["record"]["pixels_sha256"] == entries[1]["record"]["pixels_sha256"]
    assert _verify(filled, capsys)[0] == 0


def test_verify_finds_every_ledger_under_a_cache_folder(small_shot, tmp_path, capsys):
    cache = tmp_path / "cache"
    for seed in (0, 1):
        job = _fill(small_shot, "")
        job.cache_dir, job.seed = str(cache), seed
        run_job(job)
    assert len(ledger.ledger_folders(cache)) == 2
    assert _verify(cache, capsys)[0] == 0
    next(cache.rglob("DebrisFill.0001.exr")).unlink()
    code, output = _verify(cache, capsys)
    assert code == 1 and output.count("missing: DebrisFill.0001.exr") == 1


def test_verify_of_a_folder_without_frames_fails_clearly(tmp_path, capsys):
    code, output = _verify(tmp_path, capsys)
    assert code == 1 and "no genvfx frames" in output


def test_rapl_counters_are_read_across_a_wrap(tmp_path):
    package = tmp_path / "intel-rapl:0"
    package.mkdir()
    (package / "max_energy_range_uj").write_text("1000000000\n")
    (package / "energy_uj").write_text("999000000\n")
    (tmp_path / "intel-rapl:0:0").mkdir()  # a sub-domain (cores): not counted twice
    (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text("5\n")
    (tmp_path / "intel-rapl:0:0" / "max_energy_range_uj").write_text("10\n")
    meter = energy.EnergyMeter(rapl_root=tmp_path)
    assert meter.method == "CPU: RAPL package counters"
    (package / "energy_uj").write_text("2000000\n")  # wrapped: 1 J to the top, then 2 J
    assert meter.lap().energy_joules == pytest.approx(3.0)


def test_without_counters_the_estimate_is_stated(tmp_path, monkeypatch):
    threads = os.cpu_count()
    default = energy.EnergyMeter(rapl_root=tmp_path / "none")
    assert f"TDP {10 * threads:g} W (default 10 W a thread) / {threads} threads" in default.method
    monkeypatch.setenv("GENVFX_CPU_TDP_WATTS", "120")
    meter = energy.EnergyMeter(rapl_root=tmp_path / "none")
    sum(np.arange(2_000_000) ** 2)  # some CPU work
    usage = meter.lap()
    assert usage.method == f"CPU: estimate, process CPU seconds × TDP 120 W (GENVFX_CPU_TDP_WATTS) / {threads} threads"
    assert usage.cpu_seconds > 0 and usage.energy_joules == pytest.approx(120 / threads * usage.cpu_seconds)
    assert usage.gpu_seconds == 0.0


def _append_many(folder, worker, count):
    for index in range(count):
        ledger.append(folder, {"file": f"W{worker}.{index:04d}.exr", "pixels_sha256": "0" * 64})


def test_writers_in_two_processes_make_one_chain(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(tmp_path, worker, 40)) for worker in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    entries = ledger.read(tmp_path)
    assert len(entries) == 80 and not ledger.check_chain(entries)


def test_nvml_energy_counters_are_read_as_a_delta(monkeypatch, tmp_path):
    """The GPU path without a GPU: NVML's counter (millijoules) as a stand-in module."""
    import sys
    import types

    counter = {"mJ": 5_000_000}
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 1, nvmlDeviceGetHandleByIndex=lambda index: index,
        nvmlDeviceGetName=lambda handle: b"NVIDIA H100", nvmlDeviceGetTotalEnergyConsumption=lambda h: counter["mJ"])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    meter = energy.EnergyMeter(on_gpu=True, rapl_root=tmp_path)
    assert meter.on_gpu and meter.device == "cuda: NVIDIA H100"
    assert meter.method.startswith("GPU: NVML energy counter; CPU: estimate")
    counter["mJ"] += 250_000  # 250 J on the GPU during the frame
    usage = meter.lap()
    assert usage.energy_joules == pytest.approx(250 + usage.cpu_seconds * energy.watts_per_core())
    assert usage.gpu_seconds == usage.wall_seconds > 0
    assert not energy.EnergyMeter(on_gpu=False, rapl_root=tmp_path).on_gpu  # a CPU job reads no GPU


def test_a_damaged_ledger_is_named_and_no_frame_is_chained_to_it(filled, small_shot, capsys):
    # a finished line that is not JSON (edited; a line an append left unfinished is
    # removed by the next run instead: tests/test_disk_full.py)
    text = (filled / "ledger.jsonl").read_text()
    (filled / "ledger.jsonl").write_text(text[:-40] + "\n")
    code, output = _verify(filled, capsys)
    assert code == 1 and "chain: ledger.jsonl" in output and "line 3 is not JSON" in output
    (filled / "DebrisFill.0002.exr").unlink()
    with pytest.raises(GenVFXError, match="ends in a damaged line"):
        run_job(_fill(small_shot, filled))


def test_verify_into_a_closed_pipe_stops_quietly(filled):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "genvfx.cli", "verify", str(filled)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader (head, a pager) went away before the first line
    stderr = child.stderr.read().decode()
    assert child.wait(120) == 1 and "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
