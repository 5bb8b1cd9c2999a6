-- Emblems an operator adds to the symbol bank (the shipped symbols live in policies/symbols/):
-- matched anywhere in a picture like the shipped ones, for that tenant's checks and outputs.
-- The drawing itself is in the blob store under its SHA-256; a row holds what a hit means.
CREATE TABLE symbols (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            text NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    category      text NOT NULL,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    image_sha256  text NOT NULL CHECK (image_sha256 ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
SELECT vigil_scope_table('symbols');
