-- Foundation: the application role, tenant scoping, tenants and API keys.

-- The role pooled connections switch to when they log in as a superuser (see db/pool.py).
-- On a managed PostgreSQL where the login is not a superuser, this block does nothing and
-- FORCE ROW LEVEL SECURITY applies to the owner directly.
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
            CREATE ROLE vigil_app NOLOGIN NOBYPASSRLS;
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA public TO vigil_app');
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vigil_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO vigil_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO vigil_app;
    END IF;
END
$$;

-- The scope of the current transaction: a tenant id, or '*' for system work (db/pool.py).
CREATE FUNCTION vigil_tenant_visible(t uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('vigil.tenant', true), '') IN ('*', t::text) $$;

-- Put a table with a tenant_id column under row-level security. Every tenant table's
-- migration calls this; tests/db/test_tenancy.py fails for one that does not.
CREATE FUNCTION vigil_scope_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (vigil_tenant_visible(tenant_id)) '
        'WITH CHECK (vigil_tenant_visible(tenant_id))', tbl);
END
$$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys: only a SHA-256 of the token is stored; the prefix identifies a key in lists and logs.
-- Not row-scoped: a key must be found by its hash before the tenant is known.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    role        text NOT NULL CHECK (role IN ('admin', 'studio', 'platform', 'reviewer', 'auditor')),
    prefix      text NOT NULL UNIQUE,
    token_hash  bytea NOT NULL UNIQUE,
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
