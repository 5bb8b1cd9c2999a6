-- Events wait here, written in the transaction of the change they record, until the sequencer
-- integrates them into the tree in order (service/audit/log.py): a writer no longer holds the
-- log's lock until its transaction commits. `id` is the receipt a caller can quote at once; the
-- entry made from it keeps it as `queue_id`.
CREATE TABLE audit_queue (
    id          bigserial PRIMARY KEY,
    entry       bytea NOT NULL,
    event       text NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

ALTER TABLE audit_entries ADD COLUMN queue_id bigint UNIQUE;

-- The application queues and the sequencer takes (DELETE ... FOR UPDATE, which needs the UPDATE
-- privilege, so only TRUNCATE is withheld).
REVOKE TRUNCATE ON audit_queue FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
        REVOKE TRUNCATE ON audit_queue FROM vigil_app;
    END IF;
END
$$;
