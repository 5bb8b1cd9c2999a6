-- Every check's verdict as the platform was answered, so a past verdict can be fetched again
-- (GET /v1/checks/{id}). Ids, rules, scores and states only: the caption is never stored here.
CREATE TABLE checks (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    market      text NOT NULL,
    decision    text NOT NULL CHECK (decision IN ('allow', 'label', 'review', 'block')),
    verdict     jsonb NOT NULL,
    flag_id     uuid
);
SELECT vigil_scope_table('checks');
CREATE INDEX checks_tenant_created ON checks (tenant_id, created_at DESC);
