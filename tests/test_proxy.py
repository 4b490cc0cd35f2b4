"""`genvfx proxy`: review proxies, the invisible watermark's round trip (JPEG 80, a 10 %
crop) and C2PA Content Credentials signed and read back offline."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from genvfx import cli
from genvfx.backend.provenance import ledger
from genvfx.review.content_credentials import AI_SOURCE_TYPES, read_credentials
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job
from genvfx.review.proxies import display_frame, read_media
from genvfx.review.watermark import hamming_decode, hamming_encode, tag_of
from photos import photo_linear, rect_mask, write_mask_png, write_plate
from throwaway_ca import make_ca_and_signer


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """Two frames of a photograph (384×288, large enough for the mark) filled under a mask."""
    shot = tmp_path_factory.mktemp("shot")
    photo = photo_linear("astronaut", (392, 288))
    for frame in (1, 2):
        write_plate(shot / f"plate.{frame:04d}.exr", np.ascontiguousarray(photo[:, 4 * frame:4 * frame + 384]))
        write_mask_png(shot / f"mask.{frame:04d}.png", rect_mask(288, 384, (0.3, 0.35, 0.55, 0.6)))
    out = tmp_path_factory.mktemp("filled")
    with pytest.MonkeyPatch.context() as patch:
        # Each ledger entry's time is part of its hash, and so of the mark's 32 bits. Pinned, so the
        # marks do not change with the clock: about one mark in 26 loses a bit too many to JPEG 80
        # or H.264 on this small frame (the README's watermark figures).
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        run_job(Job(generator="fill", frames=[1, 2], device="cpu", output_dir_override=str(out),
                    inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.png")},
                    params={"temporal": "off"}))
    return out


def _detect(path, capsys, *extra) -> tuple[int, str]:
    code = cli.main(["proxy", "--detect", str(path), *extra])
    return code, capsys.readouterr().out


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_watermark_survives_jpeg_80_and_a_10_percent_crop(filled, tmp_path, capsys):
    assert cli.main(["proxy", str(filled), "--out", str(tmp_path / "proxies"), "--watermark"]) == 0
    entries = ledger.read(filled)
    marked = np.asarray(Image.open(tmp_path / "proxies" / "DebrisFill.0002.png"))
    plain = display_frame(filled / "DebrisFill.0002.exr", 1.0)
    assert marked.shape == plain.shape == (288, 384, 3)
    assert cv2.PSNR(marked, plain) > 36  # invisible: a change of about 1 level in 255

    code, output = _detect(tmp_path / "proxies" / "DebrisFill.0002.png", capsys, "--ledger", str(filled))
    assert code == 0 and f"ledger entry tag {tag_of(entries[1]['hash']):03x}" in output
    assert "DebrisFill.0002.exr" in output and "DebrisFill.0001.exr" not in output

    height, width = marked.shape[:2]
    attacks = {"jpeg80.jpg": _jpeg(marked, 80),
               "crop10.png": marked[height // 20: height - height // 20, width // 20: width - width // 20]}
    for name, attacked in attacks.items():
        Image.fromarray(np.ascontiguousarray(attacked)).save(tmp_path / name)
        code, output = _detect(tmp_path / name, capsys)
        assert code == 0 and f"ledger entry tag {tag_of(entries[1]['hash']):03x}" in output, name

    Image.fromarray(plain).save(tmp_path / "unmarked.png")
    code, output = _detect(tmp_path / "unmarked.png", capsys)
    assert code == 1 and "no genvfx watermark" in output


def test_signed_proxies_carry_ai_content_credentials_offline(filled, tmp_path, capsys):
    chain, key, ca = make_ca_and_signer(tmp_path / "pki")
    proxies = tmp_path / "signed"
    assert cli.main(["proxy", str(filled), "--out", str(proxies), "--sign", str(chain), str(key)]) == 0
    entries = ledger.read(filled)
    for entry in entries:
        path = proxies / entry["record"]["file"].replace(".exr", ".png")
        info = read_credentials(path, trust_anchors=ca)
        assert info["trusted"], info["validation"]
        assert info["digital_source_type"] == AI_SOURCE_TYPES["composite"]  # a fill: part of the frame
        assert info["genvfx"]["ledger_entry"] == entry["hash"]
        assert info["genvfx"]["generated_share"] == pytest.approx(entry["record"]["generated_share"])
        assert info["genvfx"]["model"] == "genvfx.fill.patchmatch" and info["genvfx"]["licence"]
        # the signed proxy is the frame: its pixels are the display-encoded Combined pass
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")),
                              display_frame(filled / entry["record"]["file"], 1.0))
    code, output = _detect(proxies / "DebrisFill.0001.png", capsys, "--trust-anchors", str(ca))
    assert code == 1 and "no genvfx watermark" in output  # signed, not marked
    assert "Content Credentials: signed by" in output and ", trusted;" in output


def test_a_watermarked_signed_movie_proxy(filled, tmp_path, capsys):
    chain, key, ca = make_ca_and_signer(tmp_path / "pki")
    out = tmp_path / "movie"
    assert cli.main(["proxy", str(filled), "--out", str(out), "--format", "mp4", "--watermark",
                     "--sign", str(chain), str(key)]) == 0
    movie = out / "DebrisFill.mp4"
    frames = read_media(movie)
    assert len(frames) == 2 and frames[0].shape == (288, 384, 3)
    assert cv2.PSNR(frames[1], display_frame(filled / "DebrisFill.0002.exr", 1.0)) > 32  # H.264 at CRF 18
    tip = ledger.read(filled)[-1]["hash"]
    info = read_credentials(movie, trust_anchors=ca)
    assert info["trusted"] and info["genvfx"]["ledger_entry"] == tip and (info["genvfx"]["first_frame"], info["genvfx"]["last_frame"]) == (1, 2)
    code, output = _detect(movie, capsys)
    assert code == 0 and f"ledger entry tag {tag_of(tip):03x}" in output and "2 frame(s) read" in output, output


def test_proxy_errors_are_clear(filled, tmp_path, capsys):
    chain, key, ca = make_ca_and_signer(tmp_path / "pki")
    assert cli.main(["proxy", str(filled), "--out", str(tmp_path / "p"), "--sign", str(ca), str(tmp_path / "pki" / "ca.key")]) == 2
    assert "certificate" in capsys.readouterr().err
    assert cli.main(["proxy", str(filled), "--out", str(tmp_path / "p"), "--scale", "0.25", "--watermark"]) == 2
    assert "too small to carry a watermark" in capsys.readouterr().err
    assert cli.main(["proxy", str(tmp_path / "pki"), "--out", str(tmp_path / "p")]) == 2
    assert "No genvfx frames" in capsys.readouterr().err


def test_the_mark_corrects_one_wrong_bit_and_refuses_two():
    for tag in (0, 1, 0x5A3, 0x7FF):
        word = hamming_encode(tag)
        assert hamming_decode(word) == tag
        for position in range(16):
            flipped = word.copy()
            flipped[position] ^= 1
            assert hamming_decode(flipped) == tag
        twice = word.copy()
        twice[[3, 9]] ^= 1
        assert hamming_decode(twice) is None


def test_detection_tolerates_one_wrong_bit_and_two_doubtful_tag_bits(monkeypatch):
    from genvfx.review import watermark

    entry = "5a3" + "0" * 61
    sent = np.unpackbits(np.frombuffer(watermark.payload(entry), np.uint8))
    cases = (([], [], True), ([3], [], True), ([20], [], True), ([3, 20], [], False), ([3, 5], [], False),
             ([20, 25], [], False),  # two sure wrong tag bits: refused
             ([20, 25], [20, 25], True),  # the same two, the decoder unsure of them: Chase-decoded
             ([3, 20], [3, 20], False))  # the magic is never guessed at
    for flipped, doubtful, expected in cases:
        soft = np.where(sent == 1, 0.9, 0.1).astype(np.float32)
        soft[flipped] = 1.0 - soft[flipped]
        soft[doubtful] = np.where(soft[doubtful] > 0.5, 0.56, 0.48)
        monkeypatch.setattr(watermark, "read_soft", lambda frame, soft=soft: soft)
        found = watermark.detect([np.zeros((256, 256, 3), np.uint8)])
        assert found.found == expected, (flipped, doubtful)
        assert found.tag == (tag_of(entry) if expected else None)

def test_proxies_of_a_cache_given_by_a_relative_path(filled, tmp_path, monkeypatch):
    monkeypatch.chdir(filled.parent)
    assert cli.main(["proxy", filled.name, "--out", str(tmp_path / "relative"), "--scale", "0.5"]) == 0
    written = sorted(p.name for p in (tmp_path / "relative").iterdir())
    assert written == ["DebrisFill.0001.png", "DebrisFill.0002.png"]
    assert Image.open(tmp_path / "relative" / written[0]).size == (192, 144)
