"""Small helpers shared by the log tests: fill the log, read the key and a checkpoint."""

from __future__ import annotations

import base64
from uuid import UUID

import httpx

from service.audit import Event, EventName, append_many
from service.services import Services

TENANT = UUID("00000000-0000-4000-8000-000000000001")


def fill(services: Services, count: int, *, batch: int = 50) -> None:
    done = 0
    while done < count:
        n = min(batch, count - done)
        events = [
            Event(EventName.CHECK_DECIDED, f"chk_{done + i}", TENANT, {"decision": "allow"}) for i in range(n)
        ]
        with services.db.system() as conn:
            append_many(conn, events)
        done += n


async def log_key(client: httpx.AsyncClient, token: str) -> tuple[str, bytes]:
    r = await client.get("/v1/log/key", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"origin", "public_key"}
    return body["origin"], base64.b64decode(body["public_key"])
