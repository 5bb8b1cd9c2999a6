"""``vigil check`` as a user runs it: exit 0 only for allow; ``--json`` is one object."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from service.auth import store as auth_store
from service.composition import open_services
from service.review import store as review_store
from tests.check.conftest import WAR_CAPTION, photo
from tests.vigil_cli import vigil


def test_check_a_file_and_a_text(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "inst"
    upload = photo(tmp_path / "ordinary_photo.jpg", 21)

    allowed = vigil(data, database_url, "check", str(upload), "--text", "Our dog at the beach", "--json")
    assert allowed.returncode == 0, allowed.stderr
    verdict = json.loads(allowed.stdout)
    assert verdict["decision"] == "allow"
    assert verdict["provenance"]["state"] == "absent"

    human = vigil(data, database_url, "check", "--text", WAR_CAPTION, "--market", "eu")
    assert human.returncode == 1, human.stderr
    assert human.stdout.startswith("REVIEW: text: review (policy pv-")
    assert "score.combatant_martyrdom.review" in human.stdout
    assert "(caption)" in human.stdout  # the reasons name the text they read
    assert "queued for review as flag" in human.stdout
    # In the default tenant, as every other command: a reviewer key of it sees the flag.
    flag_id = human.stdout.split("queued for review as flag ")[1].split()[0]
    key = vigil(data, database_url, "keys", "create", "--role", "reviewer")
    token = key.stdout.strip().splitlines()[-1]
    from service.settings import Settings

    services = open_services(Settings(data_dir=data, database_url=database_url, log_json=False))
    try:
        with services.db.system() as conn:
            principal = auth_store.authenticate(conn, token)
            assert principal is not None
        with services.db.tenant(principal.tenant_id) as conn:
            assert review_store.get_flag(conn, UUID(flag_id)) is not None
    finally:
        services.close()

    transcript = vigil(
        data, database_url, "check", "--text", WAR_CAPTION, "--text-source", "transcript", "--json"
    )
    assert transcript.returncode == 1, transcript.stderr
    verdict = json.loads(transcript.stdout)
    assert [s["source"] for s in verdict["scores_by_source"]] == ["transcript"]
    assert "+probes-" in verdict["classifier_versions"]["text-probe"]


def test_bad_invocations(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "inst"
    nothing = vigil(data, database_url, "check")
    assert nothing.returncode == 2
    market = vigil(data, database_url, "check", "--text", "hello", "--market", "mars")
    assert market.returncode == 4
    assert "markets: cn, default, eu, us-ca" in market.stderr
    fake = tmp_path / "not_an_image.jpg"
    fake.write_bytes(b"%PDF-1.7 a document")
    refused = vigil(data, database_url, "check", str(fake))
    assert refused.returncode == 4
    assert refused.stderr.startswith("FAIL:")
