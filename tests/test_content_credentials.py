"""Content Credentials on review proxies: signed offline with a throwaway studio CA,
read back, trusted only through that CA, and broken by tampering."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("c2pa")

from genvfx import __version__
from genvfx.review.content_credentials import AI_SOURCE_TYPES, CredentialSigner, read_credentials, sign_file
from genvfx.errors import BadInput, GenVFXError
from throwaway_ca import make_ca_and_signer


def _claim(share: float) -> dict:
    return {"generator": "fill", "model": "genvfx.fill.patchmatch", "model_sha256": "5e" * 32,
            "licence": "GPL-3.0-or-later", "generated_share": share, "ledger_entry": "a1" * 32,
            "frame": 3, "software": f"genvfx {__version__}"}


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(chain, key, ca) of a throwaway studio CA, made once: key generation is the slow part."""
    return make_ca_and_signer(tmp_path_factory.mktemp("studio"))


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Path:
    """A real photograph as a 320×240 PNG review proxy."""
    import skimage.data

    path = tmp_path_factory.mktemp("proxy") / "proxy.png"
    Image.fromarray(skimage.data.astronaut()).resize((320, 240), Image.Resampling.LANCZOS).save(path)
    return path


@pytest.fixture(scope="module")
def signed(studio, proxy, tmp_path_factory) -> Path:
    """The proxy signed as a composite (12 % generated)."""
    chain, key, _ = studio
    destination = tmp_path_factory.mktemp("signed") / "proxy.png"
    sign_file(proxy, destination, chain, key, _claim(0.12), "shot010 frame 3")
    return destination


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _flip_idat_bytes(png: bytes) -> bytes:
    """The PNG with a few bytes inverted in the middle of its first IDAT chunk, every
    other chunk (the manifest included) left alone."""
    position = 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        if kind == b"IDAT":
            middle = position + 8 + length // 2
            flipped = bytes(byte ^ 0xFF for byte in png[middle:middle + 4])
            return png[:middle] + flipped + png[middle + 4:]
        position += 12 + length
    raise AssertionError("no IDAT chunk")


@pytest.mark.parametrize("share, source_type", [(0.12, "composite"), (1.0, "generated")])
def test_signed_proxy_keeps_its_pixels_and_declares_ai(studio, proxy, tmp_path, share, source_type):
    chain, key, ca = studio
    signed_path = tmp_path / "signed.png"
    sign_file(proxy, signed_path, chain, key, _claim(share), "shot010 frame 3")

    assert np.array_equal(_pixels(signed_path), _pixels(proxy))
    credentials = read_credentials(signed_path, trust_anchors=ca)
    assert credentials["digital_source_type"] == AI_SOURCE_TYPES[source_type]
    assert credentials["genvfx"] == _claim(share)
    assert credentials["title"] == "shot010 frame 3"
    assert credentials["claim_generator"] == f"genvfx/{__version__}"
    assert credentials["signer"] == "genvfx test studio"
    assert credentials["trusted"] is True
    assert "signingCredential.trusted" in credentials["validation"]


def test_trust_comes_only_from_the_given_anchor(signed):
    credentials = read_credentials(signed)
    assert credentials["trusted"] is False
    assert "signingCredential.untrusted" in credentials["validation"]
    assert credentials["genvfx"]["ledger_entry"] == "a1" * 32


def test_reencoded_pixels_carry_no_credentials(signed, tmp_path):
    pixels = _pixels(signed).copy()
    pixels[100:104, 150:154] = 255
    reencoded = tmp_path / "reencoded.png"
    Image.fromarray(pixels).save(reencoded)
    with pytest.raises(BadInput, match="no Content Credentials"):
        read_credentials(reencoded)


def test_flipped_pixel_data_fails_validation(studio, signed, tmp_path):
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(_flip_idat_bytes(signed.read_bytes()))
    credentials = read_credentials(tampered, trust_anchors=studio[2])
    assert credentials["trusted"] is False
    assert any("mismatch" in code for code in credentials["validation"])


def test_unsigned_file_is_bad_input(proxy):
    with pytest.raises(BadInput, match="no Content Credentials"):
        read_credentials(proxy)


def test_ca_certificate_is_refused_as_signer(studio):
    ca = studio[2]
    with pytest.raises(BadInput, match="ca.pem") as raised:
        CredentialSigner(ca, ca.with_name("ca.key"))
    assert "end-entity" in raised.value.hint


def test_missing_key_names_the_file(studio, tmp_path):
    with pytest.raises(BadInput, match="missing.key"):
        CredentialSigner(studio[0], tmp_path / "missing.key")


def test_one_signer_signs_a_sequence_in_place(studio, proxy, tmp_path):
    chain, key, ca = studio
    frames = [tmp_path / f"proxy.{frame:04d}.png" for frame in (1, 2, 3)]
    with CredentialSigner(chain, key) as signer:
        for frame, path in enumerate(frames, start=1):
            path.write_bytes(proxy.read_bytes())
            signer.sign(path, path, {**_claim(1.0), "frame": frame}, path.name)
    assert [read_credentials(path, ca)["genvfx"]["frame"] for path in frames] == [1, 2, 3]
    assert sorted(tmp_path.iterdir()) == frames  # no temporary file left behind


def test_destination_must_keep_the_format(studio, proxy, tmp_path):
    with pytest.raises(BadInput, match="different formats"):
        sign_file(proxy, tmp_path / "proxy.jpg", studio[0], studio[1], _claim(1.0), "proxy")
    assert list(tmp_path.iterdir()) == []


def test_missing_library_says_how_to_install(studio, monkeypatch):
    monkeypatch.setitem(sys.modules, "c2pa", None)
    with pytest.raises(GenVFXError, match="c2pa-python") as raised:
        CredentialSigner(studio[0], studio[1])
    assert raised.value.kind == "dependency"
    assert "genvfx[provenance]" in raised.value.hint
