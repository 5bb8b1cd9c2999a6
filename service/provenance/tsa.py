"""RFC 3161 timestamp authority: a reachability probe with a timeout and retries.

c2pa calls the TSA itself while signing, and an unreachable TSA makes it fail only after about
30 s. Vigil first sends one small TimeStampReq (RFC 3161 §2.4.1) with its own timeout and retries,
and signs with the TSA only once it answered ``granted``; otherwise signing fails fast and clearly.
"""

from __future__ import annotations

import hashlib
import logging
import time

import httpx
from asn1crypto import tsp

from service.errors import SigningFailed

log = logging.getLogger(__name__)


def probe_request() -> bytes:
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"vigil tsa probe").digest(),
            },
            "cert_req": True,
        }
    )
    return bytes(req.dump())


def check_tsa(url: str, *, timeout_s: float, retries: int) -> None:
    """Raise ``SigningFailed`` unless the TSA grants a timestamp within the timeout."""
    last = ""
    for attempt in range(retries + 1):
        try:
            response = httpx.post(
                url,
                content=probe_request(),
                headers={"Content-Type": "application/timestamp-query"},
                timeout=timeout_s,
            )
            if response.status_code == 200:
                status = tsp.TimeStampResp.load(response.content)["status"]["status"].native
                if status in ("granted", "granted_with_mods"):
                    return
                last = f"status {status}"
            else:
                last = f"HTTP {response.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            last = f"{exc.__class__.__name__}: {exc}"
        log.warning("timestamp authority attempt %d failed: %s", attempt + 1, last)
        if attempt < retries:
            time.sleep(min(0.2 * 2**attempt, 2.0))
    raise SigningFailed(f"The timestamp authority did not answer ({last}); signing was not attempted.")
