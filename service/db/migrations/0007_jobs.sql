-- Durable jobs: a PostgreSQL queue claimed with FOR UPDATE SKIP LOCKED (see service/jobs/).
--
-- States: queued -> running -> done, or back to queued (retry with backoff, a released or
-- expired lease), or dead (max attempts reached, or a permanent error). A running job belongs
-- to the worker named in worker_id until lease_until; the worker's heartbeat extends it.
CREATE TABLE jobs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    kind          text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempt       integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
    run_after     timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz,
    worker_id     text,
    dedupe_key    text,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
-- One live-or-finished job per (tenant, kind, dedupe_key): enqueueing it again returns the first.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (tenant_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- What claim() scans: ready jobs in order; and what the reaper scans: leases that ran out.
CREATE INDEX jobs_ready ON jobs (run_after) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';
SELECT vigil_scope_table('jobs');

-- Periodic tasks: one row per task name; the worker that moves next_run_at forward runs it,
-- so a task runs once per period however many workers there are. No tenant: system work.
CREATE TABLE job_schedules (
    name         text PRIMARY KEY,
    next_run_at  timestamptz NOT NULL,
    last_run_at  timestamptz,
    last_error   text
);
