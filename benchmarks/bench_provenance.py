"""What provenance costs per frame, against writing the frame's EXR (the baseline,
measured in the same run): the pixel hash, the ledger append (locked, fsynced), the
record in the header, verifying a frame (read + hash), and then the report and PNG
proxies (plain and signed) of the whole folder. Prints figures; asserts nothing.

    python benchmarks/bench_provenance.py [--size 1920x1080] [--frames 12]

The frames are Debris Fill-shaped layers (Combined, Fill, Mask) of a photograph
(scikit-image's astronaut, resized), written through the same functions the executor uses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from throwaway_ca import make_ca_and_signer  # noqa: E402

from genvfx.backend.files import layers
from genvfx.backend.provenance import ledger
from genvfx.review import proxies  # noqa: E402
from genvfx.review.content_credentials import CredentialSigner  # noqa: E402
from genvfx.backend.provenance.record import channels_sha256, frame_header  # noqa: E402
from genvfx.review.report import build_report  # noqa: E402
from genvfx.review.report_html import render  # noqa: E402


def _frame(size, frame):
    width, height = size
    photo = cv2.resize(data.astronaut(), (width + 64, height), interpolation=cv2.INTER_AREA)
    rgb = (photo[:, frame * 4:frame * 4 + width].astype(np.float32) / 255.0) ** 2.2
    mask = np.zeros((height, width), np.float32)
    mask[height // 3: height // 2, width // 3: width // 2] = 1.0
    combined = np.dstack([rgb, np.ones((height, width), np.float32)])
    return {"Combined": combined, "Fill": combined * mask[..., None], "Mask": mask}


def _record(name, frame, pixels):
    return {"file": name, "pixels_sha256": pixels, "generator": "fill", "version": "bench", "model": "bench",
            "model_sha256": "0" * 64, "licence": "GPL-3.0-or-later", "params": {}, "seed": 0, "frame": frame,
            "inputs": {}, "input_files": {}, "key": "bench", "generated_share": 0.028, "generated_basis": "mask",
            "device": "cpu", "wall_seconds": 1.0, "cpu_seconds": 1.0, "gpu_seconds": 0.0, "energy_joules": 10.0,
            "energy_kwh": 10.0 / 3.6e6, "energy_method": "bench", "created": "2026-01-01T00:00:00Z"}


def _timed(times, name, call):
    started = time.perf_counter()
    value = call()
    times.setdefault(name, []).append(time.perf_counter() - started)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        plain = folder / "plain"
        for frame in range(1, args.frames + 1):
            channels = layers.exr_channels("DebrisFill", _frame(size, frame))
            name = f"DebrisFill.{frame:04d}.exr"
            _timed(times, "EXR write, no provenance (baseline)", lambda: layers.write_channels(plain / name, channels))
            pixels = _timed(times, "pixel hash (sha256 of the channels)", lambda: channels_sha256(channels))
            entry = _timed(times, "ledger append (locked, fsynced)",
                           lambda: ledger.append(folder, _record(name, frame, pixels)))
            header = frame_header(entry["record"], entry["hash"])
            _timed(times, "EXR write with the record in its header",
                   lambda: layers.write_channels(folder / name, channels, header))
        check = _timed(times, "verify the folder", lambda: ledger.check_folder(folder))
        assert not check.problems, check.problems
        report = _timed(times, "report (json + html, thumbnails)", lambda: render(build_report(folder)))
        _timed(times, "PNG proxies of the folder", lambda: proxies.make_proxies(folder, folder / "proxies"))
        chain, key, _ = make_ca_and_signer(folder / "pki")
        with CredentialSigner(chain, key) as signer:
            _timed(times, "signed (C2PA) PNG proxies of the folder",
                   lambda: proxies.make_proxies(folder, folder / "signed", signer=signer))
    baseline = statistics.median(times["EXR write, no provenance (baseline)"])
    print(f"{size[0]}x{size[1]}, {args.frames} frames; baseline: writing one frame's EXR = {baseline:.3f} s "
          f"(report length {len(report) / 1e3:.0f} kB)")
    for name, values in times.items():
        per_frame = statistics.median(values) if len(values) > 1 else values[0] / args.frames
        print(f"  {name:44} {per_frame:8.4f} s/frame   {per_frame / baseline:6.2f} x baseline")


if __name__ == "__main__":
    main()
