"""When PostgreSQL stops answering, ``/readyz`` says so within about a second (a probe waits 1 s
for a connection, and the log's probe is not made to wait again), and ``/healthz`` stays liveness."""

from __future__ import annotations

import time

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from service.services import Services


async def test_readyz_answers_503_within_a_second_when_the_database_is_gone(
    client: httpx.AsyncClient, services: Services, pg_server: str, database_url: str
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(pg_server, autocommit=True) as admin:
        # As good as a dead server for this instance: its connections are cut and new ones refused.
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        started = time.monotonic()
        ready = await client.get("/readyz")
        took = time.monotonic() - started
        assert ready.status_code == 503
        components = ready.json()["components"]
        assert components["database"]["state"] == "unavailable"
        assert "the database is down" in components["audit_log"]["detail"]
        assert took < 1.8, took  # the issue measured 10 s; a probe gives up after 1 s
        assert (await client.get("/healthz")).status_code == 200
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
