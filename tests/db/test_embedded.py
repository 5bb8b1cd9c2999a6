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
