-- Review: flags, leases, the append-only decision trail, appeals, reviewer sessions and prefs.

-- One item for a human to decide. ``rank_at`` orders the queue: it is the creation time moved
-- earlier by the age-doubling period for each doubling of severity (see review/priority.py), so
-- "highest priority first" is a plain index scan that never has to be recomputed.
CREATE TABLE review_flags (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    source_kind        text NOT NULL CHECK (source_kind IN ('generation', 'check', 'appeal')),
    source_id          text NOT NULL,
    category           text NOT NULL,
    severity           smallint NOT NULL CHECK (severity BETWEEN 1 AND 5),
    status             text NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'escalated', 'needs_context', 'decided')),
    outcome            text CHECK (outcome IN ('approve', 'reject')),
    reasons            jsonb NOT NULL DEFAULT '[]',
    context            jsonb NOT NULL DEFAULT '{}',
    double_review      boolean NOT NULL DEFAULT false,
    escalations        smallint NOT NULL DEFAULT 0,
    excluded_reviewers uuid[] NOT NULL DEFAULT '{}',   -- keys that may not decide it (QA, appeals)
    leased_by          uuid,
    lease_expires_at   timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    due_at             timestamptz NOT NULL,
    rank_at            timestamptz NOT NULL,
    decided_at         timestamptz,
    CHECK ((leased_by IS NULL) = (lease_expires_at IS NULL))
);
SELECT vigil_scope_table('review_flags');
CREATE INDEX review_flags_queue ON review_flags (tenant_id, rank_at)
    WHERE status IN ('open', 'escalated') AND leased_by IS NULL;
CREATE INDEX review_flags_leases ON review_flags (tenant_id, lease_expires_at)
    WHERE status IN ('open', 'escalated') AND leased_by IS NOT NULL;
CREATE INDEX review_flags_tenant ON review_flags (tenant_id, status, due_at);
CREATE INDEX review_flags_source ON review_flags (source_kind, source_id);

-- The decision trail: append-only for the application.
CREATE TABLE review_decisions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    flag_id          uuid NOT NULL REFERENCES review_flags (id),
    reviewer_key_id  uuid NOT NULL,
    decision         text NOT NULL CHECK (decision IN ('approve', 'reject', 'escalate', 'needs_context')),
    rationale        text NOT NULL,
    policy_citation  text,
    final            boolean NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
SELECT vigil_scope_table('review_decisions');
CREATE INDEX review_decisions_flag ON review_decisions (flag_id, created_at);

CREATE TABLE review_appeals (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    flag_id          uuid NOT NULL REFERENCES review_flags (id),
    appeal_flag_id   uuid NOT NULL REFERENCES review_flags (id),
    filed_by_key_id  uuid NOT NULL,
    statement        text NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'overturned')),
    filed_at         timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz
);
SELECT vigil_scope_table('review_appeals');
CREATE UNIQUE INDEX review_appeals_one_open ON review_appeals (flag_id) WHERE status = 'open';

DO $$
BEGIN
    REVOKE UPDATE, DELETE, TRUNCATE ON review_decisions FROM PUBLIC;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON review_decisions FROM vigil_app;
    END IF;
END
$$;

-- Browser sessions of the review pages. Looked up by the hash of the cookie before the tenant
-- is known, like api_keys, so not row-scoped; the key must still be live for the session to be.
CREATE TABLE review_sessions (
    token_hash  bytea PRIMARY KEY,
    key_id      uuid NOT NULL REFERENCES api_keys (id),
    csrf        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX review_sessions_expiry ON review_sessions (expires_at);

-- A reviewer's (key's) display preference: how media first appears on the item page.
CREATE TABLE review_prefs (
    key_id      uuid PRIMARY KEY REFERENCES api_keys (id),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    media_mode  text NOT NULL DEFAULT 'shielded' CHECK (media_mode IN ('shielded', 'grayscale', 'revealed'))
);
SELECT vigil_scope_table('review_prefs');
