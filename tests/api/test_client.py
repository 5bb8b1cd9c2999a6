"""The Python client (``service.client``), sync and async, against a real server on a loopback
port: a platform's check and a past verdict, verify, consent, the review queue and log proofs,
and errors in the one shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.auth import Role
from service.client import AsyncVigil, Vigil, VigilAPIError
from tests.conftest import KeyMaker
from tests.media import helpers
from tests.review.test_browser import server  # noqa: F401  (the fixture)

CAPTION = "Heroes never die: our fallen soldiers rise to heaven, glory to those who gave their lives."


def test_a_platform_checks_fetches_the_verdict_again_and_verifies(server: str, make_key: KeyMaker) -> None:  # noqa: F811
    with Vigil(server, token=make_key(Role.PLATFORM)) as vigil:
        allowed = vigil.check(file=helpers.jpeg_bytes(), text="Our dog at the beach")
        assert (allowed.decision, allowed.flag_id) == ("allow", None)
        assert vigil.get_check(allowed.check_id).raw["decision"] == "allow"
        review = vigil.check(text=CAPTION)
        assert review.decision == "review"
        assert review.flag_id is not None
        assert vigil.check_review(review.check_id)["status"] == "open"
        report = vigil.verify(helpers.jpeg_bytes())
        assert (report.state, report.consent_status) == ("absent", None)
        with pytest.raises(VigilAPIError) as caught:
            vigil.check(text="bad\x00caption")
        assert (caught.value.status, caught.value.code) == (422, "malformed_request")
        with pytest.raises(VigilAPIError) as missing:
            vigil.get_check("00000000-0000-4000-8000-000000000000")
        assert missing.value.status == 404
    with Vigil(server, token="vgl_00000000_wrong") as stranger, pytest.raises(VigilAPIError) as refused:
        stranger.check(text="hello")
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")


async def test_consent_review_and_the_log_with_the_async_client(server: str, make_key: KeyMaker) -> None:  # noqa: F811
    async with AsyncVigil(server, token=make_key(Role.STUDIO)) as studio:
        subject = await studio.create_subject(
            {"kind": "human", "vital_status": "deceased", "name": "Husband", "jurisdiction": "RU",
             "death_date": "2024-02-01"}
        )  # fmt: skip
        consent = await studio.grant_consent(
            {"subject_id": subject.id, "legal_basis": "RU-CC-152.1",
             "grantors": [{"name": "Yelena", "relationship": "spouse", "adult": True}],
             "modalities": ["likeness_still"], "purposes": ["private_memorial"], "audiences": ["family"],
             "territories": ["*"], "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}
        )  # fmt: skip
        assert consent.status == "active"
        revoked = await studio.revoke_consent(consent.id)
        assert revoked["newly_revoked"] is True
    async with AsyncVigil(server, token=make_key(Role.PLATFORM)) as platform:
        verdict = await platform.check(text=CAPTION)
    async with AsyncVigil(server, token=make_key(Role.REVIEWER)) as reviewer:
        assert [f.id for f in await reviewer.flags()] == [verdict.flag_id]
        claimed = await reviewer.claim()
        assert claimed is not None
        assert claimed.id == verdict.flag_id
        answer = await reviewer.decide(claimed.id, "approve", "A quote, not an endorsement.")
        assert answer["decision"] == "approve"
        assert await reviewer.claim() is None  # the queue is empty
    async with AsyncVigil(server, token=make_key(Role.AUDITOR)) as auditor:
        checkpoint = await auditor.log_checkpoint()
        size = int(checkpoint.split("\n")[1])
        proof = await auditor.inclusion_proof(0, size)
        assert proof["size"] == size
