"""The connection pool and the tenant-scoped transactions every store runs in."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeAlias
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from service.db.embedded import EmbeddedPostgres
from service.errors import DatabaseUnavailable
from service.settings import Settings

log = logging.getLogger(__name__)

Conn: TypeAlias = psycopg.Connection[Any]

APP_ROLE = "vigil_app"
SYSTEM_SCOPE = "*"


def _configure(conn: Conn) -> None:
    """Drop superuser rights on every pooled connection, so row-level security applies.

    A superuser bypasses RLS even when it is forced, so on a superuser login (the embedded
    server) the pool switches to the unprivileged ``vigil_app`` role the first migration made.
    A non-superuser login is subject to RLS already (tables are ``FORCE ROW LEVEL SECURITY``).
    """
    row = conn.execute(
        "SELECT rolsuper, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) "
        "FROM pg_roles WHERE rolname = current_user",
        (APP_ROLE,),
    ).fetchone()
    if row is not None and row[0]:
        if not row[1]:
            raise DatabaseUnavailable("The database is not migrated yet. Run 'vigil db migrate'.")
        conn.execute(f"SET ROLE {APP_ROLE}")
    conn.commit()


# The scope each open ``Database._scoped`` transaction set, so asking for it costs no round trip.
_scopes: weakref.WeakKeyDictionary[Conn, str] = weakref.WeakKeyDictionary()


def in_system_scope(conn: Conn) -> bool:
    """Whether ``conn``'s transaction was opened by ``Database.system()`` (may see every tenant)."""
    scope = _scopes.get(conn)
    if scope is None:  # a connection from elsewhere: ask the server
        row = conn.execute("SELECT current_setting('vigil.tenant', true)").fetchone()
        scope = row[0] if row is not None else None
    return scope == SYSTEM_SCOPE


class Database:
    """A pool plus, when ``DATABASE_URL`` is unset, the embedded server it talks to."""

    def __init__(self, *, url: str, pool: ConnectionPool, embedded: EmbeddedPostgres | None = None) -> None:
        self.url = url
        self.pool = pool
        self._embedded = embedded

    @classmethod
    def from_settings(cls, settings: Settings, *, keep_server: bool = False) -> Database:
        embedded = None
        url = settings.database_url
        if url is None:
            embedded = EmbeddedPostgres(pgdata=settings.pg_dir, keep_running=keep_server)
            url = embedded.start()
        pool = ConnectionPool(
            url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            timeout=settings.db_timeout_s,
            configure=_configure,
            kwargs={"application_name": "vigil"},
            open=False,
            name="vigil",
        )
        return cls(url=url, pool=pool, embedded=embedded)

    def open(self) -> None:
        try:
            self.pool.open(wait=True, timeout=10)
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"Could not connect to PostgreSQL: {exc}") from exc
        if self._embedded is not None:  # a dead embedded server is started again by this process
            self._embedded.watch(restarted=self.pool.check)  # and the pool drops dead connections

    def close(self) -> None:
        self.pool.close()
        if self._embedded is not None:
            self._embedded.stop()

    @contextmanager
    def _scoped(self, scope: str, timeout: float | None = None) -> Iterator[Conn]:
        try:
            conn_cm = self.pool.connection(timeout=timeout)
            conn = conn_cm.__enter__()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise DatabaseUnavailable(f"No database connection: {exc}") from exc
        try:
            with conn.transaction():
                conn.execute("SELECT set_config('vigil.tenant', %s, true)", (scope,))
                _scopes[conn] = scope
                try:
                    yield conn
                finally:
                    _scopes.pop(conn, None)
        except BaseException as exc:
            conn_cm.__exit__(type(exc), exc, exc.__traceback__)
            if isinstance(exc, psycopg.OperationalError):
                raise DatabaseUnavailable(f"The database connection failed: {exc}") from exc
            raise
        else:
            conn_cm.__exit__(None, None, None)

    def tenant(self, tenant_id: UUID) -> AbstractContextManager[Conn]:
        """A transaction that sees and writes only ``tenant_id``'s rows."""
        return self._scoped(str(tenant_id))

    def system(self, *, timeout: float | None = None) -> AbstractContextManager[Conn]:
        """A transaction that may see every tenant: workers, key lookup, public answers.
        ``timeout``: seconds to wait for a connection (default: the pool's)."""
        return self._scoped(SYSTEM_SCOPE, timeout)

    def ping(self, timeout: float | None = None) -> None:
        with self.system(timeout=timeout) as conn:
            conn.execute("SELECT 1")
