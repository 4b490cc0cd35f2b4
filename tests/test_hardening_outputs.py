"""Outputs that must not depend on where or how a job ran, and runs that leave nothing behind:
EXR data windows, the generated share of a fill, CPU thread counts, stray files."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from genvfx.backend.files import images, layers
from genvfx.backend.generators import fill as fill_generator
from genvfx.backend.process import protocol
from genvfx.backend.process.client import WorkerClient
from genvfx.backend.provenance import ledger
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.errors import GenVFXError
from genvfx.models.fill import fill

sys.path.insert(0, str(Path(__file__).resolve().parent))  # photos, when run as a script
from photos import photo_linear, rect_mask, write_plate  # noqa: E402


# ------------------------------------------------------------------ EXR data windows
def write_windowed_exr(path, rgba: np.ndarray, data_min: tuple[int, int], display_size: tuple[int, int],
                       prefix: str = "") -> None:
    """``rgba`` stored as the data window at ``data_min`` (x, y) inside a display window of
    ``display_size`` (width, height) at (0, 0), as Nuke writes a cropped or overscanned plate."""
    import OpenEXR

    height, width = rgba.shape[:2]
    (x, y), (display_w, display_h) = data_min, display_size
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
              "dataWindow": (np.array([x, y], np.int32), np.array([x + width - 1, y + height - 1], np.int32)),
              "displayWindow": (np.array([0, 0], np.int32), np.array([display_w - 1, display_h - 1], np.int32))}
    channels = {f"{prefix}{name}": np.ascontiguousarray(rgba[..., i]) for i, name in enumerate("RGBA")}
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(path))


def ramp(height: int, width: int) -> np.ndarray:
    """RGBA whose every pixel is distinct and none is zero."""
    values = np.arange(1, height * width * 4 + 1, dtype=np.float32).reshape(height, width, 4)
    return values / values.max()


def test_a_data_window_inside_the_display_window_keeps_size_and_positions(tmp_path):
    data = ramp(4, 6)
    write_windowed_exr(tmp_path / "cropped.exr", data, (2, 3), (10, 8))
    for image in (images.read_image(tmp_path / "cropped.exr"),
                  layers.read_layers(tmp_path / "cropped.exr")[""]["Combined"]):
        assert image.shape == (8, 10, 4)  # the display window is the image
        assert np.array_equal(image[3:7, 2:8], data)  # each pixel where it was
        outside = np.ones((8, 10), bool)
        outside[3:7, 2:8] = False
        assert not image[outside].any()  # transparent black where the file has no data


def test_overscan_outside_the_display_window_is_left_out(tmp_path):
    data = ramp(10, 14)
    write_windowed_exr(tmp_path / "overscan.exr", data, (-2, -1), (10, 8), prefix="Plate.Combined.")
    image = layers.read_layers(tmp_path / "overscan.exr")["Plate"]["Combined"]
    assert image.shape == (8, 10, 4)
    assert np.array_equal(image, data[1:9, 2:12])


def test_a_mask_with_a_data_window_lines_up_with_its_plate(tmp_path):
    mask = np.zeros((8, 10, 4), np.float32)
    mask[4:6, 5:8] = 1.0
    write_windowed_exr(tmp_path / "mask.exr", mask[3:7, 2:9], (2, 3), (10, 8))
    assert np.array_equal(images.read_mask(tmp_path / "mask.exr"), mask[..., 0])


# ------------------------------------------------------------ the generated share of a fill
def write_value_exr(path, value: np.ndarray) -> None:
    """A single-channel EXR (a float mask, no 8-bit rounding)."""
    layers.write_channels(path, {"Y": np.ascontiguousarray(value, dtype=np.float32)})


@pytest.fixture
def shot(tmp_path):
    photo = photo_linear("astronaut", (168, 96))
    folder = tmp_path / "shot"
    folder.mkdir()
    write_plate(folder / "plate.0001.exr", np.ascontiguousarray(photo[:, 4:132]))
    return folder


def fill_share(shot, mask: np.ndarray, cache) -> tuple[float, np.ndarray]:
    write_value_exr(shot / "mask.0001.exr", mask)
    result = run_job(Job(generator="fill", frames=[1], cache_dir=str(cache),
                         inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.exr")}))
    record = ledger.read(Path(result["output_dir"]))[-1]["record"]
    combined = layers.read_layers(result["pattern"].replace("####", "0001"))["DebrisFill"]["Combined"]
    return record["generated_share"], combined


def test_a_half_mask_fills_nothing_and_records_nothing_generated(shot, tmp_path):
    plate = layers.read_layers(shot / "plate.0001.exr")[""]["Combined"]
    share, combined = fill_share(shot, np.full((96, 128), 0.5, np.float32), tmp_path / "cache")
    assert np.array_equal(combined, plate)
    assert share == 0.0


def test_the_share_is_what_the_fill_changed(shot, tmp_path):
    plate = layers.read_layers(shot / "plate.0001.exr")[""]["Combined"]
    mask = np.full((96, 128), 0.5, np.float32)  # half everywhere (kept) ...
    mask[30:60, 40:80] = 1.0                     # ... and a hole of 30 × 40 pixels
    mask[70:80, 10:30] = 0.51                    # ... and a softer one of 10 × 20, above one half
    share, combined = fill_share(shot, mask, tmp_path / "cache")
    changed = (combined != plate).any(axis=-1)
    assert share == pytest.approx((30 * 40 + 10 * 20) / (96 * 128), abs=1e-6)
    assert not changed[mask <= 0.5].any() and changed[mask > 0.5].mean() > 0.9
    # the rule is the spec's, applied to the passes the model returns
    passes = fill(plate, mask, seed=0, device="cpu")
    assert fill_generator.SPEC.generated_share(passes) == pytest.approx(share, abs=1e-6)


# ------------------------------------------------------------------------ CPU threads
def thread_probe(out: str) -> None:
    """(run in a subprocess with GENVFX_THREADS set) the embedded Debris Fill and Relight
    estimator on a small real photograph, saved to ``out``."""
    from genvfx.models.relight.adapters.base import embedded_estimator

    photo = photo_linear("astronaut", (168, 96))
    plate = np.ascontiguousarray(photo[:, 4:132])
    filled = fill(plate, rect_mask(96, 128, (0.35, 0.4, 0.7, 0.65)), seed=5, device="cpu")["Combined"]
    estimate = embedded_estimator("cpu")(plate)
    np.savez(out, fill=filled, normal=estimate.normal, depth=estimate.depth, confidence=estimate.confidence)


def test_the_number_of_cpu_threads_does_not_change_a_pixel(tmp_path):
    results = {}
    for threads in (1, 2, 3):  # 2 changed pow's and upsampling's bits; 3 also the matrix products'
        out = tmp_path / f"threads{threads}.npz"
        run = subprocess.run([sys.executable, __file__, "thread-probe", str(out)], capture_output=True, text=True,
                             timeout=300, env={**os.environ, "GENVFX_THREADS": str(threads)})
        assert run.returncode == 0, run.stderr
        results[threads] = dict(np.load(out))
    for threads in (2, 3):
        for name, value in results[1].items():
            difference = np.abs(results[threads][name] - value).max()
            assert np.array_equal(results[threads][name], value), f"{name}: {difference:g} with {threads} threads"


# ---------------------------------------------------------------------- stray files
def test_a_cli_run_leaves_no_log_in_tmp_and_nothing_in_home(tmp_path, shot):
    temp, home = tmp_path / "tmp", tmp_path / "home"
    temp.mkdir()
    home.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "HOME": str(home)}
    env.pop("XDG_CACHE_HOME", None)
    run = subprocess.run([sys.executable, "-m", "genvfx.cli", "relight", "--plate", str(shot / "plate.####.exr"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "Relight.0001.exr").is_file()
    assert not list(temp.glob("genvfx-worker-*.log"))
    assert not list(home.rglob("*")), "the run wrote under HOME"  # e.g. ONNX Runtime's device id


def test_an_onnx_session_writes_nothing_under_home(tmp_path):
    probe = ("from genvfx.models.runtime import onnx_session\n"
             "from genvfx.models.registry import find_model\n"
             "onnx_session(find_model('genvfx.relight.normalnet', slot='relight').path('normalnet.onnx'), 'cpu')\n")
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("ORT_DISABLE_TELEMETRY", None)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert not list(tmp_path.rglob("*"))


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_clean_worker_removes_its_log(temp_dir):
    client = WorkerClient()
    try:
        assert client.ping()["type"] == "pong"
        assert client.log_path.parent == temp_dir and client.log_path.is_file()
    finally:
        client.close()
    assert not list(temp_dir.iterdir())


def test_a_crashed_worker_keeps_its_log_and_the_error_names_it(temp_dir, shot, tmp_path):
    write_value_exr(shot / "mask.0001.exr", rect_mask(96, 128, (0.35, 0.4, 0.7, 0.65)))
    job = Job(generator="fill", frames=[1], cache_dir=str(tmp_path / "cache"),
              inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.exr")})
    client = WorkerClient()
    try:
        job_id = client.submit(job)
        started = client._wait_for(lambda event: event["type"] in ("progress", *protocol.FINAL_EVENTS), 120)
        assert started["type"] == "progress", started
        client.kill()
        final = client._wait_for(lambda e: e.get("job_id") == job_id and e["type"] in protocol.FINAL_EVENTS, 30)
    finally:
        client.close()
    error = GenVFXError.from_dict(final)
    assert error.kind == "worker" and str(client.log_path) in error.hint
    assert client.log_path.is_file()
    client.log_path.unlink()


def test_a_second_client_keeps_its_own_log(temp_dir):
    first, second = WorkerClient(), WorkerClient()
    try:
        first.ping()
        second.ping()
        assert first.log_path != second.log_path
        first.close()
        assert second.log_path.is_file()  # the first one's clean close leaves the other's log alone
    finally:
        first.close()
        second.close()
    assert not list(temp_dir.iterdir())


if __name__ == "__main__" and sys.argv[1:2] == ["thread-probe"]:
    thread_probe(sys.argv[2])
