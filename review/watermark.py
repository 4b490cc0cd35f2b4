"""An invisible mark in review proxies, recovered from a file that lost its metadata.

C2PA manifests vanish when a proxy is re-encoded, cropped or screen-grabbed; a mark in
the pixels does not. The mark is 32 bits embedded with RivaGAN (``invisible-watermark``,
which ships its ONNX encoder and decoder): 16 bits say "genvfx" and 16 bits carry the
first 11 bits of the frame's ledger entry hash in an extended Hamming code (one wrong
bit corrected, two detected), so a recovered mark leads back to the ledger. JPEG or
video compression flips a bit or two of the 32 (measured), mostly bits the decoder was
least sure of: one wrong bit anywhere is tolerated, and with the magic exact, two in
the tag when they are its two least certain. An unmarked image passes for marked about
once in 60 000 reads ((17 + 16 + 1) / (65 536 × 32): an exact magic and a tag within
one bit of a code word, or the magic one bit off and an exact code word, or an exact
magic and a code word two doubtful flips away).

Of the methods ``invisible-watermark`` offers, RivaGAN is the one that survived both a
JPEG at quality 80 and a 10 % crop with no bit wrong (measured; see
``benchmarks/bench_watermark.py``); the DCT methods lost 7-25 of the 32 bits to either.
The payload size is RivaGAN's: 32 bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BadInput, GenVFXError
from ..models.runtime import onnx_session

METHOD = "rivaGan"
MAGIC = 0x6776  # "gv"
MIN_PIXELS = 256 * 256
THRESHOLD = 0.52  # invisible-watermark's own for RivaGAN's outputs


@lru_cache(maxsize=1)
def _library():
    """The package's encoder and decoder classes, with RivaGAN's ONNX sessions made by
    genvfx's runtime: on the GPU when there is one, with ``GENVFX_THREADS`` honoured (the
    package's own loader gives no providers, which ONNX Runtime's GPU build refuses)."""
    try:
        from imwatermark import WatermarkDecoder, WatermarkEncoder, rivaGan
    except ImportError as exc:
        raise GenVFXError("dependency", "Watermarking needs the invisible-watermark package",
                          "pip install 'genvfx[provenance]'") from exc
    folder = Path(rivaGan.__file__).parent
    rivaGan.RivaWatermark.encoder = onnx_session(folder / "rivagan_encoder.onnx").session
    rivaGan.RivaWatermark.decoder = onnx_session(folder / "rivagan_decoder.onnx").session
    return WatermarkEncoder, WatermarkDecoder


TAG_BITS = 11
DATA_POSITIONS = [i for i in range(1, 16) if i & (i - 1)]  # not a power of two: not a parity bit


def tag_of(entry_hash: str) -> int:
    """The first 11 bits of a ledger entry hash: what a mark carries of it."""
    return int(entry_hash[:3], 16) >> 1


def _bits(value: int, count: int) -> np.ndarray:
    return np.array([(value >> (count - 1 - i)) & 1 for i in range(count)], np.uint8)


def _value(bits) -> int:
    return int("".join(str(int(b)) for b in bits), 2)


def hamming_encode(tag: int) -> np.ndarray:
    """11 data bits as a 16-bit extended Hamming code word: positions 1-15 hold the code
    (parity at 1, 2, 4, 8), position 0 the parity of all."""
    word = np.zeros(16, np.uint8)
    word[DATA_POSITIONS] = _bits(tag, TAG_BITS)
    for parity in (1, 2, 4, 8):
        word[parity] = word[[i for i in range(1, 16) if i & parity and i != parity]].sum() % 2
    word[0] = word[1:].sum() % 2
    return word


def hamming_decode(word: np.ndarray) -> int | None:
    """The 11 data bits of a code word with at most one bit wrong; None for two or more."""
    word = np.array(word, np.uint8)
    syndrome = 0
    for position in range(1, 16):
        if word[position]:
            syndrome ^= position
    parity_ok = word.sum() % 2 == 0
    if syndrome and parity_ok:
        return None  # two bits wrong
    if syndrome:
        word[syndrome] ^= 1
    return _value(word[DATA_POSITIONS])


def payload(entry_hash: str) -> bytes:
    """The 4 bytes a frame carries: the magic and the code word of its entry's tag."""
    bits = np.concatenate([_bits(MAGIC, 16), hamming_encode(tag_of(entry_hash))])
    return np.packbits(bits).tobytes()


