"""Tenant isolation is enforced by the database (row-level security), not by each query."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest

# Tables with a tenant_id that are deliberately not row-scoped, and why.
UNSCOPED = {
    "api_keys": "a key is found by its hash before its tenant is known",
    "audit_entries": "the log is one public tree; entries carry ids only",
}


def test_every_tenant_table_is_row_scoped(database_url):
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT 1 FROM pg_policy p
                           WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
            FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE a.attname = 'tenant_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
            """
        ).fetchall()
    assert rows, "no tenant tables found"
    unscoped = [name for name, rls, forced, policy in rows if not (rls and forced and policy)]
    assert sorted(set(unscoped) - set(UNSCOPED)) == []


@pytest.fixture
def notes_table(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, tenant_id uuid NOT NULL, body text)")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO vigil_app")
        conn.execute("GRANT USAGE ON SEQUENCE notes_id_seq TO vigil_app")
        conn.execute("SELECT vigil_scope_table('notes')")
    return "notes"


def test_a_tenant_sees_and_writes_only_its_own_rows(services, notes_table):
    a, b = uuid4(), uuid4()
    with services.db.tenant(a) as conn:
        conn.execute("INSERT INTO notes (tenant_id, body) VALUES (%s, 'a')", (a,))
    with services.db.tenant(b) as conn:
        conn.execute("INSERT INTO notes (tenant_id, body) VALUES (%s, 'b')", (b,))
        # A query that forgot its WHERE clause still sees one tenant only.
        assert conn.execute("SELECT body FROM notes").fetchall() == [("b",)]
        assert conn.execute("UPDATE notes SET body = 'x'").rowcount == 1
    with services.db.tenant(a) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("a",)]
    with services.db.system() as conn:
        assert sorted(r[0] for r in conn.execute("SELECT body FROM notes")) == ["a", "x"]


def test_writing_a_row_for_another_tenant_is_refused(services, notes_table):
    a, b = uuid4(), uuid4()
    with pytest.raises(psycopg.errors.InsufficientPrivilege), services.db.tenant(a) as conn:
        conn.execute("INSERT INTO notes (tenant_id, body) VALUES (%s, 'forged')", (b,))
    with services.db.system() as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)


def test_pooled_connections_are_not_superusers(services):
    with services.db.system() as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == ("vigil_app", False)
