"""Studio signatures: proof that a folder's ledger and frames were written by a holder of
the studio's private key, not merely that they agree with each other.

The ledger's hash chain (:mod:`.ledger`) shows a folder is *consistent*: anyone who can
edit the folder can also recompute every hash. A signature adds *authenticity*: the job's
writer signs with an Ed25519 key that editors of the folder do not hold, and
``genvfx verify --trust KEY.pub.pem`` checks it against the public key you trust.

Two signatures are kept, both over content that does not depend on where the folder lies
(a folder copied or moved still verifies):

- ``ledger.sig`` beside ``ledger.jsonl`` (JSON): the number of entries, the last entry's
  hash (the *tip*, which through the chain commits to every entry before it) and the file
  it records, the public key and the signature. It is replaced, atomically, after every
  append, so lines added, edited or removed after signing are caught, and named.
- each frame's EXR header: ``genvfx.signature`` over its ledger entry's hash and
  ``genvfx.signature.key``, the public key; so the entry a frame answers to, and the frame
  whose record was changed, are named even when the whole chain was recomputed.

The private key is a PEM file (PKCS#8, as ``openssl genpkey -algorithm ed25519 -out
KEY.pem`` or ``genvfx verify --new-key KEY.pem`` write it; an unencrypted OpenSSH ed25519
key works too), given as the job's ``sign_key`` (the add-on's Signing Key preference,
``--sign-key``) or ``GENVFX_SIGNING_KEY`` (a path, or the PEM text itself for CI
secrets). It never enters a job's key, its record or its output.

``cryptography`` is imported only when a key is used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import BadInput
from ..files.layers import partial_path

SIGNATURE_NAME = "ledger.sig"
ENV_KEY = "GENVFX_SIGNING_KEY"
HEADER_SIGNATURE = "genvfx.signature"
HEADER_SIGNATURE_KEY = "genvfx.signature.key"
SIGNATURE_HEADERS = (HEADER_SIGNATURE, HEADER_SIGNATURE_KEY)
TIP_FORMAT = "genvfx.ledger.tip/1"
ENTRY_FORMAT = "genvfx.ledger.entry/1"
NEW_KEY_HINT = ("Make a key with 'genvfx verify --new-key KEY.pem' (or 'openssl genpkey -algorithm ed25519 "
                "-out KEY.pem'; its public key: 'openssl pkey -in KEY.pem -pubout -out KEY.pub.pem').")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (ValueError, TypeError):
        return b""


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint(public_raw: bytes) -> str:
    """A short name of a public key: ``ed25519:`` and the first 128 bits of its sha256."""
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:32]


def tip_payload(entries: int, tip: str, tip_file: str) -> dict:
    """What ``ledger.sig`` signs: the entry count, the tip's hash and the file it records."""
    return {"format": TIP_FORMAT, "entries": int(entries), "tip": str(tip), "file": str(tip_file)}


def entry_payload(entry_hash: str) -> dict:
    """What a frame's header signature signs: its ledger entry's hash."""
    return {"format": ENTRY_FORMAT, "entry": str(entry_hash)}


def _raw_public(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _verify(public_raw: bytes, signature: bytes, payload: dict) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, _canonical(payload))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- keys -----------------------------------------------------------------------------

class Signer:
    """An Ed25519 private key, signing ledger tips and frame entries."""

    def __init__(self, private_key, source: str = ""):
        self._key = private_key
        self.source = source  # where the key came from, for messages (never its content)
        self.public_raw = _raw_public(private_key.public_key())
        self.fingerprint = fingerprint(self.public_raw)

    def _sign(self, payload: dict) -> str:
        return _b64(self._key.sign(_canonical(payload)))

    def entry_header(self, entry_hash: str) -> dict[str, str]:
        """A frame's header attributes signing its ledger entry."""
        return {HEADER_SIGNATURE: self._sign(entry_payload(entry_hash)), HEADER_SIGNATURE_KEY: _b64(self.public_raw)}

    def tip_signature(self, entries: int, tip: str, tip_file: str) -> dict:
        """The content of ``ledger.sig`` for a ledger of ``entries`` entries ending in ``tip``."""
        payload = tip_payload(entries, tip, tip_file)
        return {**payload, "key": self.fingerprint, "public_key": _b64(self.public_raw),
                "signature": self._sign(payload)}

    def sign_folder(self, folder: str | os.PathLike, entries: int, tip: str, tip_file: str) -> None:
        """Replace ``folder``'s ``ledger.sig`` (atomically) with a signature of its tip."""
        write_signature(folder, self.tip_signature(entries, tip, tip_file))

    def signed(self, header: dict, entry_hash: str) -> bool:
        """Whether ``header`` carries this key's valid signature of ``entry_hash``."""
        status, public_raw = entry_signature(header, entry_hash)
        return status == "valid" and public_raw == self.public_raw


def _key_file_text(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"The {what} {path} does not exist", NEW_KEY_HINT) from None
    except OSError as exc:
        raise BadInput(f"Cannot read the {what} {path}: {exc.strerror}", "Check the file's permissions.") from None


