"""Signing keys and certificates: a local CA and an ES256 end-entity certificate.

The end-entity certificate carries what C2PA validators require (C2PA 2.x §14.5.1): the
digitalSignature key usage, an ``O=`` in the subject (verifiers show it as the signer) and an
extended key usage. Vigil uses ``emailProtection`` (1.3.6.1.5.5.7.3.4): c2pa-rs accepts it with
its default settings, so any C2PA reader given only Vigil's CA reports the signer as trusted.
(``documentSigning`` and the C2PA ``claimSigning`` EKU pass only where every Context lists them
in ``trust.trust_config``; Vigil's own Contexts do, see ``trust.py``.)
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from service.errors import ConfigError

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CHAIN_FILE = "signing-chain.pem"
KEY_FILE = "signing-key.pem"


@dataclass(frozen=True, slots=True)
class SigningFiles:
    ca: Path
    ca_key: Path
    chain: Path
    key: Path


def _key_usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not sign,
        crl_sign=not sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(org: str, *, days: int = 3650) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{org} Vigil root CA"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_signer_cert(
    org: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """An ES256 (P-256) end-entity certificate for C2PA claim signing."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{org} Vigil C2PA signer"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(minutes=5))
        .not_valid_after(not_after or now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a key file readable by its owner only (0600), created so from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(0o600)


def init_signing(directory: Path, org: str, *, force: bool = False) -> SigningFiles:
    """Create a local CA and a signing certificate under ``directory`` (refuses to overwrite)."""
    files = SigningFiles(
        ca=directory / CA_FILE,
        ca_key=directory / CA_KEY_FILE,
        chain=directory / CHAIN_FILE,
        key=directory / KEY_FILE,
    )
    if not force and any(p.exists() for p in (files.ca, files.chain, files.key)):
        raise ConfigError(
            f"Signing keys already exist under {directory}; remove them or pass --force to replace them."
        )
    if not org.strip():
        raise ConfigError("The organisation name (--org) may not be empty.")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_key, ca_cert = make_ca(org)
    key, cert = make_signer_cert(org, ca_key, ca_cert)
    write_private(files.ca_key, key_pem(ca_key))
    write_private(files.key, key_pem(key))
    files.chain.write_bytes(cert_pem(cert) + cert_pem(ca_cert))
    files.ca.write_bytes(cert_pem(ca_cert))
    return files


def check_key_permissions(path: Path) -> None:
    """Refuse a private key that others may read (production)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"The signing key {path} has mode {mode:o}; run 'chmod 600 {path}'.")
