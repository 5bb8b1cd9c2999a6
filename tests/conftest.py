"""Shared fixtures: a real embedded PostgreSQL, a database per test built by the real migrations,
the real app over httpx.ASGITransport, and a guard that refuses any non-loopback connection."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from service.app import create_app
from service.auth import Role
from service.auth import store as auth_store
from service.composition import open_services
from service.db import migrate as migrations
from service.db.embedded import EmbeddedPostgres
from service.services import Services
from service.settings import Settings
from tests import tools

# --- no network beyond loopback ------------------------------------------------------------


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not connect to {address!r} (loopback only)")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not connect to {address!r} (loopback only)")
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One throwaway embedded PostgreSQL for the whole test session."""
    root = Path(tempfile.mkdtemp(prefix="vigil-test-pg-"))
    server = EmbeddedPostgres(pgdata=root / "pg")
    uri = server.start()
    try:
        yield uri
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_tmp() -> Iterator[Path]:
    """A directory the embedded server's system user can reach.

    pytest makes ``tmp_path`` parents mode 0700 (and re-applies it at each session start), which
    locks out the ``pgserver`` user that PostgreSQL runs as when tests run as root.
    """
    root = Path(tempfile.mkdtemp(prefix="vigil-test-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


TEMPLATE = "vigil_template"


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> str:
    """A database with the schema built by the real migrations, cloned for each test."""
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    url = make_conninfo(pg_server, dbname=TEMPLATE)
    migrations.migrate(url)
    return url


@pytest.fixture
def database_url(pg_server: str, template_db: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield make_conninfo(pg_server, dbname=name)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, log_json=False, db_pool_min=1)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    opened = open_services(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


KeyMaker = Callable[..., str]


@pytest.fixture
def make_key(services: Services) -> KeyMaker:
    """``make_key(Role.PLATFORM, tenant="acme")`` → a bearer token."""

    def make(role: Role | str, tenant: str = "acme", label: str = "") -> str:
        with services.db.system() as conn:
            return auth_store.create_key(conn, tenant_name=tenant, role=Role(role), label=label).token

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    tools.require(item)
