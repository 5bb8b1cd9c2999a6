"""RFC 3161 timestamps: a timestamped manifest outlives its signing certificate; an unreachable
TSA fails fast and clearly. Time is shifted by issuing a certificate that expires in seconds."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest

from service.errors import SigningFailed
from service.provenance import ProvenanceState, SignSpec, sign_file, verify_file
from service.provenance.certs import cert_pem, key_pem, make_ca, make_signer_cert
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore
from tests.provenance.conftest import save_image
from tests.provenance.tsa_server import serve_tsa

LIFETIME_S = 3


def test_timestamp_keeps_a_manifest_trusted_after_the_certificate_expires(tmp_path: Path) -> None:
    ca_key, ca = make_ca("Acme")
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LIFETIME_S)
    key, cert = make_signer_cert("Acme", ca_key, ca, not_after=expires)
    (tmp_path / "ca.pem").write_bytes(cert_pem(ca))
    signer = VigilSigner(chain_pem=cert_pem(cert) + cert_pem(ca), key_pem=key_pem(key))
    src = save_image(tmp_path / "in.jpg", 70, "JPEG")
    with serve_tsa() as (url, tsa_root):
        (tmp_path / "tsa.pem").write_bytes(cert_pem(tsa_root))
        trust = TrustStore.from_pem(vigil_ca=tmp_path / "ca.pem", operator=[tmp_path / "tsa.pem"])
        stamped = sign_file(
            src, tmp_path / "stamped.jpg", SignSpec(), signer=signer.with_tsa(url), trust=trust
        )
        plain = sign_file(src, tmp_path / "plain.jpg", SignSpec(), signer=signer, trust=trust)
    assert stamped.report.state is ProvenanceState.TRUSTED
    assert stamped.report.timestamp is not None
    assert stamped.report.timestamp.trusted is True
    assert plain.report.state is ProvenanceState.TRUSTED
    assert plain.report.timestamp is None

    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.5)

    after_stamped = verify_file(tmp_path / "stamped.jpg", trust=trust)
    after_plain = verify_file(tmp_path / "plain.jpg", trust=trust)
    assert after_stamped.state is ProvenanceState.TRUSTED
    assert after_stamped.signed_at is not None
    assert after_plain.state is ProvenanceState.INVALID
    assert "signingCredential.expired" in {c.code for c in after_plain.codes if c.kind == "failure"}


def test_unreachable_tsa_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    ca_key, ca = make_ca("Acme")
    key, cert = make_signer_cert("Acme", ca_key, ca)
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    signer = VigilSigner(
        chain_pem=cert_pem(cert) + cert_pem(ca), key_pem=key_pem(key), tsa_url=f"http://127.0.0.1:{port}/"
    )
    src = save_image(tmp_path / "in.jpg", 71, "JPEG")
    started = time.monotonic()
    with pytest.raises(SigningFailed, match="timestamp authority"):
        sign_file(
            src,
            tmp_path / "out.jpg",
            SignSpec(),
            signer=signer,
            trust=TrustStore(),
            tsa_timeout_s=1,
            tsa_retries=1,
        )
    assert time.monotonic() - started < 5
    assert not (tmp_path / "out.jpg").exists()
