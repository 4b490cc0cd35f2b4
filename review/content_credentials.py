"""C2PA Content Credentials for review proxies.

A review proxy (a PNG, JPEG or MP4 that leaves the studio for a client or a festival)
carries a C2PA manifest, signed with the studio's own certificate and key, that says
what made it: a ``c2pa.created`` action declaring AI-generated content in the IPTC
vocabulary that Content Credentials viewers show ("trained algorithmic media", or a
composite with it when only part of the frame was generated), and an
``org.genvfx.provenance`` assertion tying the file to the generator, model and ledger
entry that made it (see :mod:`genvfx.backend.provenance.ledger`).

Everything happens offline: a render farm has no network, so there is no timestamp
authority (the signature is dated by the certificate's validity alone), no OCSP, no
remote manifests and no online trust list. Trust is whatever CA the caller names with
``trust_anchors``, typically the studio's own root.

The ``c2pa`` module (``pip install 'genvfx[provenance]'``) is imported only when a
function here is called, so that the rest of genvfx works without it.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import BadInput, GenVFXError
from ..version import __version__

AI_SOURCE_TYPES = {
    "generated": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    "composite": "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
}

PROVENANCE_LABEL = "org.genvfx.provenance"
# A frame counts as wholly generated from this share up: a fill over the full frame
# leaves a few untouched edge pixels that should not make it a "composite".
_WHOLLY_GENERATED = 0.999
_ACTIONS_LABELS = ("c2pa.actions.v2", "c2pa.actions")
_CURVES = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
_MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".mp4": "video/mp4"}

_CERTIFICATE_HINT = (
    "A C2PA signing certificate must be an end-entity certificate (not a CA) with the "
    "digitalSignature key usage and an extended key usage such as emailProtection or "
    "documentSigning, valid today, issued by a CA (not self-signed), and matching the key; "
    "give the chain as PEM with the signing certificate first, then its intermediates.")
_KEY_HINT = "Give an unencrypted PEM private key: EC P-256, P-384 or P-521, Ed25519 or RSA."
_NO_MANIFEST_HINT = ("Was it signed? Re-encoding, resizing or converting a signed file drops its "
                     "manifest, so sign the file that is delivered, last.")


def _library() -> ModuleType:
    """The ``c2pa`` module, or an error that says how to install it: the dependency is
    optional, since only studios that sign their proxies need it."""
    try:
        import c2pa
    except ImportError as error:
        raise GenVFXError("dependency", f"Content Credentials need the c2pa-python package ({error})",
                          "pip install 'genvfx[provenance]'") from error
    return c2pa


def _context(trust_anchors: str | None = None):
    """A c2pa Context that never touches the network: no remote manifests, no OCSP, no
    host allowed at all. No thumbnail either: the proxy is itself the picture, and a
    thumbnail would double a small proxy's size and cost a JPEG encode per frame. With
    ``trust_anchors`` (PEM text) those replace any built-in anchors, so "trusted" means
    "chains to the studio's CA"."""
    settings: dict[str, Any] = {
        "core": {"allowed_network_hosts": []},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if trust_anchors is not None:
        settings["trust"] = {"trust_anchors": trust_anchors}
    return _library().Context.from_dict(settings)


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"Cannot read the {what} {path}: {error}",
                       f"Give the {what} as a PEM file.") from error


def _algorithm(key: Any) -> str | None:
    """The C2PA algorithm for a private key, None for a kind C2PA has no algorithm for.

    It follows from the key so that a studio never has to name it; RSA gets PSS, the
    only RSA padding C2PA allows."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _CURVES.get(key.curve.name)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    return None


def _signing_key(private_key: Path) -> tuple[str, bytes]:
    """The key's C2PA algorithm, and the key as unencrypted PKCS#8 PEM: the C2PA
    library reads PKCS#8 only, so re-encoding lets a traditional ``BEGIN EC/RSA PRIVATE
    KEY`` file work too."""
    from cryptography.hazmat.primitives import serialization

    text = _read_text(private_key, "private key")
    try:
        key = serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except (TypeError, ValueError) as error:
        raise BadInput(f"Cannot load the private key {private_key}: {error}", _KEY_HINT) from error
    algorithm = _algorithm(key)
    if algorithm is None:
        raise BadInput(f"The private key {private_key} is of a kind C2PA cannot sign with", _KEY_HINT)
    return algorithm, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())


