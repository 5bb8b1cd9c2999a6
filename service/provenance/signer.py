"""The C2PA signer: a PEM key on disk, or a callback (the seam for KMS/HSM keys).

c2pa hides an exception raised inside a callback behind "COSE signature invalid", so the
callback wrapper logs the cause and keeps it, and ``sign.py`` raises ``SigningFailed`` with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import c2pa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from service.errors import ConfigError, SigningFailed
from service.provenance.certs import CHAIN_FILE, KEY_FILE, check_key_permissions

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger(__name__)


class KeySigner(Protocol):
    """A key held elsewhere (KMS, HSM). ``sign`` returns a DER ECDSA P-256/SHA-256 signature,
    as KMS APIs do; Vigil converts it to the raw r‖s form COSE wants (RFC 9053 §2.1)."""

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FileKeySigner:
    """A ``KeySigner`` backed by a PEM key file: what tests and small deployments use."""

    key_path: Path

    def sign(self, data: bytes) -> bytes:
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the signing key is not an EC key")
        return key.sign(data, ec.ECDSA(hashes.SHA256()))


def der_to_raw(signature: bytes, size: int = 32) -> bytes:
    r, s = decode_dss_signature(signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@dataclass
class VigilSigner:
    """Builds a c2pa ``Signer`` per use (cheap) from a chain and a key or a callback."""

    chain_pem: bytes
    key_pem: bytes | None = None
    key_signer: KeySigner | None = None
    tsa_url: str | None = None
    last_error: BaseException | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_files(cls, chain: Path, key: Path, *, tsa_url: str | None = None) -> VigilSigner:
        try:
            return cls(chain_pem=chain.read_bytes(), key_pem=key.read_bytes(), tsa_url=tsa_url)
        except OSError as exc:
            raise ConfigError(f"Cannot read the signing certificate or key: {exc}") from exc

    @classmethod
    def from_callback(cls, chain: Path, key_signer: KeySigner, *, tsa_url: str | None = None) -> VigilSigner:
        try:
            return cls(chain_pem=chain.read_bytes(), key_signer=key_signer, tsa_url=tsa_url)
        except OSError as exc:
            raise ConfigError(f"Cannot read the signing certificate chain: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> VigilSigner | None:
        """The configured signer; ``None`` when no key is configured (not an error in development)."""
        chain = settings.signing_cert_chain or settings.keys_dir / CHAIN_FILE
        key = settings.signing_key or settings.keys_dir / KEY_FILE
        configured = settings.signing_cert_chain is not None or settings.signing_key is not None
        if not chain.exists() or not key.exists():
            if configured:
                raise ConfigError(f"The signing certificate {chain} or key {key} does not exist.")
            return None
        if settings.production:
            check_key_permissions(key)
        return cls.from_files(chain, key, tsa_url=settings.tsa_url)

    def with_tsa(self, tsa_url: str | None) -> VigilSigner:
        return VigilSigner(self.chain_pem, self.key_pem, self.key_signer, tsa_url)

    def _callback(self) -> Callable[[bytes], bytes]:
        key_signer = self.key_signer
        assert key_signer is not None

        def call(data: bytes) -> bytes:
            try:
                return der_to_raw(key_signer.sign(data))
            except Exception as exc:
                self.last_error = exc
                log.error("the signing callback failed", exc_info=exc)
                raise

        return call

    def c2pa_signer(self) -> c2pa.Signer:
        self.last_error = None
        try:
            if self.key_signer is not None:
                return c2pa.Signer.from_callback(
                    self._callback(), c2pa.C2paSigningAlg.ES256, self.chain_pem.decode(), self.tsa_url
                )
            assert self.key_pem is not None
            info = c2pa.C2paSignerInfo(
                b"es256", self.chain_pem, self.key_pem, self.tsa_url.encode() if self.tsa_url else None
            )
            return c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise SigningFailed(f"The signing key or certificate was refused: {exc}") from exc
