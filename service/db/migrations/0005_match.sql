-- Hash banks: block/allow lists of PDQ or pHash signals, per tenant or for the whole system.
-- A bank with tenant_id NULL is a system bank (revoked outputs, rejected outputs, shared lists):
-- every tenant's transactions may read it, only system() transactions may write it.
CREATE TABLE banks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid REFERENCES tenants (id),
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    kind        text NOT NULL CHECK (kind IN ('block', 'allow')),
    hash_type   text NOT NULL CHECK (hash_type IN ('pdq', 'phash')),
    threshold   integer NOT NULL CHECK (threshold >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (tenant_id, name)
);
SELECT vigil_scope_table('banks');
CREATE POLICY system_banks_readable ON banks FOR SELECT USING (tenant_id IS NULL);

-- The record of truth the in-memory index is loaded from. Ids grow in commit order: writers
-- take one advisory lock (match/store.py), so a reader that has loaded every id <= N has seen
-- every committed signal <= N, and loading "id > N" catches up exactly.
CREATE TABLE bank_signals (
    id              bigserial PRIMARY KEY,
    bank_id         uuid NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    tenant_id       uuid REFERENCES tenants (id),
    hash_type       text NOT NULL CHECK (hash_type IN ('pdq', 'phash')),
    signal          bytea NOT NULL CHECK (octet_length(signal) IN (8, 32)),
    labels          text[] NOT NULL DEFAULT '{}',
    quarantined_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bank_id, signal)
);
SELECT vigil_scope_table('bank_signals');
CREATE POLICY system_signals_readable ON bank_signals FOR SELECT USING (tenant_id IS NULL);
CREATE INDEX bank_signals_type_id ON bank_signals (hash_type, id);

-- Flood detection: which distinct items (by SHA-256 of the checked media) each block-bank entry
-- matched recently. Ids and hashes only; rows older than the window are pruned as they are read.
CREATE TABLE match_hits (
    signal_id   bigint NOT NULL REFERENCES bank_signals (id) ON DELETE CASCADE,
    item        text NOT NULL CHECK (item ~ '^[0-9a-f]{64}$'),
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (signal_id, item)
);
CREATE INDEX match_hits_at ON match_hits (signal_id, at);