def _source_type(claim: dict) -> str:
    try:
        share = float(claim["generated_share"])
    except (KeyError, TypeError, ValueError) as error:
        raise BadInput(f"The claim needs a numeric generated_share (got {claim.get('generated_share')!r})") from error
    return AI_SOURCE_TYPES["generated" if share >= _WHOLLY_GENERATED else "composite"]


def _manifest(claim: dict, title: str) -> dict:
    """The manifest definition: genvfx as claim generator and software agent, one
    ``c2pa.created`` action with the IPTC source type, and the genvfx claim itself."""
    genvfx = {"name": "genvfx", "version": __version__}
    created = {"action": "c2pa.created", "digitalSourceType": _source_type(claim), "softwareAgent": genvfx}
    return {
        "claim_generator_info": [genvfx],
        "title": title,
        "assertions": [
            {"label": _ACTIONS_LABELS[0], "data": {"actions": [created]}},
            {"label": PROVENANCE_LABEL, "data": claim},
        ],
    }


def _mime_type(path: Path) -> str:
    try:
        return _MIME_TYPES[Path(path).suffix.lower()]
    except KeyError:
        raise BadInput(f"Cannot sign {path}: Content Credentials are written into PNG, JPEG or MP4 only",
                       "Sign the review proxy (.png, .jpg, .mp4), not the EXR.") from None


def _format(source: Path, destination: Path) -> str:
    """The MIME type both files' suffixes name: the library trusts the suffix when it
    reads a file back, so a PNG written as ``.jpg`` would be misread."""
    mime_type = _mime_type(source)
    if _mime_type(destination) != mime_type:
        raise BadInput(f"Cannot sign {source} into {destination}: the suffixes name different formats",
                       "Signing does not convert; give the destination the source's suffix.")
    return mime_type


