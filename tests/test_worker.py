"""The worker and its client: jobs, cache, cancel, crashes and bad input, on real pixels."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from genvfx.backend.files import layers
from genvfx.backend.process import protocol
from genvfx.backend.process.client import WorkerClient
from genvfx.errors import BadInput, GenVFXError, JobCancelled
from genvfx.backend.run.jobs import Job

from photos import photo_linear, rect_mask, write_mask_png, write_plate


@pytest.fixture(scope="module")
def client():
    client = WorkerClient()
    yield client
    client.close()


def fill_job(shot, cache, **overrides) -> Job:
    settings = dict(generator="fill", frames=[1, 2, 3], cache_dir=str(cache),
                    inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.png")})
    settings.update(overrides)
    return Job(**settings)


def tree_digest(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_protocol_round_trip():
    job = Job(generator="fill", inputs={"plate": "/p.####.exr", "mask": "/m.png"}, frames=[1, 2], seed=3)
    message = protocol.decode(protocol.encode(protocol.run("j1", job.to_dict())))
    assert Job.from_dict(message["job"]) == job
    with pytest.raises(ValueError):
        protocol.encode({"value": float("nan")})
    assert protocol.overall_fraction(protocol.progress("j", 2, 5, 10, 1, 4)) == pytest.approx(0.375)


def test_job_key_follows_content_not_paths(small_shot, tmp_path):
    job = fill_job(small_shot, tmp_path)
    key = job.key()
    assert key == fill_job(small_shot, tmp_path / "elsewhere").key()
    assert key != fill_job(small_shot, tmp_path, seed=1).key()
    assert key != fill_job(small_shot, tmp_path, proxy=0.5).key()
    write_mask_png(small_shot / "mask.0002.png", rect_mask(96, 128, (0.1, 0.1, 0.3, 0.3)))
    assert key != fill_job(small_shot, tmp_path).key()


def test_job_runs_caches_and_records_provenance(client, small_shot, tmp_path):
    before = tree_digest(small_shot)
    job = fill_job(small_shot, tmp_path / "cache", seed=4)
    events = []
    result = client.run(job, on_event=events.append)
    assert result["computed"] == [1, 2, 3]
    assert result["energy_kwh"] > 0 and result["energy_method"].startswith(("CPU:", "GPU:"))
    assert result["output_dir"].startswith(str(tmp_path / "cache" / "fill"))
    kinds = [event["type"] for event in events]
    assert "progress" in kinds and kinds.count("frame_done") == 3
    frame = layers.read_layers(result["pattern"].replace("####", "0002"))["DebrisFill"]
    assert {"Combined", "Fill", "Mask"} <= set(frame)
    plate = layers.read_layers(small_shot / "plate.0002.exr")[""]["Combined"]
    outside = frame["Mask"] <= 0.5
    assert np.array_equal(frame["Combined"][outside], plate[outside])
    assert np.abs(frame["Combined"][~outside] - plate[~outside]).mean() > 0.01  # the astronaut is gone
    header = layers.read_header(result["pattern"].replace("####", "0001"))
    assert header["genvfx.generator"] == "fill" and header["genvfx.seed"] == "4"
    assert set(json.loads(header["genvfx.inputs"])) == {"plate", "mask"}
    ledger = (Path(result["output_dir"]) / "ledger.jsonl").read_text().splitlines()
    assert len(ledger) == 3
    assert tree_digest(small_shot) == before  # inputs untouched

    started = time.perf_counter()
    again = client.run(fill_job(small_shot, tmp_path / "cache", seed=4))
    assert again["computed"] == [] and time.perf_counter() - started < 2.0
    # a crash left frame 2 missing: only frame 2 is computed again
    (tmp_path / "cache" / "fill" / again["key"] / "DebrisFill.0002.exr").unlink()
    assert client.run(fill_job(small_shot, tmp_path / "cache", seed=4))["computed"] == [2]


def stop_on_failure(event: dict) -> dict:
    """Fail the test at once on a final event that is not expected (instead of waiting on)."""
    assert event["type"] not in ("error", "job_done"), event
    return event


def test_cancel_mid_sequence_keeps_finished_frames(client, small_shot, tmp_path):
    job = fill_job(small_shot, tmp_path, seed=11)
    job_id = client.submit(job)
    client._wait_for(lambda e: stop_on_failure(e)["type"] == "frame_done", 120)
    client.cancel(job_id)
    final = client._wait_for(lambda e: e.get("job_id") == job_id and e["type"] in protocol.FINAL_EVENTS, 120)
    assert final["type"] == "cancelled"
    written = sorted(p.name for p in (tmp_path / "fill").rglob("*.exr"))
    assert "DebrisFill.0001.exr" in written and "DebrisFill.0003.exr" not in written
    assert not list(tmp_path.rglob("*.partial"))


def test_killed_worker_fails_the_job_and_the_next_job_restarts_it(small_shot, tmp_path):
    client = WorkerClient()
    try:
        job_id = client.submit(fill_job(small_shot, tmp_path, seed=21))
        client._wait_for(lambda e: stop_on_failure(e)["type"] == "progress", 120)
        client.kill()
        final = client._wait_for(lambda e: e.get("job_id") == job_id and e["type"] in protocol.FINAL_EVENTS, 30)
        assert final["type"] == "error" and final["kind"] == "worker"
        assert "stopped unexpectedly" in final["message"]
        assert not list(tmp_path.rglob("*.partial"))
        result = client.run(fill_job(small_shot, tmp_path, seed=21, frames=[1]))
        assert result["computed"] == [1]
    finally:
        client.close()


def expect_error(client, job, kind: str, pattern: str, frame=None):
    with pytest.raises(GenVFXError, match=pattern) as info:
        client.run(job)
    assert info.value.kind == kind
    assert info.value.hint
    if frame is not None:
        assert info.value.frame == frame
    return info.value


def test_bad_inputs_give_clear_errors(client, small_shot, tmp_path):
    cache = tmp_path / "cache"
    # a missing frame in the sequence
    expect_error(client, fill_job(small_shot, cache, frames=[1, 2, 3, 4]), "bad_input", "frame 4 is missing", 4)
    # mask and plate of different sizes
    write_mask_png(tmp_path / "small_mask.png", rect_mask(48, 64, (0.2, 0.2, 0.5, 0.5)))
    expect_error(client, fill_job(small_shot, cache, inputs={"plate": str(small_shot / "plate.####.exr"),
                                                          "mask": str(tmp_path / "small_mask.png")}),
                 "bad_input", "128×96 but the mask is 64×48", 1)
    # a truncated EXR
    broken = tmp_path / "broken.exr"
    broken.write_bytes((small_shot / "plate.0001.exr").read_bytes()[:900])
    expect_error(client, fill_job(small_shot, cache, frames=[1], inputs={"plate": str(broken), "mask": str(small_shot / "mask.0001.png")}),
                 "bad_input", "Cannot read EXR", 1)
    # NaN pixels
    plate = photo_linear("astronaut", (128, 96))
    plate[10, 10, 1] = np.nan
    write_plate(tmp_path / "nan.exr", plate)
    expect_error(client, fill_job(small_shot, cache, frames=[1], inputs={"plate": str(tmp_path / "nan.exr"), "mask": str(small_shot / "mask.0001.png")}),
                 "bad_input", "NaN or infinite", 1)
    # a mask covering everything
    write_mask_png(tmp_path / "full.png", np.ones((96, 128), np.float32))
    expect_error(client, fill_job(small_shot, cache, frames=[1], inputs={"plate": str(small_shot / "plate.0001.exr"), "mask": str(tmp_path / "full.png")}),
                 "bad_input", "nothing to sample from")
    # an unknown model
    expect_error(client, fill_job(small_shot, cache, model="no.such.model"), "model", "Unknown model 'no.such.model'")
    assert not (small_shot / "DebrisFill.0001.exr").exists()


def test_empty_mask_returns_the_plate(client, small_shot, tmp_path):
    write_mask_png(tmp_path / "empty.png", np.zeros((96, 128), np.float32))
    result = client.run(fill_job(small_shot, tmp_path, frames=[1], inputs={"plate": str(small_shot / "plate.0001.exr"), "mask": str(tmp_path / "empty.png")}))
    combined = layers.read_layers(result["pattern"].replace("####", "0001"))["DebrisFill"]["Combined"]
    assert np.array_equal(combined, layers.read_layers(small_shot / "plate.0001.exr")[""]["Combined"])


def test_cli_fill_writes_to_out_and_fails_with_one_line(small_shot, tmp_path, capsys):
    from genvfx.cli import main

    out = tmp_path / "out"
    assert main(["fill", "--plate", str(small_shot / "plate.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                 "--out", str(out), "--frames", "2-3", "--proxy", "0.5"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["DebrisFill.0002.exr", "DebrisFill.0003.exr", "ledger.jsonl"]
    assert layers.read_layers(out / "DebrisFill.0002.exr")["DebrisFill"]["Combined"].shape == (48, 64, 4)
    assert main(["fill", "--plate", str(small_shot / "plate.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                 "--out", str(out), "--frames", "5-6"]) == 2
    assert "frame 5 is missing" in capsys.readouterr().err
    assert main(["fill", "--plate", str(small_shot / "plate.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                 "--out", str(tmp_path / "prompted"), "--frames", "2", "--prompt", "bricks"]) == 2
    assert "The embedded default takes no prompt" in capsys.readouterr().err


def test_models_stay_loaded_between_jobs_until_released(small_shot, tmp_path):
    from genvfx.backend.run.executor import run_job
    from genvfx.backend.run.loaded_models import LoadedModels

    loaded = LoadedModels()
    run_job(fill_job(small_shot, tmp_path, frames=[1]), loaded=loaded)
    model = next(iter(loaded._models.values()))
    run_job(fill_job(small_shot, tmp_path, frames=[2]), loaded=loaded)
    assert len(loaded) == 1 and next(iter(loaded._models.values())) is model
    loaded.release()
    assert len(loaded) == 0


def test_genvfx_threads_caps_the_cpu_threads_and_refuses_nonsense():
    import os
    import subprocess
    import sys

    probe = ("import torch; from genvfx.models.runtime import torch_device; "
             "torch_device('cpu'); print(torch.get_num_threads())")
    capped = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "GENVFX_THREADS": "1"})
    assert capped.stdout.strip() == "1", capped.stderr
    wrong = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "GENVFX_THREADS": "two"})
    assert wrong.returncode != 0 and "GENVFX_THREADS must be a whole number" in wrong.stderr


def test_cli_refuses_frames_no_file_name_holds_before_building_a_list(small_shot, tmp_path, capsys):
    from genvfx.cli import main

    for frames, message in (("1-10000000000", "beyond 9999"), ("10000", "beyond 9999")):
        assert main(["fill", "--plate", str(small_shot / "plate.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                     "--out", str(tmp_path / "out"), "--frames", frames]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
