-- Consent: subjects, grants, directives, objections, evidence, outputs linked to grants and
-- scheduled deletions of source media. Every table is tenant-scoped (row-level security);
-- consent status of released assets is answered to every platform by reading
-- consent_output_links in a system() transaction.

CREATE TABLE consent_subjects (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    kind          text NOT NULL CHECK (kind IN ('human', 'animal')),
    vital_status  text NOT NULL CHECK (vital_status IN ('living', 'deceased')),
    name          text NOT NULL,
    jurisdiction  text NOT NULL CHECK (jurisdiction ~ '^[A-Z]{2}(-[A-Z0-9]{1,3})?$'),
    birth_date    date,
    death_date    date,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (death_date IS NULL OR vital_status = 'deceased'),
    CHECK (birth_date IS NULL OR death_date IS NULL OR birth_date <= death_date)
);
CREATE INDEX consent_subjects_tenant ON consent_subjects (tenant_id);
SELECT vigil_scope_table('consent_subjects');

CREATE TABLE consent_evidence (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    kind        text NOT NULL,
    size        bigint NOT NULL CHECK (size >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sha256)
);
SELECT vigil_scope_table('consent_evidence');

CREATE TABLE consent_grants (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    subject_id     uuid NOT NULL REFERENCES consent_subjects (id),
    legal_basis    text NOT NULL,
    grantors       jsonb NOT NULL,
    modalities     text[] NOT NULL,
    purposes       text[] NOT NULL,
    audiences      text[] NOT NULL,
    territories    text[] NOT NULL,
    expires_at     timestamptz NOT NULL,
    script_sha256  text CHECK (script_sha256 ~ '^[0-9a-f]{64}$'),
    evidence       text[] NOT NULL DEFAULT '{}',
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disputed', 'revoked')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
CREATE INDEX consent_grants_subject ON consent_grants (subject_id);
SELECT vigil_scope_table('consent_grants');

CREATE TABLE consent_directives (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    subject_id  uuid NOT NULL REFERENCES consent_subjects (id),
    type        text NOT NULL CHECK (type IN ('do_not_recreate')),
    modalities  text[] NOT NULL DEFAULT '{}',
    evidence    text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_directives_subject ON consent_directives (subject_id);
SELECT vigil_scope_table('consent_directives');

CREATE TABLE consent_objections (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    grant_id    uuid NOT NULL REFERENCES consent_grants (id),
    objector    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_objections_grant ON consent_objections (grant_id);
SELECT vigil_scope_table('consent_objections');

-- Released outputs made under a grant; revoked_at is set when the grant is revoked.
CREATE TABLE consent_output_links (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    asset_id    uuid NOT NULL,
    grant_id    uuid NOT NULL REFERENCES consent_grants (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (asset_id, grant_id)
);
CREATE INDEX consent_output_links_grant ON consent_output_links (grant_id);
SELECT vigil_scope_table('consent_output_links');

-- Source media (photos, voice samples) used under a grant, by blob SHA-256.
CREATE TABLE consent_source_media (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    grant_id    uuid NOT NULL REFERENCES consent_grants (id),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (grant_id, sha256)
);
CREATE INDEX consent_source_media_sha ON consent_source_media (sha256);
SELECT vigil_scope_table('consent_source_media');

-- Deletions of source media due after a revocation (within 90 days; VIGIL_CONSENT_DELETION_SLA_DAYS).
CREATE TABLE consent_media_deletions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    grant_id    uuid NOT NULL REFERENCES consent_grants (id),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    due_at      timestamptz NOT NULL,
    done_at     timestamptz,
    outcome     text CHECK (outcome IN ('deleted', 'absent', 'kept')),
    UNIQUE (grant_id, sha256)
);
CREATE INDEX consent_media_deletions_due ON consent_media_deletions (due_at) WHERE done_at IS NULL;
SELECT vigil_scope_table('consent_media_deletions');
