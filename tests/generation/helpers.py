"""Requests a studio and a reviewer make, through the real HTTP API."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from PIL import Image, ImageDraw

HUSBAND = {
    "kind": "human",
    "vital_status": "deceased",
    "name": "Husband",
    "birth_date": "1988-03-02",
    "death_date": "2024-02-01",
    "jurisdiction": "RU",
}

MEMORIAL_PROMPT = "a quiet farewell portrait at dawn, the family together in the garden"
PROPAGANDA_PROMPT = (
    "heroes never die: our glorious soldier ascends to heaven as a martyr, angels salute him, "
    "the enemy will be crushed, join the army and fight for the motherland"
)


def photo_bytes(seed: int, size: tuple[int, int] = (800, 600)) -> bytes:
    """A photo-like JPEG: a gradient with shapes (enough detail for PDQ)."""
    rng = random.Random(seed)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([x * 255, y * 255, (1 - x) * (1 - y) * 255], axis=2)
    img = Image.fromarray(base.astype("uint8"))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(20, 160), y0 + rng.randrange(20, 160)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def consent_body(subject_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_id": subject_id,
        "grantors": [{"name": "Yelena", "relationship": "spouse", "adult": True}],
        "legal_basis": "RU-CC-152.1",
        "modalities": ["likeness_still", "likeness_animated", "voice_clone"],
        "purposes": ["private_memorial"],
        "audiences": ["family"],
        "territories": ["*"],
        "expires_at": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
    }
    body.update(over)
    return body


async def subject(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post("/v1/subjects", json=HUSBAND, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def consented_subject(client: httpx.AsyncClient, headers: dict[str, str], **over: Any) -> str:
    sid = await subject(client, headers)
    r = await client.post("/v1/consents", json=consent_body(sid, **over), headers=headers)
    assert r.status_code == 201, r.text
    return sid


def spec(subject_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subjects": [{"subject_id": subject_id, "appears_as": "likeness"}],
        "market": "default",
        "purpose": "private_memorial",
        "audience": "family",
        "output": "image",
        "prompt": MEMORIAL_PROMPT,
        "caption": "Forever with us",
    }
    body.update(over)
    return body


async def submit(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    *,
    photos: list[bytes] | None = None,
    voice: bytes | None = None,
    key: str | None = None,
) -> httpx.Response:
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("photos", (f"photo_{i}.jpg", data, "image/jpeg"))
        for i, data in enumerate(
            photos if photos is not None else [photo_bytes(1), photo_bytes(2), photo_bytes(3)]
        )
    ]
    if voice is not None:
        files.append(("voice", ("voice.wav", voice, "audio/wav")))
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post(
        "/v1/generations", data={"spec": json.dumps(body)}, files=files, headers={**headers, **extra}
    )


def reviewers(make_key: Callable[..., str], count: int = 3) -> list[dict[str, str]]:
    """Several reviewer keys: a flag sampled for double review needs a second person."""
    return [{"Authorization": f"Bearer {make_key('reviewer')}"} for _ in range(count)]


async def approve_next(
    client: httpx.AsyncClient, people: list[dict[str, str]], decision: str = "approve"
) -> str:
    """Reviewers claim the next flag and decide it until it is settled; returns its source id."""
    source, _ = await decide_next(client, people, decision)
    return source


async def decide_next(
    client: httpx.AsyncClient, people: list[dict[str, str]], decision: str = "approve"
) -> tuple[str, dict[str, Any]]:
    """Reviewers claim the next flag and decide it until it is settled; returns its source id
    and the answer to the last decision.

    A flag sampled for QA double review goes back to the queue after the first verdict and is
    settled by a second reviewer who agrees."""
    source: str | None = None
    answer: dict[str, Any] = {}
    for reviewer in people:
        claimed = await client.post("/v1/flags/claim", headers=reviewer)
        if claimed.status_code == 204:
            break
        assert claimed.status_code == 200, claimed.text
        flag = claimed.json()
        if source is not None and flag["source"]["id"] != source:
            break  # the next item in the queue: ours is settled
        source = str(flag["source"]["id"])
        r = await client.post(
            f"/v1/flags/{flag['id']}/decision",
            json={"decision": decision, "rationale": "checked against the memorial policy"},
            headers=reviewer,
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        if answer.get("final", True):
            break
    assert source is not None, "no flag to review"
    return source, answer


async def overturn_appeal(client: httpx.AsyncClient, people: list[dict[str, str]]) -> dict[str, Any]:
    """The first of ``people`` who may take the open appeal (not a decider of the original)
    approves it; returns the decision's body."""
    for person in people:
        claimed = await client.post("/v1/flags/claim", headers=person)
        if claimed.status_code != 200 or claimed.json()["source"]["kind"] != "appeal":
            continue
        decision = {"decision": "approve", "rationale": "a memorial, not propaganda"}
        r = await client.post(f"/v1/flags/{claimed.json()['id']}/decision", json=decision, headers=person)
        assert r.status_code == 200, r.text
        return dict(r.json())
    raise AssertionError("nobody could take the appeal")
