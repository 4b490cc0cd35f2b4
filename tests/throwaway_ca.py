"""A throwaway certificate authority and C2PA signing certificate for tests.

C2PA validators refuse signing certificates that lack the profile the spec asks
for (end-entity, digitalSignature, an allowed extended key usage, key identifiers),
so the tests make a real two-level chain instead of a bare self-signed certificate:
that is what a studio's own CA would hand out, and what ``trusted`` is checked against.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "genvfx test studio"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_usage(*, signer: bool) -> x509.KeyUsage:
    """digitalSignature for the signer; keyCertSign (and CRL signing) for the CA."""
    return x509.KeyUsage(
        digital_signature=signer, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=not signer,
        crl_sign=not signer, encipher_only=False, decipher_only=False)


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    """Valid from a day ago (clock skew) to a month ahead: long enough for any test run."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("genvfx test root CA")
    certificate = (_builder(name, name, key.public_key())
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(_key_usage(signer=False), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate, key


def _make_signer(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                 ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (_builder(_name("genvfx test signer"), ca.subject, key.public_key())
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(_key_usage(signer=True), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    return certificate, key


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca_and_signer(folder: Path) -> tuple[Path, Path, Path]:
    """Write ``chain.pem`` (signer then CA), ``signer.key`` (PKCS#8) and ``ca.pem`` into
    ``folder``; return their paths as (chain, key, ca). ``ca.key`` is written too, so
    that a test can try the CA itself as a signer (which C2PA must refuse)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _make_ca()
    signer, signer_key = _make_signer(ca, ca_key)
    chain, key_path, ca_path = folder / "chain.pem", folder / "signer.key", folder / "ca.pem"
    chain.write_bytes(_pem(signer) + _pem(ca))
    key_path.write_bytes(_pkcs8(signer_key))
    ca_path.write_bytes(_pem(ca))
    (folder / "ca.key").write_bytes(_pkcs8(ca_key))
    return chain, key_path, ca_path
