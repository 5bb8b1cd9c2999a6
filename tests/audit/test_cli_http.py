"""``vigil audit verify --url`` against a real server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
import uvicorn
from click.testing import CliRunner

from service.app import create_app
from service.auth import Role
from service.cli.main import cli
from tests.audit.helpers import fill


@pytest.fixture
def server(settings, services) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, services=services), host="127.0.0.1", port=port, log_level="error"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def test_verify_over_http_pins_the_key_and_names_a_tampered_entry(
    server, services, make_key, database_url, tmp_path
):
    fill(services, 60)
    token = make_key(Role.AUDITOR)
    signer = services.log_signer
    state = tmp_path / "state.json"
    runner = CliRunner()
    pinned = ["--public-key", signer.public_key_b64, "--origin", signer.origin]
    ok = runner.invoke(
        cli, ["audit", "verify", "--url", server, "--token", token, *pinned, "--state", str(state)]
    )
    assert ok.exit_code == 0, ok.output
    assert "OK: vigil.local/log size 61" in ok.output

    sampled = runner.invoke(
        cli,
        [
            "audit",
            "verify",
            "--url",
            server,
            "--token",
            token,
            "--state",
            str(state),
            "--sample",
            "10",
            "--seed",
            "1",
        ],
    )
    assert sampled.exit_code == 0, sampled.output
    assert "10 entries verified (sample), consistent with size 61" in sampled.output

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE audit_entries SET entry = set_byte(entry, 3, 120) WHERE idx = 33")
    bad = runner.invoke(cli, ["audit", "verify", "--url", server, "--token", token, *pinned])
    assert bad.exit_code == 1
    assert "FAIL: modified at index 33" in bad.output

    other = runner.invoke(
        cli,
        [
            "audit",
            "verify",
            "--url",
            server,
            "--token",
            token,
            "--state",
            str(state),
            "--public-key",
            "A" * 43 + "=",
            "--origin",
            signer.origin,
        ],
    )
    assert other.exit_code == 4
    assert "another log key" in other.output
