"""The embedded PostgreSQL starts, stops cleanly, and survives a crashed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import psycopg
import pytest

from service.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow


def postmaster_pid(pgdata) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_crashed_server_does_not_block_the_next_start(pg_tmp):
    pgdata = pg_tmp / "pg"
    first = EmbeddedPostgres(pgdata=pgdata, keep_running=True)
    uri = first.start()
    with psycopg.connect(uri) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    pid = postmaster_pid(pgdata)
    os.kill(pid, signal.SIGKILL)  # the machine "crashed": postmaster.pid is left behind
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    assert (pgdata / "postmaster.pid").exists()

    second = EmbeddedPostgres(pgdata=pgdata)
    uri = second.start()
    try:
        with psycopg.connect(uri) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == (42,)
    finally:
        second.stop()
    assert not (pgdata / "postmaster.pid").exists(), "the last user stops the server cleanly"


def test_a_killed_user_does_not_keep_the_server_running_for_good(pg_tmp):
    pgdata = pg_tmp / "pg"
    server = EmbeddedPostgres(pgdata=pgdata)
    server.start()
    gone = subprocess.Popen(["true"])  # a process that used the server and was killed: now gone
    gone.wait()
    handles = pgdata / ".handle_pids.json"
    handles.write_text(json.dumps([*json.loads(handles.read_text()), gone.pid]))
    server.stop()
    assert not (pgdata / "postmaster.pid").exists(), "the last live user stopped the server"
    assert json.loads(handles.read_text()) == []


def test_a_killed_postmaster_is_started_again_and_the_pool_serves(pg_tmp):
    from service.db import Database
    from service.db import migrate as migrations
    from service.settings import Settings

    settings = Settings(data_dir=pg_tmp / "instance", db_pool_min=2)
    settings.ensure_dirs()
    db = Database.from_settings(settings)
    try:
        migrations.migrate(db.url)
        db.open()
        db.ping()
        pid = postmaster_pid(settings.pg_dir)
        os.kill(pid, signal.SIGKILL)  # an OOM kill of the database under a serving process
        killed = time.monotonic()
        while _alive(pid) and time.monotonic() - killed < 5:
            time.sleep(0.02)
        back = None
        while time.monotonic() - killed < 30:
            try:
                db.ping(timeout=1)
                back = time.monotonic() - killed
                break
            except Exception:  # down until the watcher has started it again
                time.sleep(0.2)
        assert back is not None, "the embedded PostgreSQL was not started again within 30 s"
        assert postmaster_pid(settings.pg_dir) != pid
        with db.system() as conn:  # every pooled connection works again, not only the first
            assert conn.execute("SELECT count(*) FROM tenants").fetchone() is not None
        with db.system() as first, db.system() as second:
            assert first.execute("SELECT 1").fetchone() == second.execute("SELECT 1").fetchone()
    finally:
        db.close()
    assert not (settings.pg_dir / "postmaster.pid").exists(), "the restarted server stops with its last user"
