"""``vigil demo``: a scripted walk through the whole story on this instance (or a fresh one).

consent → generation → review → check by a platform → verification by an auditor, through the
real HTTP API (in-process) and a real job worker, with the built-in compositor: no network.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx
import numpy as np
from PIL import Image, ImageDraw

from service.audit import sources
from service.audit.verify import verify as verify_log
from service.auth import Role
from service.auth import store as auth_store
from service.cli.common import EXIT_NEGATIVE, pass_settings
from service.composition import job_registry, open_services
from service.jobs import Worker
from service.provenance.certs import CHAIN_FILE, init_signing
from service.services import Services
from service.settings import Settings

TENANT = "demo-memorials"
PROMPT = "a quiet farewell portrait at dawn: the family together in the garden, soft light"


def _photo(seed: int) -> bytes:
    """A stand-in family photo (gradient and shapes): no real person is shown in the demo."""
    rng = np.random.default_rng(seed)
    w, h = 900, 700
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([x * 200 + 40, y * 180 + 50, (1 - x) * (1 - y) * 220], axis=2)
    img = Image.fromarray(base.astype("uint8"))
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        x0, y0 = int(rng.integers(w)), int(rng.integers(h))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x0 + int(rng.integers(30, 200)), y0 + int(rng.integers(30, 200))), fill=fill)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _step(title: str) -> None:
    click.echo(f"\n== {title}")


def _say(line: str) -> None:
    click.echo(f"   {line}")


def _ok(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise click.ClickException(f"{response.request.method} {response.request.url.path}: {response.text}")
    return (
        response.json() if response.content and "json" in response.headers.get("content-type", "") else None
    )


class Demo:
    def __init__(
        self, services: Services, client: httpx.AsyncClient, *, has_check: bool, keep: Path | None = None
    ) -> None:
        self.services = services
        self.client = client
        self.has_check = has_check  # the platform check is installed (POST /v1/check)
        self.keep = keep  # where to leave the files, with the keys and ids printed, to replay by hand
        self.kept: dict[str, str] = {}
        with services.db.system() as conn:
            self.keys = {
                role: {
                    "Authorization": "Bearer "
                    + auth_store.create_key(conn, tenant_name=TENANT, role=role, label="demo").token
                }
                for role in (Role.STUDIO, Role.REVIEWER, Role.PLATFORM, Role.AUDITOR)
            }
            # A second reviewer, for a flag the QA sample sends to double review.
            token = auth_store.create_key(conn, tenant_name=TENANT, role=Role.REVIEWER, label="demo").token
            self.second_reviewer = {"Authorization": f"Bearer {token}"}

    def run_jobs(self) -> int:
        worker = Worker(
            db=self.services.db, registry=job_registry(self.services.settings), services=self.services
        )
        try:
            return worker.run_pending()
        finally:
            worker.close()

    async def story(self) -> bool:
        c, studio = self.client, self.keys[Role.STUDIO]
        _step("1. Consent: a studio records the person shown and asks before generating")
        subject = _ok(
            await c.post(
                "/v1/subjects",
                json={
                    "kind": "human",
                    "vital_status": "deceased",
                    "name": "Demo Subject",
                    "birth_date": "1990-04-12",
                    "death_date": "2024-02-01",
                    "jurisdiction": "RU",
                },
                headers=studio,
            ),
            201,
        )
        sid = subject["id"]
        self.kept["subject"] = sid
        _say(f"subject {sid}: deceased, jurisdiction RU (Civil Code 152.1 decides who may consent)")
        spec = {
            "subjects": [{"subject_id": sid, "appears_as": "likeness"}],
            "market": "default",
            "purpose": "private_memorial",
            "audience": "family",
            "output": "image",
            "prompt": PROMPT,
            "caption": "Forever with us",
        }
        photos = [("photos", (f"photo{i}.jpg", _photo(i), "image/jpeg")) for i in range(3)]
        denied = _ok(
            await c.post("/v1/generations", data={"spec": json.dumps(spec)}, files=photos, headers=studio),
            202,
        )
        reasons = _ok(await c.get(f"/v1/generations/{denied['id']}", headers=studio), 200)["reasons"]
        _say(f"generation without a grant: {denied['status']} ({reasons[0]['rule']}: {reasons[0]['detail']})")
        grant = _ok(
            await c.post(
                "/v1/consents",
                json={
                    "subject_id": sid,
                    "grantors": [{"name": "Widow", "relationship": "spouse", "adult": True}],
                    "legal_basis": "RU-CC-152.1",
                    "modalities": ["likeness_still", "likeness_animated"],
                    "purposes": ["private_memorial"],
                    "audiences": ["family"],
                    "territories": ["*"],
                    "expires_at": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
                },
                headers=studio,
            ),
            201,
        )
        self.kept["consent"] = grant["id"]
        _say(f"the surviving spouse grants consent {grant['id']} (still and animated likeness, family only)")

        _step("2. Generation: three photos and a prompt, consent checked at the door")
        sub = _ok(
            await c.post(
                "/v1/generations",
                data={"spec": json.dumps(spec)},
                files=photos,
                headers={**studio, "Idempotency-Key": f"demo-{sid}"},
            ),
            202,
        )
        gid = sub["id"]
        self.kept["generation"] = gid
        _say(f"generation {gid}: {sub['status']}")
        ran = self.run_jobs()
        gen = _ok(await c.get(f"/v1/generations/{gid}", headers=studio), 200)
        _say(f"worker ran {ran} job(s): compositor → screened → policy decision '{gen['decision']}'")
        _say(f"status {gen['status']}: " + "; ".join(r["rule"] for r in gen["reasons"][:4]))
        held_out = await c.get(f"/v1/generations/{gid}/output", headers=studio)
        _say(f"download before release: HTTP {held_out.status_code} (nothing unscreened leaves quarantine)")

        _step("3. Review: a person decides what the policy routed to review")
        if gen["status"] == "held":
            for n, reviewer in enumerate((self.keys[Role.REVIEWER], self.second_reviewer), start=1):
                flag = _ok(await c.post("/v1/flags/claim", headers=reviewer), 200)
                _say(f"reviewer {n} claims flag {flag['id']} (leased to them alone) and approves it")
                decided = _ok(
                    await c.post(
                        f"/v1/flags/{flag['id']}/decision",
                        json={"decision": "approve", "rationale": "private memorial, no propaganda elements"},
                        headers=reviewer,
                    ),
                    200,
                )
                if decided["final"]:
                    break
                _say("the QA sample picked this flag for double review: a second reviewer decides too")
            gen = _ok(await c.get(f"/v1/generations/{gid}", headers=studio), 200)
            _say(f"approved: the output is labelled, signed and released at once → {gen['status']}")
        else:
            _say(f"nothing to review: the policy decided '{gen['decision']}' on every signal")
        if gen["status"] != "released":
            click.echo(f"FAIL: generation ended {gen['status']}")
            return False
        output = await c.get(gen["output"]["url"], headers=studio)
        _say(f"studio downloads asset {gen['output']['asset_id']} ({len(output.content)} bytes, labelled)")

        _step("4. Check by a platform: someone re-uploads the picture, its metadata stripped")
        stripped = io.BytesIO()
        Image.open(io.BytesIO(output.content)).convert("RGB").save(stripped, "JPEG", quality=80)
        if self.has_check:
            answer = await c.post(
                "/v1/check",
                files={"file": ("upload.jpg", stripped.getvalue(), "image/jpeg")},
                data={"text": "in loving memory"},
                headers=self.keys[Role.PLATFORM],
            )
            if answer.status_code != 200:
                _say(f"the check answered HTTP {answer.status_code}: {answer.text[:200]}")
            else:
                verdict = answer.json()
                labels = [x.get("label") for x in verdict.get("required_labels") or []]
                prov = verdict.get("provenance") or {}
                _say(f"verdict: {verdict.get('decision')}; required labels {labels}")
                _say(
                    f"provenance {prov.get('state')} (recovered by {prov.get('recovered_by')}), "
                    f"consent status {verdict.get('consent_status')}"
                )
        else:
            _say("SKIP: this build has no POST /v1/check (the platform check is not installed)")

        _step("5. Verification by an auditor: provenance and the transparency log")
        auditor = self.keys[Role.AUDITOR]
        report = _ok(
            await c.post("/v1/verify", files={"file": ("a.jpg", output.content)}, headers=auditor), 200
        )
        _say(
            f"released file: {report['state']}, signer {(report.get('signer') or {}).get('issuer')}, "
            f"source type {str(report['digital_source_type']).rsplit('/', 1)[-1]}, "
            f"log index {report['log_index']}"
        )
        recovered = _ok(
            await c.post("/v1/verify", files={"file": ("b.jpg", stripped.getvalue())}, headers=auditor), 200
        )
        _say(
            f"stripped copy: {recovered['state']}, recovered by {recovered['recovered_by']} "
            f"→ asset {recovered['asset_id']}"
        )
        signer = self.services.log_signer
        log_report, _ = verify_log(
            sources.DatabaseSource(self.services.db, signer.issue),
            origin=signer.origin,
            public_key=signer.public_key,
        )
        _say(
            f"transparency log {log_report.origin}: size {log_report.size}, {log_report.checked} entries "
            f"verified, {'passed' if log_report.passed else 'FAILED'}"
        )
        ok = report["state"] == "trusted" and log_report.passed
        if self.keep is not None:
            self._leave(output.content, stripped.getvalue())
        click.echo("\nOK: the story ran end to end" if ok else "\nFAIL: a verification did not pass")
        return ok

    def _leave(self, released: bytes, stripped: bytes) -> None:
        """Write the files and print every key and id the story used, to replay its steps by hand."""
        assert self.keep is not None
        self.keep.mkdir(parents=True, exist_ok=True)
        (self.keep / "farewell.jpg").write_bytes(released)
        (self.keep / "stripped.jpg").write_bytes(stripped)
        _step(f"Kept for replaying by hand (tenant {TENANT}); the keys are live until you revoke them")
        for role, header in self.keys.items():
            _say(f"{role.value:<9} key {header['Authorization'].removeprefix('Bearer ')}")
        _say(f"reviewer2 key {self.second_reviewer['Authorization'].removeprefix('Bearer ')}")
        for name, value in self.kept.items():
            _say(f"{name:<13} {value}")
        _say(f"released file {self.keep / 'farewell.jpg'}")
        _say(f"stripped copy {self.keep / 'stripped.jpg'} (re-encoded, metadata gone)")


@click.command("demo")
@click.option(
    "--fresh", is_flag=True, help="Run on a new temporary instance (removed afterwards, unless --keep)."
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Leave the released file and its stripped copy in this folder and print the keys and ids used.",
)
@pass_settings
def demo_cmd(settings: Settings, fresh: bool, keep: Path | None) -> None:
    """Walk through consent → generation → review → check → verification, printing each step."""
    from service.app import create_app

    temp: Path | None = None
    if fresh:
        temp = Path(tempfile.mkdtemp(prefix="vigil-demo-"))
        temp.chmod(0o755)  # the embedded PostgreSQL runs as its own user
        settings = settings.model_copy(update={"data_dir": temp / "data", "database_url": None})
    try:
        if not (settings.signing_cert_chain or settings.keys_dir / CHAIN_FILE).exists():
            init_signing(settings.keys_dir, "Vigil Demo")
            click.echo(f"OK: made a local signing CA under {settings.keys_dir} (vigil keys init-signing)")
        services = open_services(settings)
        try:
            app = create_app(settings, services=services)
            has_check = "/v1/check" in app.openapi().get("paths", {})

            async def walk() -> bool:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://vigil.demo") as client:
                    return await Demo(services, client, has_check=has_check, keep=keep).story()

            passed = asyncio.run(walk())
        finally:
            services.close()
    finally:
        if temp is not None and keep is None:
            shutil.rmtree(temp, ignore_errors=True)
        elif temp is not None:
            click.echo(
                f"\nThe instance is kept under {temp / 'data'}: pass --data-dir {temp / 'data'} to use it."
            )
    if not passed:
        click.get_current_context().exit(EXIT_NEGATIVE)


def register(cli: click.Group) -> None:
    cli.add_command(demo_cmd)