def _check_size(rgb: np.ndarray) -> None:
    if rgb.shape[0] * rgb.shape[1] < MIN_PIXELS:
        raise BadInput(f"A {rgb.shape[1]}×{rgb.shape[0]} proxy is too small to carry a watermark",
                       "Watermark proxies of at least 256×256 pixels (use a larger --scale).")


def embed(rgb: np.ndarray, entry_hash: str) -> np.ndarray:
    """``rgb`` (H×W×3 uint8, sRGB) with the mark of ``entry_hash`` in it."""
    encoder_class, _ = _library()
    _check_size(rgb)
    encoder = encoder_class()
    encoder.set_watermark("bytes", payload(entry_hash))
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    return np.ascontiguousarray(encoder.encode(bgr, METHOD)[..., ::-1])


def read_soft(rgb: np.ndarray) -> np.ndarray:
    """RivaGAN's 32 outputs for an image (marked or not): each near 1 for a one bit and
    near 0 for a zero bit; how near says how sure the decoder is. (The package's own
    decoder gives only the bits; the decoder is run here as it runs it.)"""
    _library()
    from imwatermark.rivaGan import RivaWatermark

    _check_size(rgb)
    bgr = np.ascontiguousarray(rgb[..., ::-1], dtype=np.float32) / 127.5 - 1.0
    frame = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None, :, None])  # batch, channel, time, H, W
    return np.asarray(RivaWatermark.decoder.run(None, {"frame": frame})[0][0], np.float32)


def read_bits(rgb: np.ndarray) -> np.ndarray:
    """The 32 bits RivaGAN reads from an image, at the package's own threshold."""
    return (read_soft(rgb) > THRESHOLD).astype(np.uint8)


@dataclass
class Detection:
    found: bool
    tag: int | None  # the first 11 bits of the ledger entry hash, when found and readable
    frames_read: int
    bits: str

    def describe(self) -> str:
        if not self.found:
            return f"no genvfx watermark found ({self.frames_read} frame(s) read)"
        if self.tag is None:
            return f"genvfx watermark found, its ledger tag unreadable ({self.frames_read} frame(s) read)"
        return (f"genvfx watermark found: ledger entry tag {self.tag:03x} (the first 11 bits of the entry's hash; "
                f"{self.frames_read} frame(s) read)")


def _decode_bits(bits: np.ndarray) -> tuple[bool, int | None]:
    """(found, tag) of 32 bits, with at most one wrong bit in all: the magic exact and the
    tag corrected, or one wrong bit in the magic and the tag exact."""
    magic_errors = int((bits[:16] != _bits(MAGIC, 16)).sum())
    tag = hamming_decode(bits[16:])
    if tag is None or magic_errors > 1:
        return False, None
    if magic_errors == 1 and not np.array_equal(hamming_encode(tag), bits[16:]):
        return False, None
    return True, tag


def _decode(soft: np.ndarray) -> tuple[bool, int | None]:
    """(found, tag) of RivaGAN's outputs: the bits as read; else, with the magic exact,
    the tag with its two least certain bits flipped when that makes an exact code word
    (compression flips the bits the decoder was least sure of, and two wrong tag bits
    defeat the Hamming code alone; a correction on top could land on another tag)."""
    bits = (soft > THRESHOLD).astype(np.uint8)
    found, tag = _decode_bits(bits)
    if found or (bits[:16] != _bits(MAGIC, 16)).any():
        return found, tag
    candidate = bits[16:].copy()
    candidate[np.argsort(np.abs(soft[16:] - THRESHOLD))[:2]] ^= 1
    tag = hamming_decode(candidate)
    if tag is not None and np.array_equal(hamming_encode(tag), candidate):
        return True, tag
    return False, None


def detect(frames: list[np.ndarray]) -> Detection:
    """The mark of one image, or of a clip: each frame is decoded on its own and the tag
    most frames agree on wins; when no frame decodes alone, the frames' outputs are
    averaged and decoded (a clip whose every frame lost a few bits)."""
    if not frames:
        raise BadInput("Nothing to read a watermark from", "Give a PNG, JPEG or MP4 proxy.")
    reads = [read_soft(frame) for frame in frames]
    mean = np.mean(reads, axis=0)
    tags = [tag for found, tag in map(_decode, reads) if found]
    if tags:
        found, tag = True, max(set(tags), key=tags.count)
    else:
        found, tag = _decode(mean)
    return Detection(found, tag, len(frames), "".join(map(str, (mean > THRESHOLD).astype(np.uint8))))
