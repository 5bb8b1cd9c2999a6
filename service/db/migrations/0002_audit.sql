-- Transparency log (RFC 9162). One global tree for every tenant: entries carry ids and hashes
-- only, and anyone with a key may read them, so these tables are not row-scoped.

-- The entries, in log order. `entry` is the RFC 8785 canonical event, hashed as the leaf.
CREATE TABLE audit_entries (
    idx         bigint PRIMARY KEY CHECK (idx >= 0),
    entry       bytea NOT NULL,
    event       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every perfect subtree hash: node (level, idx) covers leaves [idx * 2^level, (idx+1) * 2^level).
-- Level 0 holds the leaf hashes. Written in the same transaction as the entries they cover.
CREATE TABLE audit_nodes (
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
    idx         bigint NOT NULL CHECK (idx >= 0),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints issued so far (C2SP signed note), one per tree size.
CREATE TABLE audit_checkpoints (
    size        bigint PRIMARY KEY CHECK (size >= 0),
    root        bytea NOT NULL CHECK (length(root) = 32),
    note        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Witness co-signatures (C2SP tlog-cosignature) of a checkpoint, verified before they are stored.
CREATE TABLE audit_cosignatures (
    size        bigint NOT NULL REFERENCES audit_checkpoints (size),
    witness     text NOT NULL,
    line        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness)
);

-- Append-only for the application: no UPDATE or DELETE.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_nodes, audit_checkpoints FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_nodes, audit_checkpoints FROM vigil_app;
    END IF;
END
$$;