def _load_private(data: bytes, source: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    where = source or "the key in GENVFX_SIGNING_KEY"
    load = (serialization.load_ssh_private_key if b"OPENSSH PRIVATE KEY" in data
            else serialization.load_pem_private_key)
    try:
        key = load(data, password=None)
    except TypeError:  # encrypted: a worker cannot ask for a pass phrase
        raise BadInput(f"The signing key {where} is encrypted",
                       "Give an unencrypted key, kept readable only by the accounts that generate "
                       "(chmod 600).") from None
    except Exception as exc:  # noqa: BLE001 - cryptography raises ValueError and its own kinds
        if "PUBLIC KEY" in data.decode("utf-8", "replace"):
            raise BadInput(f"{where} is a public key, not a signing key",
                           "Sign with the private key; the public key is what 'genvfx verify --trust' takes.") from None
        raise BadInput(f"Cannot read the signing key {where}: not a PEM private key ({type(exc).__name__})",
                       NEW_KEY_HINT) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput(f"The signing key {where} is not an Ed25519 key", "genvfx signs with Ed25519. " + NEW_KEY_HINT)
    return key


def load_signer(path: str | os.PathLike) -> Signer:
    path = Path(path).expanduser()
    return Signer(_load_private(_key_file_text(path, "signing key"), str(path)), str(path))


def signer_for(sign_key: str = "") -> Signer | None:
    """The job's signer: the key file ``sign_key``, else ``GENVFX_SIGNING_KEY`` (a path, or
    the PEM text itself); None when neither is set (the folder is then left unsigned)."""
    if sign_key:
        return load_signer(sign_key)
    value = os.environ.get(ENV_KEY, "").strip()
    if not value:
        return None
    if value.startswith("-----BEGIN"):
        return Signer(_load_private(value.encode("utf-8"), ""), ENV_KEY)
    return load_signer(value)


@dataclass(frozen=True)
class TrustedKey:
    public_raw: bytes
    fingerprint: str
    source: str = ""


def load_trusted(path: str | os.PathLike) -> TrustedKey:
    """A public key to trust: a PEM public key file, or an OpenSSH ``ssh-ed25519`` line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    path = Path(path).expanduser()
    data = _key_file_text(path, "public key")
    if b"PRIVATE KEY" in data:
        raise BadInput(f"{path} is a private key: --trust takes the public key",
                       "Give KEY.pub.pem (written beside the key by 'genvfx verify --new-key'), or make it with "
                       "'openssl pkey -in KEY.pem -pubout -out KEY.pub.pem'; keep the private key off "
                       "the machines that only check.")
    try:
        key = (serialization.load_ssh_public_key(data.strip()) if data.lstrip().startswith(b"ssh-")
               else serialization.load_pem_public_key(data))
    except Exception as exc:  # noqa: BLE001 - cryptography raises ValueError and its own kinds
        raise BadInput(f"Cannot read the public key {path} ({type(exc).__name__})",
                       "Give a PEM public key (-----BEGIN PUBLIC KEY-----) or an ssh-ed25519 line.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput(f"The public key {path} is not an Ed25519 key", "genvfx signs with Ed25519 keys.")
    raw = _raw_public(key)
    return TrustedKey(raw, fingerprint(raw), str(path))


def new_key(path: str | os.PathLike) -> tuple[Path, Path, str]:
    """Write a new Ed25519 private key to ``path`` (PEM, readable by its owner only) and its
    public key beside it (``NAME.pub.pem``); returns both paths and the fingerprint. Never
    overwrites a file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path = Path(path).expanduser().absolute()
    public_path = private_path.with_name(private_path.name.removesuffix(".pem") + ".pub.pem")
    for existing in (private_path, public_path):
        if existing.exists():
            raise BadInput(f"{existing} exists already", "Choose another name: a key is never overwritten.")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    return private_path, public_path, fingerprint(_raw_public(key.public_key()))


# -- signatures on disk -----------------------------------------------------------------

def write_signature(folder: str | os.PathLike, content: dict) -> Path:
    """Write ``ledger.sig`` whole or not at all (temporary name, fsync, rename)."""
    path = Path(folder) / SIGNATURE_NAME
    temporary = partial_path(path)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write((json.dumps(content, sort_keys=True, indent=1) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def read_signature(folder: str | os.PathLike) -> dict | None:
    """``folder``'s ``ledger.sig``; None when there is none; raises BadInput when it is not JSON."""
    path = Path(folder) / SIGNATURE_NAME
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{SIGNATURE_NAME} cannot be read ({exc})", "It was damaged or edited.") from None
    if not isinstance(content, dict):
        raise BadInput(f"{SIGNATURE_NAME} is not a signature object", "It was damaged or edited.")
    return content


def tip_signature_status(content: dict) -> tuple[str, bytes]:
    """(``valid`` or ``invalid``, the public key it names) of a ``ledger.sig`` content: is it
    a signature, by the key it names, of the tip it states?"""
    public_raw = _unb64(content.get("public_key", ""))
    try:
        payload = tip_payload(content["entries"], content["tip"], content.get("file", ""))
    except (KeyError, TypeError, ValueError):
        return "invalid", public_raw
    if content.get("format") != TIP_FORMAT or len(public_raw) != 32:
        return "invalid", public_raw
    valid = _verify(public_raw, _unb64(content.get("signature", "")), payload)
    return ("valid" if valid else "invalid"), public_raw


def entry_signature(header: dict, entry_hash: str) -> tuple[str, bytes]:
    """(``unsigned``, ``invalid`` or ``valid``, the public key named) of a frame's header
    signature of its ledger entry ``entry_hash``."""
    signature, public = header.get(HEADER_SIGNATURE), header.get(HEADER_SIGNATURE_KEY)
    if signature is None and public is None:
        return "unsigned", b""
    public_raw = _unb64(public or "")
    if len(public_raw) != 32:
        return "invalid", public_raw
    valid = _verify(public_raw, _unb64(signature or ""), entry_payload(entry_hash))
    return ("valid" if valid else "invalid"), public_raw
