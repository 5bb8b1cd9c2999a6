-- Generation: one record per studio request, from submission to release (or refusal).
-- The prompt and script stay in `spec` (tenant-private); logs and audit carry ids and hashes.
-- Only the release transaction sets status 'released' together with the released blob, so a
-- process that dies halfway leaves nothing downloadable (the CHECK below holds it).

CREATE TABLE generations (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    status             text NOT NULL
                       CHECK (status IN ('queued', 'running', 'denied', 'held', 'released', 'blocked', 'failed')),
    reasons            jsonb NOT NULL DEFAULT '[]',
    spec               jsonb NOT NULL,
    photo_sha256s      text[] NOT NULL,
    voice_sha256       text CHECK (voice_sha256 ~ '^[0-9a-f]{64}$'),
    market             text NOT NULL,
    output_kind        text NOT NULL CHECK (output_kind IN ('image', 'video')),
    grant_ids          uuid[] NOT NULL DEFAULT '{}',
    idempotency_key    text,
    request_sha256     text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
    quarantine_sha256  text CHECK (quarantine_sha256 ~ '^[0-9a-f]{64}$'),
    quarantine_mime    text,
    backend            text,
    backend_version    text,
    source_type        text,
    decision           text CHECK (decision IN ('allow', 'label', 'review', 'block')),
    policy_version     text,
    flag_id            uuid,
    released_sha256    text CHECK (released_sha256 ~ '^[0-9a-f]{64}$'),
    released_mime      text,
    asset_id           uuid,
    attempts           integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    released_at        timestamptz,
    CHECK (status <> 'released' OR (released_sha256 IS NOT NULL AND asset_id IS NOT NULL))
);
SELECT vigil_scope_table('generations');
CREATE UNIQUE INDEX generations_idempotency ON generations (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX generations_tenant ON generations (tenant_id, created_at);
CREATE UNIQUE INDEX generations_asset ON generations (asset_id) WHERE asset_id IS NOT NULL;
