"""A small RFC 3161 timestamp authority on loopback, for tests (asn1crypto + cryptography)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests import loopback


def make_tsa() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate]:
    """A TSA root and a TSA certificate (critical EKU timeStamping, RFC 3161 §2.3)."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test TSA"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA root"),
        ]
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test TSA"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA unit"),
                ]
            )
        )
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    return key, cert, root


def respond(request_der: bytes, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bytes:
    req = tsp.TimeStampReq.load(request_der)
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    asn_cert = asn1_x509.Certificate.load(cert_der)
    info = tsp.TSTInfo(
        {
            "version": 1,
            "policy": "1.2.3.4.1",
            "message_imprint": req["message_imprint"],
            "serial_number": int.from_bytes(hashlib.sha256(request_der).digest()[:8], "big"),
            "gen_time": dt.datetime.now(dt.UTC).replace(microsecond=0),
            "nonce": req["nonce"].native if req["nonce"].native is not None else None,
        }
    )
    if req["nonce"].native is None:
        del info["nonce"]  # absent when the request carried none
    info_der = info.dump()
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(info_der).digest()]},
            {
                "type": "signing_certificate_v2",
                "values": [
                    {
                        "certs": [{"cert_hash": hashlib.sha256(cert_der).digest()}],
                    }
                ],
            },
        ]
    )
    signature = key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(info_der)},
            "certificates": [asn_cert] if req["cert_req"].native else [],
            "signer_infos": [
                {
                    "version": "v1",
                    "sid": {
                        "issuer_and_serial_number": {
                            "issuer": asn_cert.issuer,
                            "serial_number": asn_cert.serial_number,
                        }
                    },
                    "digest_algorithm": {"algorithm": "sha256"},
                    "signed_attrs": attrs,
                    "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                    "signature": signature,
                }
            ],
        }
    )
    resp = tsp.TimeStampResp(
        {
            "status": {"status": "granted"},
            "time_stamp_token": {"content_type": "signed_data", "content": signed},
        }
    )
    return bytes(resp.dump())


@contextmanager
def serve_tsa() -> Iterator[tuple[str, x509.Certificate]]:
    """Run the TSA on 127.0.0.1; yields its URL and its root certificate (the anchor)."""
    key, cert, root = make_tsa()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        payload = respond(body, key, cert)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/timestamp-reply")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    with loopback.serving(post=answer) as base:
        yield f"{base}/", root
