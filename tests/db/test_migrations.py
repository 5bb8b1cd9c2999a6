"""Migrations: in order, once, under a lock; an edited applied migration is refused."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from service.composition import open_services
from service.db import migrate as migrations
from service.errors import ConfigError


@pytest.fixture
def empty_db(pg_server):
    name = f"m_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield make_conninfo(pg_server, dbname=name)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_all_pending_on_an_empty_database_then_none(empty_db):
    everything = migrations.available()
    assert [m.version for m in everything] == sorted(m.version for m in everything)
    assert migrations.pending(empty_db) == everything
    assert migrations.migrate(empty_db) == everything
    assert migrations.pending(empty_db) == []
    assert migrations.migrate(empty_db) == []


def test_concurrent_migrators_apply_each_migration_once(empty_db):
    results: list[list[migrations.Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrations.migrate(empty_db))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    applied = [m.version for batch in results for m in batch]
    assert sorted(applied) == [m.version for m in migrations.available()]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (len(applied),)


def test_an_edited_applied_migration_is_refused(empty_db):
    migrations.migrate(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(ConfigError, match="edited after it was applied"):
        migrations.migrate(empty_db)


async def test_readyz_is_503_until_migrated(empty_db, tmp_path):
    import httpx

    from service.app import create_app
    from service.settings import Settings

    migrations.migrate(empty_db)
    settings = Settings(data_dir=tmp_path / "d", database_url=empty_db, db_pool_min=1)
    services = open_services(settings)
    try:
        with psycopg.connect(empty_db, autocommit=True) as conn:
            conn.execute(
                "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"
            )
        app = create_app(settings, services=services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            r = await http.get("/readyz")
        assert r.status_code == 503
        assert "vigil db migrate" in r.json()["components"]["database"]["detail"]
    finally:
        services.close()


def test_an_instance_migrated_before_a_comment_was_reworded_still_starts(empty_db):
    migrations.migrate(empty_db)
    earlier = "01f05d84e21c1bf59f05b0d46d4116f9ec01f2d8231b573147894e9ea2486aa9"  # 0003 before rewording
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 3", (earlier,))
    assert migrations.migrate(empty_db) == []
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 4", (earlier,))
    with pytest.raises(ConfigError, match="edited after it was applied"):
        migrations.migrate(empty_db)  # another migration's old checksum is not accepted
