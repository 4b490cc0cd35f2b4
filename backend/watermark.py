"""An invisible mark in review proxies, recovered from a file that lost its metadata.

C2PA manifests vanish when a proxy is re-encoded, cropped or screen-grabbed; a mark in
the pixels does not. The mark is 32 bits embedded with RivaGAN (``invisible-watermark``,
which ships its ONNX encoder and decoder): 16 bits say "genvfx" and 16 bits carry the
first 11 bits of the frame's ledger entry hash in an extended Hamming code (one wrong
bit corrected, two detected), so a recovered mark leads back to the ledger. JPEG or
video compression flips a bit or two of the 32 (measured); one wrong bit anywhere is
tolerated. An unmarked image passes for marked about once in 64 000 reads
((17 + 16) / (65 536 × 32): an exact magic and a tag within one bit of a code word, or
the magic one bit off and an exact code word).

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

METHOD = "rivaGan"
MAGIC = 0x6776  # "gv"
MIN_PIXELS = 256 * 256


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
    from ..models.runtime import onnx_session

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


def read_bits(rgb: np.ndarray) -> np.ndarray:
    """The 32 bits RivaGAN reads from an image (marked or not)."""
    _, decoder_class = _library()
    _check_size(rgb)
    decoded = decoder_class("bytes", 32).decode(np.ascontiguousarray(rgb[..., ::-1]), METHOD)
    return np.unpackbits(np.frombuffer(decoded, np.uint8))


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


def _decode(bits: np.ndarray) -> tuple[bool, int | None]:
    """(found, tag) of 32 bits read, with at most one wrong bit in all: the magic exact
    and the tag corrected, or one wrong bit in the magic and the tag exact."""
    magic_errors = int((bits[:16] != _bits(MAGIC, 16)).sum())
    tag = hamming_decode(bits[16:])
    if tag is None or magic_errors > 1:
        return False, None
    if magic_errors == 1 and not np.array_equal(hamming_encode(tag), bits[16:]):
        return False, None
    return True, tag


def detect(frames: list[np.ndarray]) -> Detection:
    """The mark of one image, or of a clip: each frame is decoded on its own and the tag
    most frames agree on wins; when no frame decodes alone, their bits are voted on (a
    clip whose every frame lost a few bits). A clip passes for marked when any of its
    frames does, so reading 24 frames of an unmarked clip errs about once in 2 600."""
    if not frames:
        raise BadInput("Nothing to read a watermark from", "Give a PNG, JPEG or MP4 proxy.")
    reads = [read_bits(frame) for frame in frames]
    bits = (np.mean(reads, axis=0) > 0.5).astype(np.uint8)
    tags = [tag for found, tag in map(_decode, reads) if found]
    if tags:
        found, tag = True, max(set(tags), key=tags.count)
    else:
        found, tag = _decode(bits)
    return Detection(found, tag, len(frames), "".join(map(str, bits)))