def _probe_image() -> bytes:
    """A 1×1 PNG, signed once when a signer is made (see :meth:`CredentialSigner._check`)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    return buffer.getvalue()


class CredentialSigner:
    """Signs any number of files with one studio credential.

    The key is parsed, the chain loaded and the offline context built once, so a
    sequence of proxies costs one manifest and one signature per file. The C2PA library
    only judges a certificate when it first signs, so the constructor signs a 1×1 PNG in
    memory: a refused certificate is reported before a long render, naming the file."""

    def __init__(self, certificate: Path, private_key: Path):
        c2pa = _library()
        self._certificate = Path(certificate)
        algorithm, key = _signing_key(Path(private_key))
        chain = _read_text(self._certificate, "certificate").encode("utf-8")
        try:
            self._signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(algorithm, chain, key, None))
        except c2pa.C2paError as error:
            raise self._refused(error) from error
        self._context = _context()
        self._check()

    def _refused(self, error: Exception) -> BadInput:
        return BadInput(f"The C2PA library refuses the certificate {self._certificate} "
                        f"with its key: {error}", _CERTIFICATE_HINT)

    def _check(self) -> None:
        c2pa = _library()
        try:
            self._sign_stream(io.BytesIO(_probe_image()), io.BytesIO(), "image/png",
                              _manifest({"generated_share": 1.0}, "probe"))
        except c2pa.C2paError as error:
            self.close()
            raise self._refused(error) from error

    def _sign_stream(self, source, destination, mime_type: str, manifest: dict) -> None:
        with _library().Builder(manifest, context=self._context) as builder:
            builder.sign(self._signer, mime_type, source, destination)

    def sign(self, source: Path, destination: Path, claim: dict, title: str) -> None:
        """Write ``destination``: ``source`` with a signed manifest embedded.

        The file appears whole or not at all (a temporary file beside it, then
        ``os.replace``), so a reviewer never picks up a half-written proxy; signing in
        place (``destination == source``) works for the same reason."""
        c2pa = _library()
        source, destination = Path(source), Path(destination)
        mime_type, manifest = _format(source, destination), _manifest(claim, title)
        temporary = destination.with_name(f".{destination.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
        try:
            with open(source, "rb") as reading, open(temporary, "x+b") as writing:
                self._sign_stream(reading, writing, mime_type, manifest)
            os.replace(temporary, destination)
        except (OSError, c2pa.C2paError) as error:
            raise BadInput(f"Cannot sign {source} into {destination}: {error}",
                           "Check that it is a valid PNG, JPEG or MP4 and that the folder is writable.") from error
        finally:
            temporary.unlink(missing_ok=True)  # gone already once replaced

    def close(self) -> None:
        """Free the native signer and context now rather than at garbage collection."""
        for resource in (getattr(self, "_signer", None), getattr(self, "_context", None)):
            if resource is not None:
                resource.close()

    def __enter__(self) -> CredentialSigner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def sign_file(source: Path, destination: Path, certificate: Path, private_key: Path,
              claim: dict, title: str) -> None:
    """Sign one file; for a sequence, make one :class:`CredentialSigner` and reuse it."""
    with CredentialSigner(certificate, private_key) as signer:
        signer.sign(source, destination, claim, title)


def _load_store(path: Path, trust_anchors: Path | None) -> dict:
    """The manifest store as the library reports it, validated offline."""
    c2pa = _library()
    anchors = _read_text(trust_anchors, "trust anchors") if trust_anchors is not None else None
    try:
        context = _context(anchors)
    except c2pa.C2paError as error:
        raise BadInput(f"Cannot use the trust anchors {trust_anchors}: {error}",
                       "Give the studio's root CA certificate(s) as PEM.") from error
    try:
        with c2pa.Reader(str(path), context=context) as reader:
            return json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound as error:
        raise BadInput(f"{path} has no Content Credentials", _NO_MANIFEST_HINT) from error
    except c2pa.C2paError as error:
        raise BadInput(f"Cannot read Content Credentials from {path}: {error}",
                       "Check that the file exists and is a PNG, JPEG or MP4.") from error
    finally:
        context.close()


def _assertion(manifest: dict, labels: tuple[str, ...]) -> Any:
    return next((item.get("data") for item in manifest.get("assertions", []) if item.get("label") in labels), None)


def _created_source_type(manifest: dict) -> str | None:
    actions = (_assertion(manifest, _ACTIONS_LABELS) or {}).get("actions", [])
    return next((action.get("digitalSourceType") for action in actions if action.get("action") == "c2pa.created"), None)


def _claim_generator(manifest: dict) -> str | None:
    """``name/version`` of the first claim generator (v2 claims have only the structured
    form); the plain ``claim_generator`` string of a v1 claim otherwise."""
    info = manifest.get("claim_generator_info") or []
    if info:
        return "/".join(str(info[0][key]) for key in ("name", "version") if info[0].get(key))
    return manifest.get("claim_generator")


def _validation(store: dict) -> tuple[list[str], list[str]]:
    """(all codes, failure codes) for the active manifest, each code once, successes
    first; the flat ``validation_status`` (failures only) when no results are given."""
    results = (store.get("validation_results") or {}).get("activeManifest")
    if results is None:
        failures = [status["code"] for status in store.get("validation_status", [])]
        return list(dict.fromkeys(failures)), failures
    codes = {kind: [status["code"] for status in results.get(kind, [])]
             for kind in ("success", "informational", "failure")}
    everything = codes["success"] + codes["informational"] + codes["failure"]
    return list(dict.fromkeys(everything)), codes["failure"]


def read_credentials(path: Path, trust_anchors: Path | None = None) -> dict:
    """What a file's Content Credentials say, checked offline.

    ``trusted`` is True only when ``trust_anchors`` (a PEM file of root certificates)
    was given, the signing certificate chains to one of them and no check failed: a
    valid signature by an unknown certificate proves nothing about who signed."""
    store = _load_store(Path(path), trust_anchors)
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    signature = manifest.get("signature_info") or {}
    codes, failures = _validation(store)
    return {
        "title": manifest.get("title"),
        "claim_generator": _claim_generator(manifest),
        "digital_source_type": _created_source_type(manifest),
        "genvfx": _assertion(manifest, (PROVENANCE_LABEL,)),
        "signer": signature.get("issuer") or signature.get("common_name"),
        "validation": codes,
        "trusted": (trust_anchors is not None and not failures
                    and store.get("validation_state") == "Trusted"),
    }
