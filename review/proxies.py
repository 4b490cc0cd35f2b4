"""Review proxies: the Combined pass of every frame a ledger records, display-encoded as
PNG frames or one H.264 MP4 per shot (PyAV), optionally with an invisible watermark and signed C2PA
Content Credentials.

A PNG frame's watermark carries its own ledger entry; an MP4 carries its shot's last
entry (the chain's tip, which vouches for every frame before it), the same in every
frame so that a detector can vote over the clip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from ..backend.files import layers
from ..backend.provenance import ledger
from ..errors import BadInput, GenVFXError
from ..models.colour import to_display_8bit
from ..version import __version__
from . import watermark as marks

FORMATS = ("png", "mp4")
MOVIE_FRAMES_READ = 24
MP4_CRF = 18


@dataclass
class Shot:
    folder: Path
    entries: list[dict]  # the current entry of each frame, by frame

    @property
    def layer(self) -> str:
        return self.entries[0]["record"]["file"].split(".")[0]


def shots(root: str | os.PathLike) -> list[Shot]:
    found = []
    for folder in ledger.ledger_folders(root):
        if (folder / ledger.LEDGER_NAME).is_file():
            entries = [e for e in ledger.by_frame(ledger.read(folder)) if (folder / e["record"]["file"]).is_file()]
            if entries:
                found.append(Shot(folder, entries))
    if not found:
        raise BadInput(f"No genvfx frames with a ledger under {root}",
                       "Give the output folder of a genvfx job, or a cache folder.")
    return found


def display_frame(path: Path, scale: float) -> np.ndarray:
    """A frame's Combined pass as 8-bit sRGB (even width and height, for video codecs)."""
    import cv2

    combined = next(iter(layers.read_layers(path).values()))["Combined"]
    height, width = combined.shape[:2]
    size = (max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2))
    if size != (width, height):
        combined = cv2.resize(np.ascontiguousarray(combined), size, interpolation=cv2.INTER_AREA)
    return to_display_8bit(combined)


def claim(records: list[dict], entry_hash: str) -> dict:
    """What a proxy's Content Credentials say about it (one frame's record, or a clip's)."""
    first = records[0]
    return {
        "software": f"genvfx {__version__}",
        "generator": first["generator"],
        "model": first["model"],
        "model_sha256": first["model_sha256"],
        "licence": first["licence"],
        "seed": first["seed"],
        "first_frame": records[0]["frame"],
        "last_frame": records[-1]["frame"],
        "generated_share": float(np.mean([r["generated_share"] for r in records])),
        "ledger_entry": entry_hash,
    }


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    from PIL import Image

    temporary = _temporary(path)
    Image.fromarray(rgb).save(temporary, format="PNG")
    return temporary


def _pyav():
    try:
        import av
    except ImportError as exc:
        raise GenVFXError("dependency", "MP4 proxies need PyAV (FFmpeg with H.264)",
                          "pip install 'genvfx[provenance]', or write PNG proxies (--format png).") from exc
    return av


def _write_mp4(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """H.264 (yuv420p, CRF 18: review quality, and the watermark comes through whole) in
    an MP4 that plays in browsers and review tools."""
    av = _pyav()
    temporary = _temporary(path)
    with av.open(str(temporary), "w", format="mp4") as movie:
        stream = movie.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(MP4_CRF), "preset": "medium"}
        for rgb in frames:
            movie.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        movie.mux(stream.encode())
    return temporary


def _finish(temporary: Path, path: Path, signer, records: list[dict], entry_hash: str, title: str) -> Path:
    """Sign ``temporary`` into ``path`` (or just move it there)."""
    try:
        if signer is not None:
            signer.sign(temporary, path, claim(records, entry_hash), title)
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def make_proxies(root: str | os.PathLike, out: str | os.PathLike, fmt: str = "png", scale: float = 1.0,
                 watermark: bool = False, signer=None, fps: float = 24.0,
                 on_frame: Callable[[int, int], None] = lambda done, total: None) -> list[Path]:
    """Write the proxies of every shot under ``root`` into ``out`` (a folder per shot when
    there are several); returns the files written."""
    if fmt not in FORMATS:
        raise BadInput(f"Unknown proxy format '{fmt}'", "Use png or mp4.")
    if not 0.05 <= scale <= 1.0:
        raise BadInput(f"Proxy scale {scale} is out of range", "Give a scale between 0.05 and 1.")
    found = shots(root)
    out = Path(out)
    total, done, written = sum(len(shot.entries) for shot in found), 0, []
    for shot in found:
        folder = out if len(found) == 1 else out / shot.folder.relative_to(Path(root).resolve()).as_posix().replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        tip = shot.entries[-1]["hash"]
        frames = []
        for entry in shot.entries:
            rgb = display_frame(shot.folder / entry["record"]["file"], scale)
            if watermark:
                rgb = marks.embed(rgb, entry["hash"] if fmt == "png" else tip)
            if fmt == "png":
                name = Path(entry["record"]["file"]).with_suffix(".png").name
                written.append(_finish(_write_png(folder / name, rgb), folder / name, signer, [entry["record"]],
                                       entry["hash"], f"{name} (genvfx review proxy)"))
            else:
                frames.append(rgb)
            done += 1
            on_frame(done, total)
        if frames:
            path = folder / f"{shot.layer}.mp4"
            records = [entry["record"] for entry in shot.entries]
            written.append(_finish(_write_mp4(path, frames, fps), path, signer, records, tip,
                                   f"{path.name} (genvfx review proxy)"))
    return written


def read_media(path: str | os.PathLike) -> list[np.ndarray]:
    """The frames of a proxy to look for a watermark in: an image, or up to
    :data:`MOVIE_FRAMES_READ` frames spread over a movie (8-bit RGB)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"File not found: {path}", "Check the path.")
    if path.suffix.lower() in (".mp4", ".mov", ".m4v", ".mkv", ".webm"):
        av = _pyav()
        try:
            with av.open(str(path)) as movie:
                frames = [frame.to_ndarray(format="rgb24") for frame in movie.decode(video=0)]
        except av.FFmpegError as exc:
            raise BadInput(f"Cannot read {path.name} as a movie ({exc})", "Give a PNG, JPEG or MP4 file.") from exc
        if not frames:
            raise BadInput(f"{path.name} holds no video frames", "Give a PNG, JPEG or MP4 file.")
        picks = np.linspace(0, len(frames) - 1, min(len(frames), MOVIE_FRAMES_READ)).round().astype(int)
        return [frames[index] for index in sorted(set(picks))]
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return [np.asarray(image.convert("RGB"))]
    except (UnidentifiedImageError, OSError) as exc:
        raise BadInput(f"Cannot read {path.name} as an image ({exc})", "Give a PNG, JPEG or MP4 file.") from exc


def entries_tagged(root: str | os.PathLike, tag: int) -> list[tuple[Path, dict]]:
    """Ledger entries under ``root`` whose hash carries ``tag`` (a detected mark)."""
    return [(folder, entry) for folder in ledger.ledger_folders(root) if (folder / ledger.LEDGER_NAME).is_file()
            for entry in ledger.read(folder) if marks.tag_of(entry["hash"]) == tag]
