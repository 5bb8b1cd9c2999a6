"""POST /v1/check with a PDF or an SVG: the provenance is read, nothing in the document is
screened, and the verdict names what was not (``missing_signals``, decided by the policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from service.auth import Role
from service.services import Services
from tests.conftest import KeyMaker, bearer
from tests.provenance.test_formats import DATA, c2pa_sign

UNSCREENED = {"image_model", "ocr", "symbols", "hash_banks"}


async def _check(client: httpx.AsyncClient, token: str, path: Path, **form: str) -> dict[str, Any]:
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    r = await client.post("/v1/check", data=form, files=files, headers=bearer(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(
    ("fixture", "mime"), [("basic.pdf", "application/pdf"), ("sample1.svg", "image/svg+xml")]
)
async def test_a_signed_document_is_checked_for_provenance_and_named_unscreened(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, tmp_path: Path, fixture: str, mime: str
) -> None:
    assert services.notary.signer is not None
    signed = c2pa_sign(
        DATA / fixture, tmp_path / fixture, mime, services.notary.signer, services.notary.trust
    )
    verdict = await _check(client, make_key(Role.PLATFORM), signed)
    assert verdict["provenance"]["state"] == "trusted"
    assert verdict["provenance"]["ai_generated"] is True  # the manifest says trainedAlgorithmicMedia
    assert verdict["decision"] == "label"
    assert set(verdict["missing_signals"]) >= UNSCREENED
    rules = {r["rule"] for r in verdict["reasons"]}
    assert {f"signal.{name}.not_configured" for name in UNSCREENED} <= rules
    details = [r["detail"] for r in verdict["reasons"] if r["rule"].startswith("signal.")]
    assert all("a document's pictures and words are not screened" in d for d in details), details
    assert verdict["matches"] == []


async def test_an_unsigned_document_with_a_caption_is_decided_on_the_caption(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    verdict = await _check(client, make_key(Role.PLATFORM), DATA / "basic.pdf", text="Minutes of the meeting")
    assert verdict["decision"] == "allow"
    assert verdict["provenance"]["state"] == "absent"
    assert set(verdict["missing_signals"]) >= UNSCREENED
    assert "text_model" not in verdict["missing_signals"]
    assert [s["source"] for s in verdict["scores_by_source"]] == ["caption"]


async def test_a_truncated_pdf_is_422_and_an_archive_415(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    token = make_key(Role.PLATFORM)
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes((DATA / "basic.pdf").read_bytes()[:4000])
    r = await client.post(
        "/v1/check", files={"file": ("t.pdf", truncated.read_bytes())}, headers=bearer(token)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "media_rejected")
    r = await client.post(
        "/v1/check", files={"file": ("a.zip", b"PK\x03\x04" + b"0" * 64)}, headers=bearer(token)
    )
    assert r.status_code == 415
    assert r.json()["error"]["message"].endswith("M4A, PDF, SVG.")
