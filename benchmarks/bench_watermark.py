"""What the proxy watermark survives: bit errors of the 32-bit RivaGAN mark after JPEG
compression, crops, downscaling and H.264 MP4 encoding, on scikit-image's photographs at
several proxy sizes; and the cost of embedding and reading, against writing the PNG
proxy itself (the baseline, measured in the same run).

    python benchmarks/bench_watermark.py [--sizes 384x288,640x480,960x540,1920x1080]

A mark counts as recovered when the detector finds it and reads the right ledger tag
(the magic may have one wrong bit, the Hamming-coded tag one corrected bit); the raw
bit errors of the 32 are listed too.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

from genvfx.review import watermark

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
ENTRY = "b9a1c0ffee" + "0" * 54


def _jpeg(rgb, quality):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _crop(rgb, fraction):
    height, width = rgb.shape[:2]
    dy, dx = round(height * fraction / 2), round(width * fraction / 2)
    return rgb[dy:height - dy, dx:width - dx]


def _corner_crop(rgb, fraction):
    height, width = rgb.shape[:2]
    return rgb[round(height * fraction):, round(width * fraction):]


def _half(rgb):
    height, width = rgb.shape[:2]
    return cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def _mp4(rgb, crf):
    """Through an H.264 MP4 at ``crf`` (the proxies' own is 18; 23 is FFmpeg's default, what a
    review tool's re-encode might use)."""
    from genvfx.review import proxies

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        saved, proxies.MP4_CRF = proxies.MP4_CRF, crf
        try:
            written = proxies._write_mp4(path, [rgb, rgb], 24)
        finally:
            proxies.MP4_CRF = saved
        return proxies.read_media(written)[1]


ATTACKS = {
    "none": lambda x: x, "jpeg90": lambda x: _jpeg(x, 90), "jpeg80": lambda x: _jpeg(x, 80),
    "jpeg60": lambda x: _jpeg(x, 60), "jpeg40": lambda x: _jpeg(x, 40),
    "crop10% centre": lambda x: _crop(x, 0.10), "crop10% corner": lambda x: _corner_crop(x, 0.10),
    "crop25% centre": lambda x: _crop(x, 0.25), "crop10%+jpeg80": lambda x: _jpeg(_crop(x, 0.10), 80),
    "half size": _half, "H.264 crf 18": lambda x: _mp4(x, 18), "H.264 crf 23": lambda x: _mp4(x, 23),
    "H.264 crf 28": lambda x: _mp4(x, 28),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="384x288,640x480,960x540,1920x1080")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    expected = np.unpackbits(np.frombuffer(watermark.payload(ENTRY), np.uint8))
    for width, height in sizes:
        recovered = {name: 0 for name in ATTACKS}
        errors = {name: [] for name in ATTACKS}
        embed_s = png_s = read_s = 0.0
        for name in PHOTOS:
            rgb = cv2.resize(getattr(data, name)()[..., :3], (width, height), interpolation=cv2.INTER_AREA)
            started = time.perf_counter()
            Image.fromarray(rgb).save(io.BytesIO(), format="PNG")
            png_s += time.perf_counter() - started
            started = time.perf_counter()
            marked = watermark.embed(rgb, ENTRY)
            embed_s += time.perf_counter() - started
            for attack, apply in ATTACKS.items():
                attacked = apply(marked)
                if attacked.shape[0] * attacked.shape[1] < watermark.MIN_PIXELS:
                    errors[attack].append(-1)
                    continue
                started = time.perf_counter()
                found = watermark.detect([attacked])
                read_s += time.perf_counter() - started
                bits = np.array([int(b) for b in found.bits], np.uint8)
                errors[attack].append(int((bits != expected).sum()))
                recovered[attack] += found.found and found.tag == watermark.tag_of(ENTRY)
        count = len(PHOTOS)
        print(f"\n{width}x{height}: embed {embed_s / count:.3f} s/frame ({embed_s / png_s:.1f}x writing the PNG, "
              f"{png_s / count:.3f} s), read {read_s / count / len(ATTACKS):.3f} s/frame")
        for attack in ATTACKS:
            print(f"  {attack:16} recovered {recovered[attack]}/{count}   bit errors {errors[attack]}")


if __name__ == "__main__":
    main()
