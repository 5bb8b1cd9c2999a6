-- Webhooks: a tenant's HTTPS endpoints told when something it is waiting on happens (a review of
-- one of its checks decided). The secret signs every delivery (HMAC-SHA256), so it is kept, not
-- hashed; it is shown to the tenant once, at registration.
CREATE TABLE webhooks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    url         text NOT NULL CHECK (length(url) <= 2000),
    events      text[] NOT NULL CHECK (cardinality(events) > 0),
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
SELECT vigil_scope_table('webhooks');
CREATE INDEX webhooks_tenant ON webhooks (tenant_id) WHERE revoked_at IS NULL;

-- One row per event per webhook; the job queue retries it. The payload holds ids and states only.
CREATE TABLE webhook_deliveries (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id    uuid NOT NULL REFERENCES webhooks (id),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    event         text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts      integer NOT NULL DEFAULT 0,
    response_code integer,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
SELECT vigil_scope_table('webhook_deliveries');
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at DESC);
