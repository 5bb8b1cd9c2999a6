"""``POST /v1/verify``, the ``/verify`` page and readiness, over the real app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from PIL import Image

from service.composition import open_services
from service.errors import ConfigError
from service.media.sniff import PROVENANCE
from service.provenance import SignSpec
from service.services import Services
from service.settings import Settings
from tests.conftest import KeyMaker, bearer
from tests.provenance.conftest import save_image
from tests.provenance.test_formats import DATA, c2pa_sign


@pytest.fixture
def signed(services: Services, tmp_path: Path) -> Path:
    src = save_image(tmp_path / "in.jpg", 50, "JPEG")
    with services.db.system() as conn:
        services.notary.sign_and_record(
            conn, src, tmp_path / "signed.jpg", SignSpec(asset_id="asset-50"), limits=services.limits
        )
    return tmp_path / "signed.jpg"


async def _post(client: httpx.AsyncClient, token: str, path: Path, name: str = "f.jpg") -> httpx.Response:
    return await client.post("/v1/verify", headers=bearer(token), files={"file": (name, path.read_bytes())})


@pytest.mark.parametrize("role", ["auditor", "platform", "admin"])
async def test_verifiers_get_the_report(
    client: httpx.AsyncClient, make_key: KeyMaker, signed: Path, role: str
) -> None:
    r = await _post(client, make_key(role), signed)
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "trusted"
    assert body["asset_id"] == "asset-50"
    assert isinstance(body["log_index"], int)
    assert body["ai_generated"] is True
    assert body["signer"]["issuer"] == "Acme Memorials"
    assert all({"code", "explanation", "url"} <= set(c) for c in body["codes"])


async def test_studio_may_not_verify(client: httpx.AsyncClient, make_key: KeyMaker, signed: Path) -> None:
    assert (await _post(client, make_key("studio"), signed)).status_code == 403


async def test_corrupted_manifest_is_invalid_not_500(
    client: httpx.AsyncClient, make_key: KeyMaker, signed: Path
) -> None:
    data = bytearray(signed.read_bytes())
    start = data.find(b"jumb")
    for i in range(start + 200, start + 260):
        data[i] ^= 0xFF
    corrupted = signed.with_name("signed_then_jumbf_corrupted.jpg")
    corrupted.write_bytes(bytes(data))
    r = await _post(client, make_key("auditor"), corrupted)
    assert r.status_code == 200
    assert r.json()["state"] == "invalid"
    assert r.json()["codes"]


async def test_unsupported_format_is_415(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    archive = tmp_path / "photos.zip"
    archive.write_bytes(b"PK\x03\x04" + b"0" * 100)
    r = await _post(client, make_key("auditor"), archive, "photos.zip")
    assert r.status_code == 415
    error = r.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["details"]["supported"] == [t.name for t in PROVENANCE]
    assert error["message"].endswith("M4A, PDF, SVG.")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(b"%PDF-1.7\n" + b"0" * 100)
    r = await _post(client, make_key("auditor"), truncated, "truncated.pdf")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "media_rejected")


async def test_signed_pdf_and_svg_are_verified(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services, tmp_path: Path
) -> None:
    assert services.notary.signer is not None
    for fixture, mime in (("basic.pdf", "application/pdf"), ("sample1.svg", "image/svg+xml")):
        signed = c2pa_sign(
            DATA / fixture, tmp_path / fixture, mime, services.notary.signer, services.notary.trust
        )
        r = await _post(client, make_key("auditor"), signed, fixture)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["signer"]["issuer"]) == ("trusted", "Acme Memorials")


async def test_remote_manifest_is_named_not_fetched(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    r = await _post(client, make_key("auditor"), DATA / "cloud.jpg")
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "absent"
    assert body["remote_manifest_url"].startswith("https://cai-manifests.adobe.com/manifests/")
    assert "manifest.inaccessible" in {c["code"] for c in body["codes"] if c["kind"] == "failure"}
    page = await client.post(
        "/verify",
        data={"api_key": make_key("auditor")},
        files={"file": ("c.jpg", (DATA / "cloud.jpg").read_bytes())},
    )
    assert 'id="remote-manifest"' in page.text


async def test_dash_init_segment_with_its_segments(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    init = ("init.mp4", (DATA / "dashinit.mp4").read_bytes())
    segment = ("seg1.m4s", (DATA / "dash1.m4s").read_bytes())
    token = make_key("auditor")
    alone = await client.post("/v1/verify", headers=bearer(token), files={"file": init})
    assert alone.status_code == 200
    assert "vigil.bmff.segmentsMissing" in {c["code"] for c in alone.json()["codes"]}
    both = await client.post(
        "/v1/verify", headers=bearer(token), files=[("file", init), ("segments", segment)]
    )
    assert both.status_code == 200, both.text
    assert both.json()["state"] == "valid"
    assert "vigil.bmff.segments" in {c["code"] for c in both.json()["codes"] if c["kind"] == "success"}
    media = await client.post("/v1/media/inspect", headers=bearer(token), files={"file": init})
    assert media.status_code == 422  # only verification takes an initialisation segment


async def test_stripped_copy_keeps_the_originals_codes_apart(
    client: httpx.AsyncClient, make_key: KeyMaker, signed: Path, tmp_path: Path
) -> None:
    stripped = tmp_path / "signed_then_recompressed.jpg"
    Image.open(signed).convert("RGB").save(stripped, "JPEG", quality=70)
    r = await _post(client, make_key("auditor"), stripped)
    body = r.json()
    assert (body["state"], body["recovered_by"]) == ("absent", "fingerprint")
    assert [c["code"] for c in body["codes"]] == ["vigil.recovered.fingerprint"]
    assert body["original"]["state"] == "trusted"
    assert "assertion.dataHash.match" in {c["code"] for c in body["original"]["codes"]}
    page = await client.post(
        "/verify", data={"api_key": make_key("auditor")}, files={"file": ("s.jpg", stripped.read_bytes())}
    )
    assert 'id="original"' in page.text


async def test_readiness_reports_signing_key_and_anchors(client: httpx.AsyncClient) -> None:
    components = (await client.get("/readyz")).json()["components"]
    assert components["signing_key"]["state"] == "ok"
    assert components["trust_anchors"]["state"] == "ok"
    assert "vigil" in components["trust_anchors"]["detail"]


def test_configured_but_missing_key_is_unavailable(settings: Settings, tmp_path: Path) -> None:
    broken = settings.model_copy(update={"signing_key": tmp_path / "nope.pem"})
    opened = open_services(broken)
    try:
        status = opened.readiness.report()["signing_key"]
    finally:
        opened.close()
    assert status.state.value == "unavailable"


def test_production_without_anchors_refuses_to_start(tmp_path: Path, database_url: str) -> None:
    bare = Settings(data_dir=tmp_path / "bare", database_url=database_url, env="production", trust_lists=())
    with pytest.raises(ConfigError, match="trust anchors"):
        open_services(bare)


async def test_page_shows_form(client: httpx.AsyncClient) -> None:
    r = await client.get("/verify")
    assert r.status_code == 200
    assert 'name="api_key"' in r.text
    assert 'type="password"' in r.text


async def test_page_verifies_with_key_in_form(
    client: httpx.AsyncClient, make_key: KeyMaker, signed: Path
) -> None:
    r = await client.post(
        "/verify",
        data={"api_key": make_key("auditor")},
        files={"file": ("<script>x</script>.jpg", signed.read_bytes())},
    )
    assert r.status_code == 200
    assert 'data-state="trusted"' in r.text
    assert "Acme Memorials" in r.text
    assert "c2pa.created" in r.text
    assert "vigil.asset" in r.text
    assert "signingCredential.trusted" in r.text
    assert "<script>x" not in r.text


async def test_page_without_key_is_401(client: httpx.AsyncClient, signed: Path) -> None:
    r = await client.post("/verify", data={"api_key": ""}, files={"file": ("a.jpg", signed.read_bytes())})
    assert r.status_code == 401
    assert "API key" in r.text


def test_production_refuses_a_key_others_can_read(settings: Settings) -> None:
    (settings.keys_dir / "signing-key.pem").chmod(0o644)
    loose = settings.model_copy(update={"env": "production"})
    with pytest.raises(ConfigError, match="chmod 600"):
        open_services(loose)
