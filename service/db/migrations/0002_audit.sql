-- Transparency log entries (global: the log is one tree for every tenant; entries carry ids only).
CREATE TABLE audit_entries (
    idx         bigint PRIMARY KEY CHECK (idx >= 0),
    entry       bytea NOT NULL,             -- RFC 8785 canonical bytes, hashed as the leaf
    event       text NOT NULL,
    tenant_id   uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- Append-only for the application: no UPDATE or DELETE.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM vigil_app;
    END IF;
END
$$;
